// Rpc — the RPC test suite (net/testing/rpc_test_service.h) under the simulator's faults.
//
// Every simulated process serves the test service and also runs a client role, so requesters die
// mid-request when Attrition kills them (and servers die mid-request under clients elsewhere).
// Tester clients run the suite's checks against random servers: echo bursts with hundreds of
// requests in flight, message sizes up to 10 MiB, errors over the wire, dropped replies, unserved
// endpoints, key-value reads after writes, and held requests that a kill may cut short. Every
// violation is a SevError with the check's description. After the faults heal, check() runs the
// checks against every server with no failures allowed: the transport must reconnect by itself.
//
// Options: testDuration (s, 10), clients (tester clients, 4), burst (requests in flight, 200),
// maxPayload (bytes, 4096), largeMessages (run the 0 B to 10 MiB sizes, true).

#include "flow/actor.h"
#include "flow/combinators.h"
#include "flow/deterministic_random.h"
#include "flow/trace_event.h"
#include "net/testing/rpc_test_service.h"
#include "workloads/workload.h"

namespace workloads {
namespace {

using flow::Error;
using flow::ErrorCode;
namespace nt = net::testing;

class RpcWorkload final : public Workload {
 public:
  explicit RpcWorkload(WorkloadOptions& o)
      : duration_(o.get_seconds("testDuration", 10.0)),
        clients_(o.get_int("clients", 4)),
        burst_(o.get_int("burst", 200)),
        max_payload_(o.get_int("maxPayload", 4096)),
        large_messages_(o.get_bool("largeMessages", true)) {}

  std::string name() const override { return "Rpc"; }

  void setup(WorkloadContext& ctx) override {
    for (size_t i = 0; i < ctx.sim().process_count(); ++i) {
      sim::Simulator::SimProcess& p = ctx.sim().process(i);
      if (p.is_protected) continue;
      servers_.push_back(p.address);
    }
    for (size_t i = 0; i < ctx.sim().process_count(); ++i) {
      sim::Simulator::SimProcess& p = ctx.sim().process(i);
      if (p.is_protected) continue;
      ctx.sim().add_role(p, "rpc_server", [] { nt::run_test_server(); });
      ctx.sim().add_role(p, "rpc_client", [this] { client_role(); });
    }
  }

  void start(WorkloadContext&) override {
    // No servers (setup did not run: runSetup = false): nothing to check; check() says so.
    if (servers_.empty()) return;
    const flow::Time end = flow::now() + duration_;
    std::vector<flow::Future<flow::Void>> clients;
    for (int64_t i = 0; i < clients_; ++i)
      clients.push_back(flow::spawn([this, end, i] { tester_client(end, i == 0); }));
    flow::wait(flow::wait_all(clients));
  }

  bool check(WorkloadContext&) override {
    if (servers_.empty()) {
      flow::TraceEvent(flow::SevWarnAlways, "RpcNoServers").detail("Why", "setup did not run");
      return false;
    }
    auto& rng = flow::deterministic_random();
    for (const flow::NetworkAddress& server : servers_) {
      nt::TestService s(server);
      // The server may still be rebooting: wait until its transport answers.
      waiting_ = Waiting{"check", "the failure monitor to see the server available (role rpc_server)",
                         server};
      flow::wait(net::Transport::current().failure_monitor().on_available(server));
      waiting_->what = "replies to check_errors (role rpc_server)";
      report(server, "liveness", nt::check_errors(s, false, server == servers_.front()));
      waiting_->what = "replies to check_abandoned_request (role rpc_server)";
      report(server, "liveness", nt::check_abandoned_request(s, false));
      waiting_->what = "replies to check_key_value (role rpc_server)";
      report(server, "liveness", nt::check_key_value(s, false, rng));
      waiting_->what = "replies to check_echo_burst (role rpc_server)";
      report(server, "liveness", nt::check_echo_burst(s, 50, 1024, false, rng));
    }
    waiting_.reset();
    return checks_ > 0 && !violated_;
  }

  std::optional<Waiting> waiting_on() const override { return waiting_; }

