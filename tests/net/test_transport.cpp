// The transport and typed RPC in the simulated world: replies, errors over the wire, delivery
// semantics when a peer dies, the handshake, garbage on the wire, and the failure monitor.
#include <doctest/doctest.h>

#include "flow/flow.h"
#include "net/envelope.h"
#include "net/frame.h"
#include "net/schema/transport_generated.h"
#include "net/testing/rpc_test_service.h"
#include "net/transport.h"
#include "sim/simulator.h"
#include "tests/net/sim_cluster.h"

using namespace std::chrono_literals;
using flow::Error;
using flow::ErrorCode;
namespace nt = net::testing;

using net_test::Cluster;
using net_test::outcome;

TEST_CASE("rpc: a request gets its reply, across processes and within one") {
  Cluster c(1);
  c.start_server();
  const flow::NetworkAddress server = c.server().address;
  auto payload = c.client([server] {
    nt::TestService s(server);
    nt::wt::EchoRequestT req;
    req.id = 42;
    req.payload = {1, 2, 3};
    return flow::wait(s.echo.get_reply(req));
  });
  CHECK(payload.id == 42);
  CHECK(payload.payload == std::vector<uint8_t>{1, 2, 3});

  // A stream served in the requester's own process: serialized, but never on the network.
  auto local = flow::spawn_in(*c.sim.process(2).process, [] {
    nt::EchoStream mine;
    auto server_side = flow::spawn([mine] {
      auto in = flow::wait_next(mine.requests());
      nt::wt::EchoReplyT r;
      r.id = in.request.id + 1;
      in.reply.send(r);
    });
    // The monitor never waits for a connection to ourselves.
    CHECK(net::Transport::current()
              .failure_monitor()
              .on_available(mine.endpoint().address)
              .is_ready());
    nt::EchoStream remote_view(mine.endpoint());
    nt::wt::EchoRequestT req;
    req.id = 7;
    return flow::wait(remote_view.get_reply(req)).id;
  });
  REQUIRE(c.rt.run_until(local));
  CHECK(local.get() == 8);
}

TEST_CASE("rpc: errors travel as themselves; dropped replies and unknown endpoints break") {
  Cluster c(2);
  c.start_server();
  const flow::NetworkAddress server = c.server().address;
  auto violations = c.client([server] {
    nt::TestService s(server);
    return nt::check_errors(s, /*faults=*/false, /*oversized=*/true);
  });
  CHECK(violations == std::vector<std::string>{});
}

TEST_CASE("endpoint table: fresh tokens find their receiver until removed, then never again") {
  struct Nobody final : net::MessageReceiver {
    bool receive(std::span<const uint8_t>, const net::MessageContext&) override { return true; }
  } a, b;
  net::EndpointTable table(12345);
  const net::Token ta = table.add(&a);
  CHECK(table.find(ta) == &a);
  table.remove(ta);
  CHECK(table.find(ta) == nullptr);
  // The slot is reused, under a new generation: the stale token still finds nothing.
  const net::Token tb = table.add(&b);
  CHECK(static_cast<uint32_t>(tb.second) == static_cast<uint32_t>(ta.second));
  CHECK(tb != ta);
  CHECK(table.find(tb) == &b);
  CHECK(table.find(ta) == nullptr);
  table.remove(ta);  // stale: harmless
  CHECK(table.find(tb) == &b);
  // Another nonce (another life of the process) finds nothing; fixed tokens live beside.
  CHECK(table.find(net::Token{54321, tb.second}) == nullptr);
  table.add_fixed(net::well_known_token(3), &a);
  CHECK(table.find(net::well_known_token(3)) == &a);
  CHECK(table.size() == 2);
  table.remove(net::well_known_token(3));
  table.remove(tb);
  CHECK(table.size() == 0);
}

TEST_CASE("rpc: an abandoned request forgets its token; its late reply is dropped") {
  Cluster c(5);
  c.start_server();
  const flow::NetworkAddress server = c.server().address;
  auto result = c.client([server] {
    nt::TestService s(server);
    net::Transport& t = net::Transport::current();
    const size_t before = t.endpoints()->size();
    {
      flow::Future<nt::wt::ControlReplyT> held = nt::hold_request(s, 300);
      flow::wait(flow::delay(50ms));
      CHECK(t.endpoints()->size() == before + 1);
    }  // dropped unanswered
    CHECK(t.endpoints()->size() == before);
    const uint64_t unknown = t.counters().unknown_endpoint;
    flow::wait(flow::delay(500ms));  // the reply comes, for a token nobody has
    CHECK(t.counters().unknown_endpoint == unknown + 1);
    // A loopback request to nobody is answered before get_reply returns.
    nt::EchoStream nobody(net::Endpoint{t.address(), net::well_known_token(999)});
    flow::Future<nt::wt::EchoReplyT> f = nobody.get_reply(nt::wt::EchoRequestT{});
    CHECK(f.is_ready());
    CHECK(outcome(f) == ErrorCode::broken_promise);
    CHECK(t.endpoints()->size() == before);
    return flow::wait(s.echo.get_reply(nt::wt::EchoRequestT{})).id;
  });
  CHECK(result == 0);
}

