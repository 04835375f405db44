// What the wire promises against busy servers and hostile or vanished peers: requests queue at
// their endpoint, every queue a peer can fill is bounded (and says so), a peer's error codes are
// not trusted, frames before the Hello are small, and the failure monitor follows every
// connection. Each case failed on the main of 2026-11-29 (issue 14).
#include <doctest/doctest.h>

#include "flow/flow.h"
#include "net/envelope.h"
#include "net/frame.h"
#include "net/schema/transport_generated.h"
#include "net/testing/rpc_test_service.h"
#include "net/transport.h"
#include "net/wire_error.h"
#include "sim/simulator.h"
#include "tests/net/sim_cluster.h"

using namespace std::chrono_literals;
using flow::Error;
using flow::ErrorCode;
using net::FailureMonitor;
namespace nt = net::testing;
using net_test::Cluster;
using net_test::outcome;

namespace {

constexpr uint64_t kSlowToken = 0x51'0001;

nt::wt::EchoRequestT echo_request(int64_t id, size_t payload_bytes = 0) {
  nt::wt::EchoRequestT r;
  r.id = id;
  r.payload.assign(payload_bytes, static_cast<uint8_t>(id));
  return r;
}

// Serves echo at kSlowToken the documented way, taking `per_request` for each request; counts
// what it served in *served.
void run_slow_echo(flow::Duration per_request, int* served) {
  auto s = nt::EchoStream::well_known(net::well_known_token(kSlowToken));
  for (;;) {
    auto in = flow::wait_next(s.requests());
    flow::wait(flow::delay(per_request));
    nt::wt::EchoReplyT r;
    r.id = in.request.id;
    in.reply.send(r);
    ++*served;
  }
}

// Holds the stream at kSlowToken and never serves it.
void run_deaf_server() {
  auto s = nt::EchoStream::well_known(net::well_known_token(kSlowToken));
  flow::wait(flow::never<flow::Void>());
}

// Bytes of the next frame's payload from `conn`, read through `decoder`. May suspend.
std::vector<uint8_t> read_frame(flow::IConnection& conn, net::FrameDecoder& decoder) {
  for (;;) {
    auto next = decoder.next();
    REQUIRE(next.ok());
    if (next.get()) return {next.get()->begin(), next.get()->end()};
    decoder.commit(flow::wait(conn.read_some(decoder.read_space())));
  }
}

std::vector<uint8_t> hello_frame(flow::NetworkAddress announced) {
  flatbuffers::FlatBufferBuilder b;
  const strata::wire::Address a(announced.ip, announced.port);
  b.Finish(strata::wire::CreateHello(b, net::kProtocolVersion, &a));
  std::vector<uint8_t> out;
  net::append_frame(out, {b.GetBufferPointer(), b.GetSize()});
  return out;
}

}  // namespace

