// net-bench — Strata RPC over real loopback TCP, beside a bare Boost.Asio echo measured in the
// same run.
//
// Two server processes are forked: the RPC test service (net/testing) and a bare Asio echo server
// (read whatever arrived, write it back). This process is the client of both:
//   rpc_rtt_p50_us / p99     one 64-byte echo request at a time (get_reply round trips)
//   asio_rtt_p50_us / p99    one 64-byte length-prefixed message at a time
//   rpc_msgs_per_s           64 requests in flight on one connection
//   asio_msgs_per_s          64 messages in flight on one connection
// and the ratios (rpc over asio: rtt_p50_ratio, rtt_p99_ratio, msgs_per_s_ratio). The throughput
// figures are medians of R rounds that alternate between the two, so that a slow spell of the
// machine weighs on both. Prints "name = value unit" lines, or with
// --json one JSON object.
//
//   build/bin/net-bench [--json] [--seconds S] [--rounds R] [--in-flight N] [--only rpc|asio]
//   build/bin/net-bench --help

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <chrono>
#include <cstdio>
#include <functional>
#include <limits>
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

namespace asio = boost::asio;
using asio::ip::tcp;
namespace nt = net::testing;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr size_t kPayload = 64;
int g_in_flight = 64;  // --in-flight

// ---- the bare Asio echo: the baseline -----------------------------------------------------

void asio_echo_session(std::shared_ptr<tcp::socket> s, std::shared_ptr<std::vector<char>> buf) {
  s->async_read_some(asio::buffer(*buf), [s, buf](boost::system::error_code ec, size_t n) {
    if (ec) return;
    asio::async_write(*s, asio::buffer(buf->data(), n),
                      [s, buf](boost::system::error_code e, size_t) {
                        if (!e) asio_echo_session(s, buf);
                      });
  });
}

[[noreturn]] void run_asio_echo_server(uint16_t port) {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), port));
  std::function<void()> accept = [&] {
    acceptor.async_accept([&](boost::system::error_code ec, tcp::socket socket) {
      if (!ec) {
        socket.set_option(tcp::no_delay(true));
        asio_echo_session(std::make_shared<tcp::socket>(std::move(socket)),
                          std::make_shared<std::vector<char>>(64 * 1024));
      }
      accept();
    });
  };
  accept();
  io.run();
  ::_exit(0);
}

tcp::socket asio_connect(asio::io_context& io, uint16_t port) {
  tcp::socket s(io);
  for (int attempt = 0;; ++attempt) {
    boost::system::error_code ec;
    s.connect(tcp::endpoint(asio::ip::address_v4::loopback(), port), ec);
    if (!ec) break;
    if (attempt > 200) throw std::runtime_error("cannot reach the asio echo server");
    s.close();
    std::this_thread::sleep_for(10ms);
  }
  s.set_option(tcp::no_delay(true));
  return s;
}

// One message at a time; returns the round-trip times in microseconds.
std::vector<double> asio_latency(uint16_t port, double seconds) {
  asio::io_context io;
  tcp::socket s = asio_connect(io, port);
  std::vector<char> msg(4 + kPayload, 'x'), in(msg.size());
  std::vector<double> rtts;
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    const auto t0 = Clock::now();
    asio::write(s, asio::buffer(msg));
    asio::read(s, asio::buffer(in));
    rtts.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  return rtts;
}

// g_in_flight messages outstanding; every reply sends another. Event-driven, single thread.
double asio_throughput(uint16_t port, double seconds) {
  asio::io_context io;
  tcp::socket s = asio_connect(io, port);
  const size_t msg = 4 + kPayload;
  std::vector<char> out(msg * g_in_flight, 'x'), in(64 * 1024);
  uint64_t received_bytes = 0, replies = 0;
  bool writing = false;
  size_t owed = 0;  // messages to send once the current write is done
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  std::function<void()> write_more = [&] {
    if (writing || owed == 0) return;
    const size_t n = std::min(owed, static_cast<size_t>(g_in_flight));
    owed -= n;
    writing = true;
    asio::async_write(s, asio::buffer(out.data(), n * msg), [&](boost::system::error_code, size_t) {
      writing = false;
      write_more();
    });
  };
  std::function<void()> read_more = [&] {
    s.async_read_some(asio::buffer(in), [&](boost::system::error_code ec, size_t n) {
      if (ec) return;
      const uint64_t before = received_bytes / msg;
      received_bytes += n;
      const uint64_t done = received_bytes / msg - before;
      replies += done;
      if (Clock::now() < end) {
        owed += done;
        write_more();
        read_more();
      } else {
        io.stop();
      }
    });
  };
  owed = g_in_flight;
  write_more();
  read_more();
  io.run();
  return static_cast<double>(replies) / std::chrono::duration<double>(Clock::now() - start).count();
}

