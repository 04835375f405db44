#include "net/testing/rpc_test_service.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "flow/actor.h"
#include "flow/actor_collection.h"
#include "flow/combinators.h"
#include "flow/flow_knobs.h"
#include "flow/little_endian.h"
#include "flow/runtime.h"
#include "flow/trace_event.h"

namespace net::testing {

using flow::Error;
using flow::ErrorCode;

TestService::TestService(flow::NetworkAddress server)
    : address(server),
      echo(Endpoint{server, well_known_token(kEchoToken)}),
      set(Endpoint{server, well_known_token(kSetToken)}),
      get(Endpoint{server, well_known_token(kGetToken)}),
      control(Endpoint{server, well_known_token(kControlToken)}),
      stats(Endpoint{server, well_known_token(kStatsToken)}) {}

namespace {

struct ServerState {
  uint64_t incarnation = 0;
  uint64_t requests = 0;
  std::map<std::string, std::vector<uint8_t>> values;
};

void hold_then_reply(ReplyPromise<wt::ControlReplyT> reply, uint32_t hold_ms, uint64_t inc) {
  flow::wait(flow::delay(std::chrono::milliseconds(hold_ms)));
  wt::ControlReplyT r;
  r.incarnation = inc;
  reply.send(r);
}

// What a call ended with, as text for a violation message.
template <class T>
std::string outcome(const flow::Future<T>& f) {
  return f.is_error() ? std::string(f.get_error().name()) : "a reply";
}

// Waits for `f`; true if it holds a reply. request_maybe_delivered is allowed under faults; any
// other error is a violation. May suspend.
template <class T>
bool settle(const flow::Future<T>& f, bool faults, const char* what,
            std::vector<std::string>& violations) {
  try {
    flow::wait(f);
    return true;
  } catch (const Error& e) {
    if (e.code() == ErrorCode::operation_cancelled) throw;
    if (faults && e.code() == ErrorCode::request_maybe_delivered) return false;
    violations.push_back(fmt::format("{}: unexpected error {}", what, e.name()));
    return false;
  }
}

// Waits for `f`, which must fail with `expected` (or, under faults, request_maybe_delivered).
template <class T>
void expect_error(const flow::Future<T>& f, ErrorCode expected, bool faults, const char* what,
                  std::vector<std::string>& violations) {
  try {
    flow::wait(f);
    violations.push_back(fmt::format("{}: got a reply, expected {}", what,
                                     Error(expected).name()));
  } catch (const Error& e) {
    if (e.code() == ErrorCode::operation_cancelled) throw;
    if (e.code() == expected) return;
    if (faults && e.code() == ErrorCode::request_maybe_delivered) return;
    violations.push_back(
        fmt::format("{}: got {}, expected {}", what, e.name(), Error(expected).name()));
  }
}

// Bytes that differ from message to message and from place to place, so a payload cut, shifted
// or mixed with another's is seen. Eight bytes per step: megabytes of it per run.
std::vector<uint8_t> pattern(size_t size, uint64_t id) {
  std::vector<uint8_t> p(size);
  uint64_t x = id * 0x9e3779b97f4a7c15ULL + 1;
  for (size_t i = 0; i < size; i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    // Little-endian on every machine; one store per step (rpc spent a tenth of its time here).
    flow::put_le(p.data() + i, x, static_cast<int>(std::min<size_t>(8, size - i)));
  }
  return p;
}

}  // namespace

void run_test_server() {
  auto state = std::make_shared<ServerState>();
  state->incarnation = flow::deterministic_random().random_uint64();
  auto echo = EchoStream::well_known(well_known_token(kEchoToken));
  auto set = SetStream::well_known(well_known_token(kSetToken));
  auto get = GetStream::well_known(well_known_token(kGetToken));
  auto control = ControlStream::well_known(well_known_token(kControlToken));
  auto stats = StatsStream::well_known(well_known_token(kStatsToken));
  flow::TraceEvent(flow::SevInfo, "RpcTestServerStarted")
      .detail("Address", Transport::current().address().to_string());
  flow::ActorCollection holds;

  std::vector<flow::Future<flow::Void>> servers;
  servers.push_back(flow::spawn([echo, state] {
    for (;;) {
      auto in = flow::wait_next(echo.requests());
      ++state->requests;
      wt::EchoReplyT r;
      r.id = in.request.id;
      r.payload = std::move(in.request.payload);
      in.reply.send(r);
    }
  }));
  servers.push_back(flow::spawn([set, state] {
    for (;;) {
      auto in = flow::wait_next(set.requests());
      ++state->requests;
      state->values[in.request.key] = std::move(in.request.value);
      wt::SetReplyT r;
      r.incarnation = state->incarnation;
      in.reply.send(r);
    }
  }));
  servers.push_back(flow::spawn([get, state] {
    for (;;) {
      auto in = flow::wait_next(get.requests());
      ++state->requests;
      wt::GetReplyT r;
      r.incarnation = state->incarnation;
      auto it = state->values.find(in.request.key);
      r.found = it != state->values.end();
      if (r.found) r.value = it->second;
      in.reply.send(r);
    }
  }));
  servers.push_back(flow::spawn([control, state, &holds] {
    for (;;) {
      auto in = flow::wait_next(control.requests());
      ++state->requests;
      if (in.request.drop) continue;  // the ReplyPromise breaks as `in` goes
      if (in.request.error != 0) {
        in.reply.send_error(Error::from_number(in.request.error));
        continue;
      }
      holds.add(flow::spawn(hold_then_reply, std::move(in.reply), in.request.hold_ms,
                            state->incarnation));
    }
  }));
  servers.push_back(flow::spawn([stats, state] {
    for (;;) {
      auto in = flow::wait_next(stats.requests());
      wt::StatsReplyT r;
      r.incarnation = state->incarnation;
      r.requests = state->requests;
      r.replies_undeliverable = Transport::current().counters().replies_undeliverable;
      in.reply.send(r);
    }
  }));
  flow::wait(flow::wait_all(servers));
}

std::vector<std::string> check_echo_burst(const TestService& s, int requests, size_t max_payload,
                                          bool faults, flow::DeterministicRandom& rng) {
  std::vector<std::string> violations;
  std::vector<wt::EchoRequestT> sent(static_cast<size_t>(requests));
  std::vector<flow::Future<wt::EchoReplyT>> replies;
  for (int i = 0; i < requests; ++i) {
    wt::EchoRequestT& req = sent[static_cast<size_t>(i)];
    req.id = rng.random_uint64();
    size_t size = 0;
    const int64_t shape = rng.random_int(0, 100);
    if (shape < 5) size = 0;
    else if (shape < 7) size = max_payload;
    else if (shape < 30) size = static_cast<size_t>(rng.random_int(0, static_cast<int64_t>(max_payload) + 1));
    else size = static_cast<size_t>(rng.random_int(0, std::min<int64_t>(256, static_cast<int64_t>(max_payload) + 1)));
    req.payload = pattern(size, req.id);
    replies.push_back(s.echo.get_reply(req));
  }
  for (size_t i = 0; i < replies.size(); ++i) {
    if (!settle(replies[i], faults, "echo", violations)) continue;
    const wt::EchoReplyT& r = replies[i].get();
    if (r.id != sent[i].id || r.payload != sent[i].payload) {
      violations.push_back(fmt::format("echo {}: reply id {} with {} bytes, sent {} bytes", sent[i].id,
                                       r.id, r.payload.size(), sent[i].payload.size()));
    }
  }
  return violations;
}

std::vector<std::string> check_message_sizes(const TestService& s, bool faults) {
  std::vector<std::string> violations;
  for (size_t size : {size_t{0}, size_t{1}, size_t{1024}, size_t{64 * 1024}, size_t{1 << 20},
                      size_t{10 << 20}}) {
    wt::EchoRequestT req;
    req.id = size;
    req.payload = pattern(size, size);
    flow::Future<wt::EchoReplyT> f = s.echo.get_reply(req);
    if (!settle(f, faults, "echo size", violations)) continue;
    if (f.get().payload != req.payload)
      violations.push_back(fmt::format("echo of {} bytes came back different", size));
  }
  return violations;
}

std::vector<std::string> check_errors(const TestService& s, bool faults, bool oversized) {
  std::vector<std::string> violations;
  wt::ControlRequestT fail;
  fail.error = static_cast<int32_t>(ErrorCode::transaction_too_old);
  expect_error(s.control.get_reply(fail), ErrorCode::transaction_too_old, faults,
               "error reply", violations);
  // A code this build does not know, and one that only the server itself could mean, cannot
  // come from a peer: the requester reads unexpected_remote_error, and a cancellation the server
  // suffered reaches the requester as broken_promise (it must never unwind the requester).
  fail.error = 4242;
  expect_error(s.control.get_reply(fail), ErrorCode::unexpected_remote_error, faults,
               "unknown error code", violations);
  fail.error = static_cast<int32_t>(ErrorCode::operation_cancelled);
  expect_error(s.control.get_reply(fail), ErrorCode::broken_promise, faults,
               "local-only error code", violations);
  wt::ControlRequestT drop;
  drop.drop = true;
  expect_error(s.control.get_reply(drop), ErrorCode::broken_promise, faults, "dropped reply",
               violations);
  EchoStream unserved(Endpoint{s.address, well_known_token(kUnservedToken)});
  expect_error(unserved.get_reply(wt::EchoRequestT{}), ErrorCode::broken_promise, faults,
               "unserved endpoint", violations);
  if (oversized) {
    wt::EchoRequestT huge;
    huge.payload.resize(
        static_cast<size_t>(flow::Runtime::checked_current().knobs().max_message_bytes) + 1);
    expect_error(s.echo.get_reply(huge), ErrorCode::message_too_large, false,
                 "oversized request", violations);
  }
  return violations;
}

std::vector<std::string> check_key_value(const TestService& s, bool faults,
                                         flow::DeterministicRandom& rng) {
  std::vector<std::string> violations;
  wt::SetRequestT set;
  set.key = fmt::format("k{}", rng.random_int(0, 1'000'000'000));
  set.value = pattern(static_cast<size_t>(rng.random_int(0, 100)), rng.random_uint64());
  flow::Future<wt::SetReplyT> sr = s.set.get_reply(set);
  if (!settle(sr, faults, "set", violations)) return violations;
  wt::GetRequestT get;
  get.key = set.key;
  flow::Future<wt::GetReplyT> gr = s.get.get_reply(get);
  if (!settle(gr, faults, "get", violations)) return violations;
  const wt::GetReplyT& g = gr.get();
  if (g.incarnation != sr.get().incarnation) return violations;  // the server restarted between
  if (!g.found || g.value != set.value) {
    violations.push_back(fmt::format("get {} after set under incarnation {:x}: {}", set.key,
                                     g.incarnation, g.found ? "a different value" : "not found"));
  }
  return violations;
}

std::vector<std::string> check_abandoned_request(const TestService& s, bool faults) {
  constexpr uint32_t kAbandonedHoldMs = 1;
  constexpr uint32_t kHoldMs = 200;
  std::vector<std::string> violations;
  (void)hold_request(s, kAbandonedHoldMs);  // sent, and its future dropped at once: given up on
  const flow::Time sent = flow::now();
  flow::Future<wt::ControlReplyT> f = hold_request(s, kHoldMs);
  if (!settle(f, faults, "a request after an abandoned one", violations)) return violations;
  // The requester's clock only runs forward, within parts per million of the server's timers.
  const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(flow::now() - sent);
  if (waited < std::chrono::milliseconds(kHoldMs)) {
    violations.push_back(fmt::format(
        "a request the server holds {} ms was answered after {} ms: by another request's reply",
        kHoldMs, waited.count()));
  }
  return violations;
}

flow::Future<wt::ControlReplyT> hold_request(const TestService& s, uint32_t hold_ms) {
  wt::ControlRequestT hold;
  hold.hold_ms = hold_ms;
  return s.control.get_reply(hold);
}

}  // namespace net::testing
