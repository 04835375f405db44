// The simulated network: order, partitions, clogging.
#include <doctest/doctest.h>

#include "flow/flow.h"
#include "sim/simulator.h"

using namespace std::chrono_literals;
using flow::Error;
using flow::ErrorCode;

namespace {

sim::SwarmConfig quiet_cluster() {
  sim::SwarmConfig c;
  c.datacenters = 1;
  c.machines_per_datacenter = 2;
  c.processes_per_machine = 1;
  c.network.min_latency = 100us;
  c.network.max_latency = 200us;
  return c;
}

// Reads exactly n bytes. May suspend.
std::vector<uint8_t> read_n(flow::IConnection& c, size_t n) {
  std::vector<uint8_t> out(n);
  size_t got = 0;
  while (got < n)
    got += flow::wait(c.read_some(std::span(out).subspan(got)));
  return out;
}

// A listener on process 1 that hands its first connection to `accepted`.
flow::Future<std::shared_ptr<flow::IConnection>> accept_one(sim::Simulator& s) {
  auto& server = s.process(1);
  return flow::spawn_in(*server.process, [&server] {
    auto l = flow::current_process().network().listen(server.address);
    return flow::wait(l->accept());
  });
}

}  // namespace

TEST_CASE("sim network: bytes arrive in order within a connection, even split by partial writes") {
  const uint64_t seed = 11;
  INFO("seed " << seed);
  flow::Runtime rt({.seed = seed, .buggify = true});  // buggify splits writes into pieces
  sim::Simulator s(rt, quiet_cluster());
  auto accepted = accept_one(s);
  std::vector<uint8_t> sent;
  for (int i = 0; i < 5000; ++i)
    sent.push_back(static_cast<uint8_t>(i * 7));
  auto client = flow::spawn_in(*s.process(0).process, [&] {
    auto c = flow::wait(flow::current_process().network().connect(s.process(1).address));
    for (size_t pos = 0; pos < sent.size(); pos += 100)
      flow::wait(c->write(std::span(sent).subspan(pos, 100)));
    return c;
  });
  auto received = flow::spawn_in(*s.process(1).process, [&] {
    auto c = flow::wait(accepted);
    return read_n(*c, sent.size());
  });
  REQUIRE(rt.run_until(received));
  CHECK(received.get() == sent);
}

TEST_CASE("sim network: a partition fails connects and writes with connection_failed") {
  flow::Runtime rt({.seed = 3});
  sim::Simulator s(rt, quiet_cluster());
  auto accepted = accept_one(s);
  const uint32_t a = s.process(0).address.ip;
  const uint32_t b = s.process(1).address.ip;
  auto result = flow::spawn_in(*s.process(0).process, [&] {
    auto c = flow::wait(flow::current_process().network().connect(s.process(1).address));
    s.network().partition(a, b, /*symmetric=*/false);  // one way: a can no longer reach b
    const uint8_t byte = 1;
    bool write_failed = false;
    try {
      flow::wait(c->write(std::span(&byte, 1)));
    } catch (const Error& e) {
      write_failed = e.code() == ErrorCode::connection_failed;
    }
    bool connect_failed = false;
    try {
      (void)flow::wait(flow::current_process().network().connect(s.process(1).address));
    } catch (const Error& e) {
      connect_failed = e.code() == ErrorCode::connection_failed;
    }
    return write_failed && connect_failed;
  });
  REQUIRE(rt.run_until(result));
  CHECK(result.get());
  // The server's end learns of the failure too.
  auto server_read = flow::spawn_in(*s.process(1).process, [&] {
    auto c = flow::wait(accepted);
    try {
      (void)read_n(*c, 1);
      return false;
    } catch (const Error& e) {
      return e.code() == ErrorCode::connection_failed;
    }
  });
  REQUIRE(rt.run_until(server_read));
  CHECK(server_read.get());
}

TEST_CASE("sim network: clogging delays delivery by the clogged amount") {
  flow::Runtime rt({.seed = 5});
  sim::Simulator s(rt, quiet_cluster());
  auto accepted = accept_one(s);
  flow::Time sent_at{};
  auto client = flow::spawn_in(*s.process(0).process, [&] {
    auto c = flow::wait(flow::current_process().network().connect(s.process(1).address));
    s.network().clog_send(s.process(0).address.ip, 1s);
    sent_at = flow::now();
    const uint8_t byte = 42;
    flow::wait(c->write(std::span(&byte, 1)));
    flow::wait(flow::delay(2s));  // keeps the connection open
  });
  auto arrived_at = flow::spawn_in(*s.process(1).process, [&] {
    auto c = flow::wait(accepted);
    const auto bytes = read_n(*c, 1);
    CHECK(bytes[0] == 42);
    return flow::now();
  });
  REQUIRE(rt.run_until(arrived_at));
  const flow::Duration took = arrived_at.get() - sent_at;
  CHECK(took >= 1s);
  CHECK(took < 1s + 200us);
  // Without the clog, the same write takes one latency.
  s.network().heal();
}

TEST_CASE("sim network: heal releases what a clog held; it arrives within one latency") {
  flow::Runtime rt({.seed = 6});
  sim::Simulator s(rt, quiet_cluster());
  auto accepted = accept_one(s);
  flow::Time healed_at{};
  auto client = flow::spawn_in(*s.process(0).process, [&] {
    auto c = flow::wait(flow::current_process().network().connect(s.process(1).address));
    s.network().clog_pair(s.process(0).address.ip, s.process(1).address.ip, 100s);
    const std::vector<uint8_t> bytes = {1, 2, 3};
    flow::wait(c->write(std::span(bytes).first(1)));
    flow::wait(c->write(std::span(bytes).subspan(1)));
    flow::wait(flow::delay(1s));
    healed_at = flow::now();
    s.network().heal();
    flow::wait(flow::delay(10s));  // keeps the connection open
  });
  auto arrived = flow::spawn_in(*s.process(1).process, [&] {
    auto c = flow::wait(accepted);
    const auto bytes = read_n(*c, 3);
    CHECK(bytes == std::vector<uint8_t>{1, 2, 3});
    return flow::now();
  });
  REQUIRE(rt.run_until(arrived));
  CHECK(arrived.get() > healed_at);
  CHECK(arrived.get() <= healed_at + 200us);
}

TEST_CASE(
    "sim network: a killed process's peers get connection_failed; listen checks its address") {
  flow::Runtime rt({.seed = 9});
  sim::Simulator s(rt, quiet_cluster());
  auto accepted = accept_one(s);
  auto client = flow::spawn_in(*s.process(0).process, [&] {
    auto c = flow::wait(flow::current_process().network().connect(s.process(1).address));
    s.kill_process(s.process(1));
    try {
      (void)read_n(*c, 1);
      return false;
    } catch (const Error& e) {
      return e.code() == ErrorCode::connection_failed;
    }
  });
  REQUIRE(rt.run_until(client));
  CHECK(client.get());
  CHECK_THROWS_AS(s.process(0).network->listen(s.process(1).address), Error);
}