TEST_CASE("rpc: a server that dies mid-request leaves request_maybe_delivered") {
  Cluster c(3);
  c.start_server();
  const flow::NetworkAddress server = c.server().address;
  auto held = flow::spawn_in(*c.sim.process(0).process, [server] {
    nt::TestService s(server);
    return outcome(nt::hold_request(s, 5000));
  });
  c.rt.run_until(flow::delay(100ms));
  c.sim.kill_process(c.server());
  REQUIRE(c.rt.run_until(held));
  CHECK(held.get() == ErrorCode::request_maybe_delivered);
}

TEST_CASE("rpc: a requester that dies mid-request costs the server nothing but the reply") {
  Cluster c(4);
  c.start_server();
  const flow::NetworkAddress server = c.server().address;
  auto doomed = flow::spawn_in(*c.sim.process(2).process, [server] {
    nt::TestService s(server);
    return outcome(nt::hold_request(s, 500));
  });
  c.rt.run_until(flow::delay(100ms));
  c.sim.kill_process(c.sim.process(2));
  c.rt.run_until(flow::delay(1s));
  auto stats = c.client([server] {
    nt::TestService s(server);
    return flow::wait(s.stats.get_reply(nt::wt::StatsRequestT{}));
  });
  CHECK(stats.replies_undeliverable == 1);
}

TEST_CASE("rpc: a peer with another protocol version, or sending garbage, is cut off") {
  Cluster c(5);
  c.start_server();
  const flow::NetworkAddress server = c.server().address;
  // 0: another protocol version; 1: a frame too short for an envelope; 2: an envelope with flags
  // nobody knows; 3: an echo request whose body is not an EchoRequest.
  for (int bad : {0, 1, 2, 3}) {
    CAPTURE(bad);
    auto read_result = c.client([server, bad] {
      auto conn = flow::wait(flow::current_process().network().connect(server));
      std::vector<uint8_t> out;
      flatbuffers::FlatBufferBuilder b;
      const strata::wire::Address a(0, 0);
      b.Finish(strata::wire::CreateHello(b, bad == 0 ? 99 : net::kProtocolVersion, &a));
      net::append_frame(out, {b.GetBufferPointer(), b.GetSize()});
      const std::vector<uint8_t> garbage = {1, 2, 3, 4, 5, 6, 7, 8, 9};
      if (bad == 1) net::append_frame(out, garbage);  // checksum fine, not an envelope
      if (bad == 2) {
        net::append_envelope_frame(out, {net::Token{7, 7}, {}, 0, 0x80}, {});
      }
      if (bad == 3) {
        net::append_envelope_frame(out, {net::well_known_token(nt::kEchoToken), {}, 0, 0}, garbage);
      }
      flow::wait(conn->write(out));
      std::vector<uint8_t> in(1 << 16);
      try {
        for (;;) {  // the server's Hello, then the close
          if (!flow::wait(flow::timeout(conn->read_some(in), 10s))) return ErrorCode::timed_out;
        }
      } catch (const Error& e) {
        return e.code();
      }
    });
    CHECK(read_result == ErrorCode::connection_failed);
  }
  // And the server still serves everyone else.
  auto id = c.client([server] {
    nt::TestService s(server);
    nt::wt::EchoRequestT req;
    req.id = 9;
    return flow::wait(s.echo.get_reply(req)).id;
  });
  CHECK(id == 9);
}

TEST_CASE("failure monitor: a killed peer becomes failed, and available again after reboot") {
  Cluster c(6);
  c.start_server();
  const flow::NetworkAddress server = c.server().address;
  c.client([server] {
    flow::wait(net::Transport::current().failure_monitor().on_available(server));
    return 0;
  });
  auto failed = flow::spawn_in(*c.sim.process(0).process, [server] {
    nt::TestService s(server);
    // Traffic notices the death (a silent peer would be noticed by the idle ping).
    auto held = nt::hold_request(s, 10'000);
    flow::wait(net::Transport::current().failure_monitor().on_failed(server));
    return 0;
  });
  c.rt.run_until(flow::delay(50ms));
  c.sim.kill_process(c.server());
  REQUIRE(c.rt.run_until(failed));
  auto back = flow::spawn_in(*c.sim.process(0).process, [server] {
    flow::wait(net::Transport::current().failure_monitor().on_available(server));
    return flow::now();
  });
  c.rt.run_until(flow::delay(2s));
  CHECK(!back.is_ready());
  const flow::Time rebooted = flow::now();
  c.sim.reboot_process(c.server());
  REQUIRE(c.rt.run_until(back));
  CHECK(back.get() >= rebooted);
}