// ---- Strata RPC ----------------------------------------------------------------------------

flow::RuntimeOptions real_options(net::AsioWorld& world) {
  flow::RuntimeOptions o;
  o.simulated = false;
  o.reactor = &world.reactor();
  return o;
}

[[noreturn]] void run_rpc_server(flow::NetworkAddress address) {
  net::AsioWorld world;
  flow::Runtime rt(real_options(world));
  world.attach(rt.main_process(), "/tmp");
  rt.main_process().set_address(address);
  rt.run([] { nt::run_test_server(); });
  ::_exit(0);
}

// Runs `body` as the main actor of a fresh real-world runtime that is connected to `server`.
template <class Fn>
void with_rpc_client(flow::NetworkAddress server, Fn body) {
  net::AsioWorld world;
  flow::Runtime rt(real_options(world));
  world.attach(rt.main_process(), "/tmp");
  rt.run([&] {
    nt::TestService s(server);
    auto up = flow::wait(
        flow::timeout(net::Transport::current().failure_monitor().on_available(server), 10s));
    if (!up) throw flow::Error(flow::ErrorCode::connection_failed);
    body(s);
  });
}

// One request at a time; returns the round-trip times in microseconds.
std::vector<double> rpc_latency(flow::NetworkAddress server, double seconds) {
  std::vector<double> rtts;
  with_rpc_client(server, [&](const nt::TestService& s) {
    nt::wt::EchoRequestT req;
    req.payload.assign(kPayload, 'x');
    const auto end = Clock::now() + std::chrono::duration<double>(seconds);
    while (Clock::now() < end) {
      const auto t0 = Clock::now();
      flow::wait(s.echo.get_reply(req));
      rtts.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    }
  });
  return rtts;
}

struct RpcThroughput {
  double msgs_per_s = 0;
  double messages_per_write = 0;
};

// g_in_flight requesters, each sending its next request when its reply comes.
RpcThroughput rpc_throughput(flow::NetworkAddress server, double seconds) {
  RpcThroughput fig;
  with_rpc_client(server, [&](const nt::TestService& s) {
    nt::wt::EchoRequestT req;
    req.payload.assign(kPayload, 'x');
    // A timer ends the run: reading the clock per request would cost more than the asio client
    // pays (it reads it once per batch of replies).
    uint64_t replies = 0;
    bool stop = false;
    const auto start = Clock::now();
    auto timer = flow::spawn([&] {
      flow::wait(flow::delay(
          std::chrono::duration_cast<flow::Duration>(std::chrono::duration<double>(seconds))));
      stop = true;
    });
    const auto& c = net::Transport::current().counters();
    const uint64_t sent_before = c.messages_sent, writes_before = c.writes;
    std::vector<flow::Future<flow::Void>> requesters;
    for (int i = 0; i < g_in_flight; ++i) {
      requesters.push_back(flow::spawn([&] {
        while (!stop) {
          flow::wait(s.echo.get_reply(req));
          ++replies;
        }
      }));
    }
    flow::wait(flow::wait_all(requesters));
    fig.msgs_per_s =
        static_cast<double>(replies) / std::chrono::duration<double>(Clock::now() - start).count();
    fig.messages_per_write = static_cast<double>(c.messages_sent - sent_before) /
                             static_cast<double>(c.writes - writes_before);
  });
  return fig;
}

// A thread's time on a CPU and time waiting for one in a run queue, from the kernel's schedstat
// ("/proc/thread-self/schedstat" for this thread, "/proc/<pid>/schedstat" for a process's main
// thread). Zeros if the file cannot be read.
struct SchedTimes {
  double run_s = 0;
  double wait_s = 0;
  double slices = 0;  // times the thread was put on a CPU
};

