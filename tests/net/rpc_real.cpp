// rpc-real — the RPC test suite between real OS processes over loopback (CTest label `real`).
//
//   rpc-real                  run the whole suite: start a server process, run the checks
//                             against it, then the mid-request deaths; exit 0 if all held
//   rpc-real serve ADDR [TRACE_DIR]         serve the test service at ADDR until killed
//   rpc-real hold-and-die ADDR [TRACE_DIR]  send a held request to ADDR, then exit without waiting
//   rpc-real stats ADDR [TRACE_DIR]         print the server's counters
//   rpc-real --help                         the subcommands (rpc-real serve --help: its own)
//
// ADDR is IP:PORT; TRACE_DIR, where the process writes its trace (the suite passes its own).
// The checks are the same ones the simulated Rpc workload runs (net/testing/rpc_test_service.h);
// here no connection failure is expected except where the suite kills a process on purpose.
// Every process writes its trace under $TMPDIR/rpc-real-SEED/; the folder is removed when the
// suite passes and named in the output when it fails.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "flow/actor.h"
#include "flow/combinators.h"
#include "flow/runtime.h"
#include "net/asio/asio_world.h"
#include "net/testing/rpc_test_service.h"
#include "net/transport.h"
#include "programs/command_line.h"

namespace {

namespace nt = net::testing;
using namespace std::chrono_literals;

// Starts this program again as a child in `mode` (serve, hold-and-die) for `address`.
// Where every process of a suite run writes its trace (kept when the suite fails).
std::string g_trace_dir;

pid_t start_child(const char* self, const char* mode, const std::string& address) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execl(self, self, mode, address.c_str(), g_trace_dir.c_str(), static_cast<char*>(nullptr));
    std::perror("exec");
    ::_exit(127);
  }
  return pid;
}

uint64_t g_seed = 0;  // drawn by main(): the OS's randomness stays out of everything else

// A sanitizer slows every step several times, and page faults on fresh memory far more (under
// ThreadSanitizer on the development VM, a 10 MiB echo spends most of its ~3 s faulting in shadow
// pages): the liveness timeouts scale with it, so the suite checks the wire's semantics and not
// the sanitizer's speed. A peer silent through them is still cut off, only later.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr int kSlowdown = 5;
#else
constexpr int kSlowdown = 1;
#endif

flow::RuntimeOptions real_options(net::AsioWorld& world, const char* name) {
  flow::RuntimeOptions o;
  o.seed = g_seed;
  o.simulated = false;
  o.reactor = &world.reactor();
  o.main_process_name = name;
  o.knobs = {fmt::format("connection_idle_seconds={}", 2 * kSlowdown),
             fmt::format("connection_idle_timeout_seconds={}", 10 * kSlowdown)};
  if (!g_trace_dir.empty())
    o.trace_file = fmt::format("{}/{}-{}.json", g_trace_dir, name, ::getpid());
  return o;
}

int serve(const std::string& address) {
  auto parsed = flow::NetworkAddress::parse(address);
  if (!parsed.ok()) return 2;
  net::AsioWorld world;
  flow::Runtime rt(real_options(world, "rpc-server"));
  world.attach(rt.main_process(), "/tmp");
  rt.main_process().set_address(parsed.get());
  rt.run([&rt] {
    // Killed, never ended: keep the trace on disk as it grows, for a failing suite to show.
    flow::Future<flow::Void> flusher = flow::spawn([&rt] {
      for (;;) {
        flow::wait(flow::delay(100ms));
        rt.trace().flush();
      }
    });
    nt::run_test_server();
  });
  return 0;
}

int hold_and_die(const std::string& address) {
  auto parsed = flow::NetworkAddress::parse(address);
  if (!parsed.ok()) return 2;
  net::AsioWorld world;
  flow::Runtime rt(real_options(world, "rpc-doomed-client"));
  world.attach(rt.main_process(), "/tmp");
  rt.run([&] {
    nt::TestService s(parsed.get());
    flow::wait(net::Transport::current().failure_monitor().on_available(s.address));
    flow::Future<nt::wt::ControlReplyT> held = nt::hold_request(s, 1000);
    flow::wait(flow::delay(300ms));  // long enough for the request to reach the server
    ::kill(::getpid(), SIGKILL);     // the requester dies mid-request, as suddenly as it gets
  });
  return 1;
}

int print_stats(const std::string& address) {
  auto parsed = flow::NetworkAddress::parse(address);
  if (!parsed.ok()) return 2;
  net::AsioWorld world;
  flow::Runtime rt(real_options(world, "rpc-stats"));
  world.attach(rt.main_process(), "/tmp");
  rt.run([&] {
    nt::TestService s(parsed.get());
    auto r = flow::wait(s.stats.get_reply(nt::wt::StatsRequestT{}));
    fmt::print("requests = {}\nreplies_undeliverable = {}\n", r.requests, r.replies_undeliverable);
  });
  return 0;
}

struct Suite {
  int failures = 0;
  flow::Time last = flow::Time{};
  // Prints the check's outcome and how long it took since the previous report.
  void report(const char* check, const std::vector<std::string>& violations) {
    const flow::Time now = flow::now();
    const double took_s = std::chrono::duration<double>(now - last).count();
    last = now;
    for (const std::string& v : violations) {
      ++failures;
      fmt::print("FAIL {}: {}  [{:.2f} s]\n", check, v, took_s);
    }
    if (violations.empty()) fmt::print("ok   {}  [{:.2f} s]\n", check, took_s);
    std::fflush(stdout);
  }
};