TEST_CASE("rpc: requests that arrive while the server is busy wait at the endpoint") {
  Cluster c(11);
  int served = 0;
  c.sim.add_role(c.server(), "slow_echo", [&served] { run_slow_echo(200ms, &served); });
  const flow::NetworkAddress server = c.server().address;
  auto ids = c.client([server] {
    nt::EchoStream s(net::Endpoint{server, net::well_known_token(kSlowToken)});
    std::vector<flow::Future<nt::wt::EchoReplyT>> replies;
    replies.push_back(s.get_reply(echo_request(0)));
    flow::wait(flow::delay(50ms));  // the server is now inside its 200 ms
    for (int i = 1; i < 10; ++i) replies.push_back(s.get_reply(echo_request(i)));
    for (int i = 0; i < 5; ++i) s.send(echo_request(100 + i));  // one-way: served, no reply
    std::vector<int64_t> got;
    for (auto& r : replies) got.push_back(flow::wait(r).id);
    return got;
  });
  CHECK(ids == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  c.rt.run_until(flow::delay(2s));
  CHECK(served == 15);
}

TEST_CASE("rpc: a flooding peer meets the endpoint's bound: endpoint_queue_full, never an abort") {
  Cluster c(12, {"endpoint_queue_max=50"});
  c.sim.add_role(c.server(), "deaf", [] { run_deaf_server(); });
  const flow::NetworkAddress server = c.server().address;
  auto outcomes = c.client([server] {
    nt::EchoStream s(net::Endpoint{server, net::well_known_token(kSlowToken)});
    std::vector<flow::Future<nt::wt::EchoReplyT>> replies;
    for (int i = 0; i < 100; ++i) replies.push_back(s.get_reply(echo_request(i)));
    for (int i = 0; i < 2000; ++i) s.send(echo_request(1000 + i));
    flow::wait(flow::delay(1s));
    std::map<ErrorCode, int> by_outcome;
    for (auto& r : replies) {
      if (r.is_ready()) ++by_outcome[outcome(r)];
    }
    return by_outcome;
  });
  // The first 50 wait forever in the queue; the rest were refused at once.
  CHECK(outcomes == std::map<ErrorCode, int>{{ErrorCode::endpoint_queue_full, 50}});
  const auto& counters = c.sim.process(1).process->extension<net::Transport>().counters();
  CHECK(counters.requests_refused == 50 + 2000);
  CHECK(c.trace->count("EndpointQueueFull") == 1);
}

TEST_CASE("rpc: an endpoint's bytes bound counts requests until the server is done with them") {
  Cluster c(13, {"endpoint_queue_bytes_max=10000"});
  int served = 0;
  c.sim.add_role(c.server(), "slow_echo", [&served] { run_slow_echo(100ms, &served); });
  const flow::NetworkAddress server = c.server().address;
  auto outcomes = c.client([server] {
    nt::EchoStream s(net::Endpoint{server, net::well_known_token(kSlowToken)});
    std::vector<flow::Future<nt::wt::EchoReplyT>> replies;
    for (int i = 0; i < 20; ++i) replies.push_back(s.get_reply(echo_request(i, 1000)));
    std::vector<ErrorCode> got;
    for (auto& r : replies) got.push_back(outcome(r));
    // Once served, the bytes are free again.
    got.push_back(outcome(s.get_reply(echo_request(99, 1000))));
    return got;
  });
  // About 1,100 bytes each (payload and framing of the message): 9 fit in 10,000.
  const auto ok = std::count(outcomes.begin(), outcomes.end(), ErrorCode::success);
  const auto full = std::count(outcomes.begin(), outcomes.end(), ErrorCode::endpoint_queue_full);
  CHECK(ok == 10);
  CHECK(full == 11);
  CHECK(outcomes.back() == ErrorCode::success);
  CHECK(c.trace->count("EndpointQueueFull") == 1);
  CHECK(c.trace->count("EndpointQueueAdmitting") == 1);
}

TEST_CASE("rpc: a connection's send queue is bounded, also while it is still connecting") {
  Cluster c(14, {"max_message_bytes=100000", "connection_send_queue_bytes_max=1000000"});
  c.start_server();
  const flow::NetworkAddress server = c.server().address;
  auto outcomes = c.client([server] {
    nt::TestService s(server);
    std::vector<flow::Future<nt::wt::EchoReplyT>> replies;
    // 40 × 50 kB at once, before the connection is even up: 2 MB for a 1 MB queue.
    for (int i = 0; i < 40; ++i) replies.push_back(s.echo.get_reply(echo_request(i, 50'000)));
    std::map<ErrorCode, int> by_outcome;
    for (auto& r : replies) ++by_outcome[outcome(r)];
    // The peer is still reachable once the flood is over.
    by_outcome[outcome(s.echo.get_reply(echo_request(7)))] += 1000;
    return by_outcome;
  });
  CHECK(outcomes[ErrorCode::request_maybe_delivered] > 0);
  CHECK(outcomes[ErrorCode::success] >= 1000);
  CHECK(outcomes[ErrorCode::request_maybe_delivered] + outcomes[ErrorCode::success] == 1040);
  const auto& counters = c.sim.process(0).process->extension<net::Transport>().counters();
  CHECK(counters.send_queues_overflowed >= 1);
  CHECK(c.trace->count("ConnectionSendQueueFull") >= 1);
}

TEST_CASE("frames: a header alone costs no more than the bytes that came; before the Hello, 4 KiB") {
  net::FrameDecoder decoder(64 << 20);
  const size_t idle_bytes = decoder.allocated_bytes();
  // A header claiming 64 MiB, and 100 kB of its payload.
  std::vector<uint8_t> header(net::kFrameHeaderBytes, 0);
  const uint32_t length = 64 << 20;
  std::memcpy(header.data(), &length, 4);
  CHECK(decoder.feed(header) == header.size());
  auto first = decoder.next();
  REQUIRE(first.ok());
  CHECK(!first.get());
  const std::vector<uint8_t> chunk(100'000, 0x5a);
  for (size_t fed = 0; fed < chunk.size();) {
    fed += decoder.feed(std::span<const uint8_t>(chunk).subspan(fed));
    auto n = decoder.next();
    REQUIRE(n.ok());
    CHECK(!n.get());
  }
  CHECK(decoder.allocated_bytes() <= idle_bytes + 4 * 100'000);

  // A whole large frame still decodes, byte for byte, through the growing buffer.
  std::vector<uint8_t> payload(3'000'000);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i * 7);
  std::vector<uint8_t> frame;
  net::append_frame(frame, payload);
  net::FrameDecoder whole(64 << 20);
  std::vector<uint8_t> got;
  for (size_t fed = 0; fed < frame.size() && got.empty();) {
    fed += whole.feed(std::span<const uint8_t>(frame).subspan(fed, std::min<size_t>(70'000, frame.size() - fed)));
    auto n = whole.next();
    REQUIRE(n.ok());
    if (n.get()) got.assign(n.get()->begin(), n.get()->end());
  }
  CHECK(got == payload);

  // Before a Hello: a frame over 4 KiB is refused before anything is allocated for it.
  net::FrameDecoder early(4096);
  const uint32_t big = 5000;
  std::memcpy(header.data(), &big, 4);
  early.feed(header);
  auto refused = early.next();
  REQUIRE(!refused.ok());
  CHECK(refused.error().code() == ErrorCode::message_too_large);
}

TEST_CASE("rpc: a peer that sends a large frame before its Hello is cut off at once") {
  Cluster c(15);
  c.start_server();
  const flow::NetworkAddress server = c.server().address;
  auto result = c.client([server] {
    auto conn = flow::wait(flow::current_process().network().connect(server));
    std::vector<uint8_t> header(net::kFrameHeaderBytes, 0);
    const uint32_t length = 60 << 20;
    std::memcpy(header.data(), &length, 4);
    flow::wait(conn->write(header));
    std::vector<uint8_t> in(1 << 16);
    try {
      for (;;) {
        if (!flow::wait(flow::timeout(conn->read_some(in), 10s))) return ErrorCode::timed_out;
      }
    } catch (const Error& e) {
      return e.code();
    }
  });
  CHECK(result == ErrorCode::connection_failed);
  CHECK(c.trace->count("ConnectionClosed") >= 1);
}

TEST_CASE("wire errors: codes that cannot come from a peer read as unexpected_remote_error") {
  CHECK(net::error_from_wire(static_cast<int32_t>(ErrorCode::not_committed)) ==
        ErrorCode::not_committed);
  CHECK(net::error_from_wire(static_cast<int32_t>(ErrorCode::broken_promise)) ==
        ErrorCode::broken_promise);
  for (ErrorCode local : {ErrorCode::operation_cancelled, ErrorCode::request_maybe_delivered,
                          ErrorCode::end_of_stream, ErrorCode::connection_failed,
                          ErrorCode::success}) {
    CAPTURE(static_cast<int>(local));
    CHECK(net::error_from_wire(static_cast<int32_t>(local)) ==
          ErrorCode::unexpected_remote_error);
    CHECK(net::error_to_wire(Error(local)) == static_cast<int32_t>(ErrorCode::broken_promise));
  }
  CHECK(net::error_from_wire(987654) == ErrorCode::unexpected_remote_error);
  CHECK(net::error_from_wire(-5) == ErrorCode::unexpected_remote_error);
}

TEST_CASE("rpc: a hostile server cannot make a requester throw operation_cancelled") {
  Cluster c(16);
  const flow::NetworkAddress server = c.server().address;
  // Process 1 speaks the wire by hand: it answers every request with the code it is told.
  for (int32_t code : {static_cast<int32_t>(ErrorCode::operation_cancelled), 424242,
                       static_cast<int32_t>(ErrorCode::not_committed)}) {
    CAPTURE(code);
    auto hostile = flow::spawn_in(*c.server().process, [server, code] {
      auto listener = flow::current_process().network().listen(server);
      auto conn = flow::wait(listener->accept());
      net::FrameDecoder decoder(1 << 20);
      read_frame(*conn, decoder);  // the requester's Hello
      std::vector<uint8_t> out = hello_frame(server);
      const std::vector<uint8_t> request = read_frame(*conn, decoder);
      const auto env = net::parse_envelope(request);
      REQUIRE(env.has_value());
      net::append_envelope_frame(out, {env->fields.reply_to, {}, code, 0}, {});
      flow::wait(conn->write(out));
      flow::wait(flow::delay(1s));
      conn->close();
      listener->close();
      return flow::Void{};
    });
    auto got = c.client([server] {
      nt::EchoStream s(net::Endpoint{server, net::well_known_token(kSlowToken)});
      return outcome(s.get_reply(echo_request(1)));
    });
    const ErrorCode expected = code == static_cast<int32_t>(ErrorCode::not_committed)
                                   ? ErrorCode::not_committed
                                   : ErrorCode::unexpected_remote_error;
    CHECK(got == expected);
    REQUIRE(c.rt.run_until(hostile));
    c.rt.run_until(flow::delay(5s));  // the requester notices the close and forgets the peer
  }
}

TEST_CASE("failure monitor: a client's death is seen by the server it was connected to") {
  Cluster c(17);
  c.start_server();
  const flow::NetworkAddress server = c.server().address;
  const flow::NetworkAddress client = c.sim.process(0).address;
  c.client([server] {
    nt::TestService s(server);
    return flow::wait(s.echo.get_reply(echo_request(1))).id;
  });
  auto seen = flow::spawn_in(*c.server().process, [client] {
    auto& fm = net::Transport::current().failure_monitor();
    CHECK(fm.status(client) == FailureMonitor::Status::kAvailable);
    return flow::wait(flow::timeout(fm.on_failed(client), 30s)).has_value();
  });
  c.rt.run_until(flow::delay(10ms));
  c.sim.kill_process(c.sim.process(0));
  REQUIRE(c.rt.run_until(seen));
  CHECK(seen.get());
}

TEST_CASE("failure monitor: an idle peer that goes silent is noticed by both sides") {
  Cluster c(18);
  c.start_server();
  const flow::NetworkAddress server = c.server().address;
  const flow::NetworkAddress client = c.sim.process(0).address;
  c.client([server] {  // one request; then the connection idles with nothing outstanding
    nt::TestService s(server);
    return flow::wait(s.echo.get_reply(echo_request(1))).id;
  });
  c.rt.run_until(flow::delay(5s));
  // The server's machine "loses power": nothing passes either way, and nothing is closed.
  c.sim.network().clog_pair(client.ip, server.ip, 1000s);
  c.sim.network().clog_pair(server.ip, client.ip, 1000s);
  const flow::Time silent_from = flow::now();
  auto client_sees = flow::spawn_in(*c.sim.process(0).process, [server] {
    auto& fm = net::Transport::current().failure_monitor();
    flow::wait(fm.on_failed(server));
    return flow::now();
  });
  auto server_sees = flow::spawn_in(*c.server().process, [client] {
    auto& fm = net::Transport::current().failure_monitor();
    flow::wait(fm.on_failed(client));
    return flow::now();
  });
  REQUIRE(c.rt.run_until(flow::timeout(client_sees, 60s)));
  REQUIRE(client_sees.is_ready());
  REQUIRE(c.rt.run_until(flow::timeout(server_sees, 60s)));
  REQUIRE(server_sees.is_ready());
  // Checked every idle period: silence is seen within two, the ping waits out the idle timeout
  // (nothing is outstanding either way), and the close is seen at the next check.
  const auto& knobs = flow::Runtime::checked_current().knobs();
  const auto idle = knobs.connection_idle;
  const auto timeout = knobs.connection_idle_timeout;
  CHECK(client_sees.get() - silent_from <= 3 * idle + timeout);
  CHECK(server_sees.get() - silent_from <= 3 * idle + timeout);
  // And not before the ping has waited its whole timeout: a busy peer is not a dead one.
  CHECK(client_sees.get() - silent_from >= idle + timeout);
  CHECK(server_sees.get() - silent_from >= idle + timeout);
}

TEST_CASE("failure monitor: a Hello cannot speak for another host's address") {
  Cluster c(19);
  c.start_server();
  const flow::NetworkAddress server = c.server().address;
  const flow::NetworkAddress other = c.sim.process(2).address;  // another machine's process
  auto claimed = c.client([server, other] {
    auto conn = flow::wait(flow::current_process().network().connect(server));
    flow::wait(conn->write(hello_frame(other)));
    flow::wait(flow::delay(500ms));
    return flow::current_process().address();
  });
  auto statuses = c.run_in(1, [other, claimed] {
    auto& fm = net::Transport::current().failure_monitor();
    return std::pair(fm.status(other), fm.status(flow::NetworkAddress{claimed.ip, other.port}));
  });
  CHECK(statuses.first == FailureMonitor::Status::kUnknown);
  CHECK(statuses.second == FailureMonitor::Status::kAvailable);
  CHECK(c.trace->count("HelloAddressMismatch") == 1);
}