SchedTimes sched_times(const std::string& path) {
  SchedTimes t;
  if (FILE* f = std::fopen(path.c_str(), "r")) {
    unsigned long long run_ns = 0, wait_ns = 0, slices = 0;
    if (std::fscanf(f, "%llu %llu %llu", &run_ns, &wait_ns, &slices) == 3) {
      t.run_s = static_cast<double>(run_ns) * 1e-9;
      t.wait_s = static_cast<double>(wait_ns) * 1e-9;
      t.slices = static_cast<double>(slices);
    }
    std::fclose(f);
  }
  return t;
}

// What a client (this thread) and its server used while a throughput round ran.
struct RoundCost {
  SchedTimes client, server;
  double messages = 0;

  void add(const SchedTimes& c0, const SchedTimes& c1, const SchedTimes& s0, const SchedTimes& s1,
           double msgs) {
    client.run_s += c1.run_s - c0.run_s;
    client.wait_s += c1.wait_s - c0.wait_s;
    client.slices += c1.slices - c0.slices;
    server.slices += s1.slices - s0.slices;
    server.run_s += s1.run_s - s0.run_s;
    server.wait_s += s1.wait_s - s0.wait_s;
    messages += msgs;
  }
  double per_msg_us(double s) const { return messages > 0 ? s * 1e6 / messages : 0; }
  double msgs_per_slice() const {
    return client.slices + server.slices > 0 ? 2 * messages / (client.slices + server.slices) : 0;
  }
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  bool json = false;
  double seconds = 2.0;
  int rounds = 3;
  std::string only;  // "rpc" or "asio": measure one side alone (to profile it)
  CLI::App app{"net-bench: Strata RPC over loopback TCP beside a bare Boost.Asio echo",
               "net-bench"};
  app.add_flag("--json", json, "one JSON object instead of name = value lines");
  app.add_option("--seconds", seconds, "time per measurement, more than 0")->capture_default_str();
  app.add_option("--rounds", rounds, "alternating throughput rounds per side; medians")
      ->check(CLI::Range(1, std::numeric_limits<int>::max(), "POSITIVE"))
      ->capture_default_str();
  app.add_option("--in-flight", g_in_flight, "requests (messages) in flight for the msgs/s figures")
      ->check(CLI::Range(1, std::numeric_limits<int>::max(), "POSITIVE"))
      ->capture_default_str();
  app.add_option("--only", only, "measure only rpc or only asio (to profile one side; no ratios)")
      ->check(CLI::IsMember({"rpc", "asio"}));
  programs::parse_or_exit(app, argc, argv);
  if (!(seconds > 0)) programs::usage_error(app, "--seconds must be more than 0");
  ::signal(SIGPIPE, SIG_IGN);
  const uint16_t asio_port = net::free_loopback_address().port;
  const pid_t asio_pid = ::fork();
  if (asio_pid == 0) run_asio_echo_server(asio_port);
  const flow::NetworkAddress rpc_addr = net::free_loopback_address();
  const pid_t rpc_pid = ::fork();
  if (rpc_pid == 0) run_rpc_server(rpc_addr);

