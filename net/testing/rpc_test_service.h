#pragma once
// The RPC test service and the checks that exercise it — one suite for both worlds.
//
// The server (run_test_server) offers echo, a small key-value store, errors on demand, held and
// dropped replies, and its counters, at well-known tokens. The checks are world-agnostic: the
// simulated workload (workloads/rpc_workload.cpp) runs them under clogging, partitions, kills and
// connection failures; tests/net/rpc_real.cpp runs them between two OS processes. Each check
// returns the violations it saw (empty when everything held); `faults` says whether connection
// failures are expected, which makes request_maybe_delivered an allowed outcome.

#include <cstdint>
#include <string>
#include <vector>

#include "flow/deterministic_random.h"
#include "net/rpc.h"
#include "net/testing/rpc_test_generated.h"

namespace net::testing {

namespace wt = strata::wire::test;

using EchoStream = RequestStream<wt::EchoRequestT, wt::EchoReplyT>;
using SetStream = RequestStream<wt::SetRequestT, wt::SetReplyT>;
using GetStream = RequestStream<wt::GetRequestT, wt::GetReplyT>;
using ControlStream = RequestStream<wt::ControlRequestT, wt::ControlReplyT>;
using StatsStream = RequestStream<wt::StatsRequestT, wt::StatsReplyT>;

inline constexpr uint64_t kEchoToken = 0x7e57'0001;
inline constexpr uint64_t kSetToken = 0x7e57'0002;
inline constexpr uint64_t kGetToken = 0x7e57'0003;
inline constexpr uint64_t kControlToken = 0x7e57'0004;
inline constexpr uint64_t kStatsToken = 0x7e57'0005;
// Nobody serves this one.
inline constexpr uint64_t kUnservedToken = 0x7e57'00ff;

// The service at `server`, as a client sees it.
struct TestService {
  explicit TestService(flow::NetworkAddress server);
  flow::NetworkAddress address;
  EchoStream echo;
  SetStream set;
  GetStream get;
  ControlStream control;
  StatsStream stats;
};

// Serves the test service in the current process until cancelled. May suspend.
void run_test_server();

// `requests` echo requests in flight at once, payload sizes drawn up to max_payload (a few at the
// extremes: 0 bytes and max_payload); every reply must match its request byte for byte. May
// suspend.
std::vector<std::string> check_echo_burst(const TestService& s, int requests, size_t max_payload,
                                          bool faults, flow::DeterministicRandom& rng);
// Echo of 0 B, 1 B, 1 KiB, 64 KiB, 1 MiB and 10 MiB, one at a time. May suspend.
std::vector<std::string> check_message_sizes(const TestService& s, bool faults);
// Errors over the wire: a chosen error comes back as itself, a dropped reply as broken_promise,
// an unserved token as broken_promise, and (when `oversized`, which costs a buffer of
// max_message_bytes) an oversized request as message_too_large. May suspend.
std::vector<std::string> check_errors(const TestService& s, bool faults, bool oversized);
// Set then get under one server incarnation sees the value. May suspend.
std::vector<std::string> check_key_value(const TestService& s, bool faults,
                                         flow::DeterministicRandom& rng);

// A request given up on before its reply, then at once another, held longer by the server: the
// second must get its own reply (not before its hold), never the first one's late reply, though
// it may reuse the first one's reply slot. May suspend.
std::vector<std::string> check_abandoned_request(const TestService& s, bool faults);

// A request the server holds for `hold_ms` before answering: what a test kills a peer during.
flow::Future<wt::ControlReplyT> hold_request(const TestService& s, uint32_t hold_ms);

}  // namespace net::testing