  void metrics(std::vector<std::pair<std::string, double>>& out) const override {
    out.emplace_back("RpcChecks", static_cast<double>(checks_));
    out.emplace_back("RpcHeldRequests", static_cast<double>(held_));
    out.emplace_back("RpcHeldMaybeDelivered", static_cast<double>(held_lost_));
  }

 private:
  flow::NetworkAddress random_server(flow::DeterministicRandom& rng) const {
    return servers_[static_cast<size_t>(rng.random_int(0, static_cast<int64_t>(servers_.size())))];
  }

  void report(flow::NetworkAddress server, const char* check, const std::vector<std::string>& v) {
    ++checks_;
    for (const std::string& violation : v) {
      violated_ = true;
      flow::TraceEvent(flow::SevError, "RpcViolation")
          .detail("Server", server.to_string())
          .detail("Check", check)
          .detail("What", violation);
    }
  }

  // One round of a random check against a random server; `on_tester`: from the tester process,
  // which no server ever connects to. May suspend.
  void one_check(flow::DeterministicRandom& rng, bool may_send_large, bool on_tester) {
    const flow::NetworkAddress server = random_server(rng);
    nt::TestService s(server);
    const int64_t pick = rng.random_int(0, 100);
    if (pick < 40) {
      report(server, "echo_burst",
             nt::check_echo_burst(s, static_cast<int>(rng.random_int(1, burst_ + 1)),
                                  static_cast<size_t>(max_payload_), true, rng));
    } else if (pick < 55) {
      report(server, "errors", nt::check_errors(s, true, false));
    } else if (pick < 60) {
      report(server, "abandoned", nt::check_abandoned_request(s, true));
    } else if (pick < 80) {
      report(server, "key_value", nt::check_key_value(s, true, rng));
    } else if (pick < 97 || !may_send_large || !large_messages_) {
      // A held request: a kill of either side during the hold is the mid-request case.
      ++held_;
      flow::Future<nt::wt::ControlReplyT> f =
          nt::hold_request(s, static_cast<uint32_t>(rng.random_int(1, 2000)));
      try {
        flow::wait(f);
      } catch (const Error& e) {
        if (e.code() == ErrorCode::operation_cancelled) throw;
        if (e.code() != ErrorCode::request_maybe_delivered) {
          report(server, "held", {fmt::format("held request ended with {}", e.name())});
        } else if (on_tester && net::Transport::current().failure_monitor().status(server) !=
                                    net::FailureMonitor::Status::kFailed) {
          // The connection carrying it closed, and it was the tester's only one to the server
          // (a new one cannot be up yet: its handshake takes a round trip): the failure monitor
          // must say so.
          report(server, "held", {"the connection was lost but the failure monitor does not "
                                  "mark the server failed"});
        }
        ++held_lost_;
      }
      ++checks_;
    } else {
      report(server, "message_sizes", nt::check_message_sizes(s, true));
    }
  }

  void tester_client(flow::Time end, bool may_send_large) {
    auto& rng = flow::deterministic_random();
    while (flow::now() < end) {
      one_check(rng, may_send_large, true);
      flow::wait(flow::delay(rng.random_duration(std::chrono::milliseconds(0),
                                                 std::chrono::milliseconds(50))));
    }
  }

  // Runs on every simulated process (and dies with it).
  void client_role() {
    auto& rng = flow::deterministic_random();
    for (;;) {
      one_check(rng, false, false);
      flow::wait(flow::delay(rng.random_duration(std::chrono::milliseconds(10),
                                                 std::chrono::milliseconds(200))));
    }
  }

  flow::Duration duration_;
  int64_t clients_;
  int64_t burst_;
  int64_t max_payload_;
  bool large_messages_;
  std::vector<flow::NetworkAddress> servers_;
  uint64_t checks_ = 0;
  uint64_t held_ = 0;
  uint64_t held_lost_ = 0;
  bool violated_ = false;
  std::optional<Waiting> waiting_;
};

}  // namespace

std::unique_ptr<Workload> make_rpc_workload(WorkloadOptions& options) {
  return std::make_unique<RpcWorkload>(options);
}

}  // namespace workloads