  std::vector<std::pair<std::string, std::pair<double, const char*>>> figures;
  try {
    const bool do_asio = only != "rpc", do_rpc = only != "asio";
    const std::vector<double> asio_rtts =
        do_asio ? asio_latency(asio_port, seconds) : std::vector<double>{};
    const std::vector<double> rpc_rtts =
        do_rpc ? rpc_latency(rpc_addr, seconds) : std::vector<double>{};
    // Throughput rounds alternate, so a noisy spell of the machine hits both sides alike; each
    // side's figure is the median of its rounds.
    // Each side's CPU time per message (client and server) and time spent waiting for a CPU
    // show where a busy machine's loss goes.
    std::vector<double> asio_rates, rpc_rates, per_write;
    RoundCost asio_cost, rpc_cost;
    const std::string self_stat = "/proc/thread-self/schedstat";
    const std::string asio_stat = fmt::format("/proc/{}/schedstat", asio_pid);
    const std::string rpc_stat = fmt::format("/proc/{}/schedstat", rpc_pid);
    for (int r = 0; r < rounds; ++r) {
      if (do_asio) {
        const SchedTimes c0 = sched_times(self_stat), s0 = sched_times(asio_stat);
        asio_rates.push_back(asio_throughput(asio_port, seconds));
        asio_cost.add(c0, sched_times(self_stat), s0, sched_times(asio_stat),
                      asio_rates.back() * seconds);
      }
      if (!do_rpc) continue;
      const SchedTimes c0 = sched_times(self_stat), s0 = sched_times(rpc_stat);
      const RpcThroughput t = rpc_throughput(rpc_addr, seconds);
      rpc_cost.add(c0, sched_times(self_stat), s0, sched_times(rpc_stat), t.msgs_per_s * seconds);
      rpc_rates.push_back(t.msgs_per_s);
      per_write.push_back(t.messages_per_write);
    }
    const double asio_rate = median(asio_rates), rpc_rate = median(rpc_rates);
    const double rpc_p50 = percentile(rpc_rtts, 0.5), asio_p50 = percentile(asio_rtts, 0.5);
    const double rpc_p99 = percentile(rpc_rtts, 0.99), asio_p99 = percentile(asio_rtts, 0.99);
    figures = {
        {"rpc_rtt_p50_us", {rpc_p50, "us"}},
        {"rpc_rtt_p99_us", {rpc_p99, "us"}},
        {"asio_rtt_p50_us", {asio_p50, "us"}},
        {"asio_rtt_p99_us", {asio_p99, "us"}},
        {"rtt_p50_ratio", {rpc_p50 / asio_p50, "x"}},
        {"rtt_p99_ratio", {rpc_p99 / asio_p99, "x"}},
        {"rpc_msgs_per_s", {rpc_rate, "msgs/s"}},
        {"asio_msgs_per_s", {asio_rate, "msgs/s"}},
        {"rpc_client_messages_per_write", {median(per_write), "msgs"}},
        {"msgs_per_s_ratio", {rpc_rate / asio_rate, "x (target >= 0.5)"}},
        {"rpc_client_cpu_us_per_msg", {rpc_cost.per_msg_us(rpc_cost.client.run_s), "us"}},
        {"rpc_server_cpu_us_per_msg", {rpc_cost.per_msg_us(rpc_cost.server.run_s), "us"}},
        {"asio_client_cpu_us_per_msg", {asio_cost.per_msg_us(asio_cost.client.run_s), "us"}},
        {"asio_server_cpu_us_per_msg", {asio_cost.per_msg_us(asio_cost.server.run_s), "us"}},
        {"rpc_cpu_wait_us_per_msg",
         {rpc_cost.per_msg_us(rpc_cost.client.wait_s + rpc_cost.server.wait_s), "us"}},
        {"asio_cpu_wait_us_per_msg",
         {asio_cost.per_msg_us(asio_cost.client.wait_s + asio_cost.server.wait_s), "us"}},
        {"rpc_msgs_per_cpu_slice", {rpc_cost.msgs_per_slice(), "msgs"}},
        {"asio_msgs_per_cpu_slice", {asio_cost.msgs_per_slice(), "msgs"}},
    };
  } catch (const std::exception& e) {
    std::fprintf(stderr, "net-bench: %s\n", e.what());
  } catch (const flow::Error& e) {
    std::fprintf(stderr, "net-bench: %s\n", std::string(e.name()).c_str());
  }
  ::kill(asio_pid, SIGKILL);
  ::kill(rpc_pid, SIGKILL);
  ::waitpid(asio_pid, nullptr, 0);
  ::waitpid(rpc_pid, nullptr, 0);
  if (!only.empty()) {
    std::erase_if(figures, [&](const auto& f) { return !f.first.starts_with(only + "_"); });
  }
  if (figures.empty()) return 1;
  if (json) {
    std::string out = "{";
    for (size_t i = 0; i < figures.size(); ++i)
      out +=
          fmt::format("{}\"{}\": {:.4g}", i ? ", " : "", figures[i].first, figures[i].second.first);
    fmt::print("{}}}\n", out);
  } else {
    for (const auto& [name, v] : figures)
      fmt::print("{} = {:.4g} {}\n", name, v.first, v.second);
  }
  return 0;
}