// Waits for `a` to accept connections, up to `limit`. May suspend.
bool await_available(const flow::NetworkAddress& a, flow::Duration limit) {
  auto up =
      flow::wait(flow::timeout(net::Transport::current().failure_monitor().on_available(a), limit));
  return up.has_value();
}

int run_suite(const char* self) {
  const std::string server = net::free_loopback_address().to_string();
  const pid_t server_pid = start_child(self, "serve", server);
  net::AsioWorld world;
  flow::Runtime rt(real_options(world, "rpc-suite"));
  world.attach(rt.main_process(), "/tmp");
  Suite suite;
  rt.run([&] {
    flow::DeterministicRandom rng(flow::Runtime::checked_current().seed());
    nt::TestService s(flow::NetworkAddress::parse(server).get());
    suite.last = flow::now();
    if (!await_available(s.address, 10s)) {
      suite.report("server start", {"the server process did not come up within 10 s"});
      return;
    }
    suite.report("echo burst (300 in flight)", nt::check_echo_burst(s, 300, 64 * 1024, false, rng));
    suite.report("message sizes (0 B to 10 MiB)", nt::check_message_sizes(s, false));
    suite.report("errors over the wire", nt::check_errors(s, false, true));
    {
      std::vector<std::string> kv;
      for (int i = 0; i < 20; ++i) {
        auto v = nt::check_key_value(s, false, rng);
        kv.insert(kv.end(), v.begin(), v.end());
      }
      suite.report("key-value (20 set-then-get)", kv);
    }

    // A requester that dies mid-request: the server drops the reply and keeps serving.
    const pid_t doomed = start_child(self, "hold-and-die", server);
    ::waitpid(doomed, nullptr, 0);
    std::vector<std::string> v;
    // Past the hold the server tries to reply; poll its counters (slow builds take longer).
    bool noticed = false;
    for (int i = 0; i < 50 && !noticed && v.empty(); ++i) {
      flow::wait(flow::delay(100ms));
      try {
        noticed = flow::wait(s.stats.get_reply(nt::wt::StatsRequestT{})).replies_undeliverable >= 1;
      } catch (const flow::Error& e) {
        v.push_back(fmt::format("stats after a requester died: {}", e.name()));
      }
    }
    if (!noticed && v.empty()) v.push_back("the server did not notice its requester died (5 s)");
    auto after = nt::check_echo_burst(s, 20, 1024, false, rng);
    v.insert(v.end(), after.begin(), after.end());
    suite.report("requester dies mid-request", v);

    // A server that dies mid-request: the requester gets request_maybe_delivered.
    const std::string second = net::free_loopback_address().to_string();
    const pid_t victim = start_child(self, "serve", second);
    nt::TestService s2(flow::NetworkAddress::parse(second).get());
    v.clear();
    if (!await_available(s2.address, 10s)) {
      v.push_back("the second server did not come up");
    } else {
      flow::Future<nt::wt::ControlReplyT> held = nt::hold_request(s2, 10'000);
      flow::wait(flow::delay(200ms));
      ::kill(victim, SIGKILL);
      try {
        auto r = flow::wait(flow::timeout(held, 5s));
        if (!r)
          v.push_back("no outcome within 5 s of the server's death");
        else
          v.push_back("a reply from a dead server");
      } catch (const flow::Error& e) {
        if (e.code() != flow::ErrorCode::request_maybe_delivered)
          v.push_back(fmt::format("got {}, expected request_maybe_delivered", e.name()));
      }
    }
    ::kill(victim, SIGKILL);
    ::waitpid(victim, nullptr, 0);
    suite.report("server dies mid-request", v);
  });
  ::kill(server_pid, SIGKILL);
  ::waitpid(server_pid, nullptr, 0);
  fmt::print("{}\n",
             suite.failures == 0 ? "PASS" : fmt::format("FAIL ({} violations)", suite.failures));
  if (suite.failures == 0) {
    std::filesystem::remove_all(g_trace_dir);
  } else {
    fmt::print("traces of every process: {}\n", g_trace_dir);
  }
  return suite.failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  CLI::App app{
      "rpc-real: the RPC test suite between real OS processes over loopback; with no subcommand, "
      "runs the whole suite",
      "rpc-real"};
  app.require_subcommand(0, 1);
  const CLI::Validator is_address(
      [](std::string& text) {
        return flow::NetworkAddress::parse(text).ok() ? std::string()
                                                      : "not an address IP:PORT: " + text;
      },
      "IP:PORT");
  std::string address;
  const auto add_mode = [&](const char* name, const char* what) {
    CLI::App* mode = app.add_subcommand(name, what);
    mode->add_option("ADDR", address, "the test service's address")->required()->check(is_address);
    mode->add_option("TRACE_DIR", g_trace_dir, "write this process's trace here");
    return mode;
  };
  const CLI::App* serve_mode = add_mode("serve", "serve the test service at ADDR until killed");
  const CLI::App* hold_mode =
      add_mode("hold-and-die", "send a held request to ADDR, then exit without waiting");
  const CLI::App* stats_mode = add_mode("stats", "print the counters of the server at ADDR");
  programs::parse_or_exit(app, argc, argv);
  if (serve_mode->parsed()) return serve(address);
  if (hold_mode->parsed()) return hold_and_die(address);
  if (stats_mode->parsed()) return print_stats(address);
  g_seed = std::random_device{}();
  std::printf("rpc-real: seed %llu\n", static_cast<unsigned long long>(g_seed));
  g_trace_dir =
      fmt::format("{}/rpc-real-{}", std::filesystem::temp_directory_path().string(), g_seed);
  std::filesystem::create_directories(g_trace_dir);
  return run_suite("/proc/self/exe");
}
