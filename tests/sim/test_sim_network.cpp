// The simulated network: order, partitions, clogging.
#include <doctest/doctest.h>

#include <set>

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
  // Every byte written counts once, however the writes were split on the way.
  CHECK(s.network().bytes_sent() == sent.size());
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

TEST_CASE("sim models: min == max is a fixed latency, not an empty range (issue 15, seed 7199)") {
  // The swarm draws max_latency = min_latency + U[0, 5000) us: min == max once in 5,000 seeds,
  // and every draw from such a model used to abort on `lo < hi`.
  sim::SwarmConfig c = quiet_cluster();
  c.network.min_latency = c.network.max_latency = 300us;
  c.disk.min_latency = c.disk.max_latency = 70us;
  c.disk.min_sync_latency = c.disk.max_sync_latency = 1ms;
  flow::Runtime rt({.seed = 7199});
  sim::Simulator s(rt, c);
  auto accepted = accept_one(s);
  flow::Time sent_at{};
  auto client = flow::spawn_in(*s.process(0).process, [&] {
    auto c2 = flow::wait(flow::current_process().network().connect(s.process(1).address));
    sent_at = flow::now();
    const uint8_t byte = 7;
    flow::wait(c2->write(std::span(&byte, 1)));
    flow::wait(flow::delay(1s));  // keeps the connection open
  });
  auto arrived_at = flow::spawn_in(*s.process(1).process, [&] {
    auto c2 = flow::wait(accepted);
    (void)read_n(*c2, 1);
    return flow::now();
  });
  REQUIRE(rt.run_until(arrived_at));
  CHECK(arrived_at.get() - sent_at >= 300us);
  auto synced = flow::spawn_in(*s.process(0).process, [] {
    auto f = flow::wait(
        flow::current_process().file_system().open("fixed", flow::OpenMode::kReadWriteCreate));
    const flow::Time start = flow::now();
    const std::vector<uint8_t> bytes(10, 1);
    flow::wait(f->write(bytes, 0));
    flow::wait(f->sync());
    return flow::now() - start;
  });
  REQUIRE(rt.run_until(synced));
  CHECK(synced.get() >= 70us + 1ms);
}

TEST_CASE("sim network: each packet draws its own latency, with a slow tail, and order is kept") {
  const uint64_t seed = 15;
  INFO("seed " << seed);
  sim::SwarmConfig c = quiet_cluster();
  c.network.slow_probability = 0.05;  // more of the tail than the default 0.1%, to see it
  flow::Runtime rt({.seed = seed});
  sim::Simulator s(rt, c);
  auto accepted = accept_one(s);
  constexpr int kMessages = 200;
  std::vector<flow::Time> sent_at;
  auto client = flow::spawn_in(*s.process(0).process, [&] {
    auto conn = flow::wait(flow::current_process().network().connect(s.process(1).address));
    for (int i = 0; i < kMessages; ++i) {
      const auto byte = static_cast<uint8_t>(i);
      sent_at.push_back(flow::now());
      flow::wait(conn->write(std::span(&byte, 1)));
      flow::wait(flow::delay(5ms));  // far apart: ordering never holds a message back
    }
    flow::wait(flow::delay(1s));
  });
  auto latencies = flow::spawn_in(*s.process(1).process, [&] {
    auto conn = flow::wait(accepted);
    std::vector<flow::Duration> out;
    for (int i = 0; i < kMessages; ++i) {
      const auto bytes = read_n(*conn, 1);
      CHECK(bytes[0] == static_cast<uint8_t>(i));  // in order
      out.push_back(flow::now() - sent_at[static_cast<size_t>(i)]);
    }
    return out;
  });
  REQUIRE(rt.run_until(latencies));
  std::set<int64_t> distinct;
  int slow = 0;
  for (flow::Duration d : latencies.get()) {
    CHECK(d >= c.network.min_latency);
    CHECK(d <= c.network.max_latency * c.network.slow_factor);
    distinct.insert(d.count());
    if (d > c.network.max_latency) ++slow;
  }
  CHECK(distinct.size() > kMessages / 2);  // one fixed value per pair was the bug
  CHECK(slow > 0);                         // the slow tail
  CHECK(slow < kMessages / 4);             // and only a tail
}

TEST_CASE("sim network: back-to-back writes never overtake each other despite per-packet draws") {
  flow::Runtime rt({.seed = 16});
  sim::Simulator s(rt, quiet_cluster());
  auto accepted = accept_one(s);
  std::vector<uint8_t> sent;
  for (int i = 0; i < 3000; ++i)
    sent.push_back(static_cast<uint8_t>(i * 13));
  auto client = flow::spawn_in(*s.process(0).process, [&] {
    auto conn = flow::wait(flow::current_process().network().connect(s.process(1).address));
    for (size_t pos = 0; pos < sent.size(); pos += 3)
      flow::wait(conn->write(std::span(sent).subspan(pos, 3)));
    flow::wait(flow::delay(1s));
  });
  auto received = flow::spawn_in(*s.process(1).process, [&] {
    auto conn = flow::wait(accepted);
    return read_n(*conn, sent.size());
  });
  REQUIRE(rt.run_until(received));
  CHECK(received.get() == sent);
}

TEST_CASE("sim network: a silent partition holds bytes with no error; its end delivers them") {
  flow::Runtime rt({.seed = 17});
  sim::Simulator s(rt, quiet_cluster());
  auto accepted = accept_one(s);
  const uint32_t a = s.process(0).address.ip;
  const uint32_t b = s.process(1).address.ip;
  flow::Time unpartitioned_at{};
  bool write_ok = false;
  bool connect_failed_late = false;
  auto client = flow::spawn_in(*s.process(0).process, [&] {
    auto conn = flow::wait(flow::current_process().network().connect(s.process(1).address));
    s.network().partition(a, b, /*symmetric=*/true, sim::PartitionKind::kSilent);
    const std::vector<uint8_t> bytes = {1, 2, 3};
    flow::wait(conn->write(std::span(bytes).first(1)));  // no error: nothing says it is lost
    flow::wait(conn->write(std::span(bytes).subspan(1)));
    write_ok = true;
    // A connect gets no answer: it fails only after the connect timeout.
    const flow::Time start = flow::now();
    try {
      (void)flow::wait(flow::current_process().network().connect(s.process(1).address));
    } catch (const Error& e) {
      connect_failed_late = e.code() == ErrorCode::connection_failed &&
                            flow::now() - start >= s.network().model().connect_timeout;
    }
    unpartitioned_at = flow::now();
    s.network().unpartition(a, b, /*symmetric=*/true);
    flow::wait(flow::delay(10s));  // keeps the connection open
  });
  auto arrived = flow::spawn_in(*s.process(1).process, [&] {
    auto conn = flow::wait(accepted);
    const auto bytes = read_n(*conn, 3);
    CHECK(bytes == std::vector<uint8_t>{1, 2, 3});
    return flow::now();
  });
  REQUIRE(rt.run_until(arrived));
  CHECK(write_ok);
  CHECK(connect_failed_late);
  CHECK(arrived.get() > unpartitioned_at);  // held while the cut lasted
  CHECK(arrived.get() <= unpartitioned_at + 200us * 10);
}

TEST_CASE("sim network: heal ends a silent partition, and a close it held arrives after the bytes") {
  flow::Runtime rt({.seed = 18});
  sim::Simulator s(rt, quiet_cluster());
  auto accepted = accept_one(s);
  const uint32_t a = s.process(0).address.ip;
  const uint32_t b = s.process(1).address.ip;
  flow::Time healed_at{};
  auto client = flow::spawn_in(*s.process(0).process, [&] {
    auto conn = flow::wait(flow::current_process().network().connect(s.process(1).address));
    s.network().partition(a, b, /*symmetric=*/false, sim::PartitionKind::kSilent);
    const uint8_t byte = 9;
    flow::wait(conn->write(std::span(&byte, 1)));
    conn->close();  // the close is held too
    flow::wait(flow::delay(3s));
    healed_at = flow::now();
    s.network().heal();
  });
  auto server = flow::spawn_in(*s.process(1).process, [&] {
    auto conn = flow::wait(accepted);
    const auto bytes = read_n(*conn, 1);
    CHECK(bytes[0] == 9);
    const flow::Time got_byte = flow::now();
    try {
      (void)read_n(*conn, 1);
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::connection_failed);
    }
    return got_byte;
  });
  REQUIRE(rt.run_until(server));
  CHECK(server.get() > healed_at);
}

TEST_CASE("simulator: machineCount is exact, spread over the datacenters (10 in 3 is 4+3+3)") {
  flow::Runtime rt({.seed = 19});
  sim::SwarmConfig c = quiet_cluster();
  c.datacenters = 3;
  c.machines = 10;
  sim::Simulator s(rt, c);
  REQUIRE(s.machine_count() == 10);
  int per_dc[3] = {0, 0, 0};
  for (size_t i = 0; i < s.machine_count(); ++i)
    ++per_dc[s.machine(i).datacenter];
  CHECK(per_dc[0] == 4);
  CHECK(per_dc[1] == 3);
  CHECK(per_dc[2] == 3);
}

TEST_CASE("simulator: reboot_all_dead brings back lone killed processes too; describe names them") {
  flow::Runtime rt({.seed = 20});
  sim::SwarmConfig c = quiet_cluster();
  c.processes_per_machine = 2;
  sim::Simulator s(rt, c);
  int starts = 0;
  s.add_role(s.process(1), "counter", [&starts] {
    ++starts;
    flow::wait(flow::never<flow::Void>());
  });
  s.kill_process(s.process(1));             // killed alone; its machine stays up
  s.kill_machine(*s.process(2).machine);    // and a whole machine
  const std::string dead = s.describe_process(s.process(1).address);
  CHECK(dead.find("dead") != std::string::npos);
  CHECK(dead.find("counter not running") != std::string::npos);
  s.reboot_all_dead();
  CHECK(s.process(1).alive);
  CHECK(s.process(2).alive);
  CHECK(starts == 2);
  const std::string alive = s.describe_process(s.process(1).address);
  CHECK(alive.find("alive") != std::string::npos);
  CHECK(alive.find("counter running") != std::string::npos);
}

TEST_CASE("sim network: it keeps when faults were ended early, whoever ended them (RandomClogging checks by it)") {
  flow::Runtime rt({.seed = 18});
  sim::Simulator s(rt, quiet_cluster());
  const uint32_t a = s.process(0).address.ip;
  const uint32_t b = s.process(1).address.ip;
  auto& net = s.network();
  auto done = flow::spawn_in(*s.process(0).process, [&] {
    CHECK(net.cut_released_at(a, b) == flow::kTimeZero);
    CHECK(net.clog_released_at(a) == flow::kTimeZero);
    flow::wait(flow::delay(1s));
    // One cut, then another of the pair (as a second workload would): ending either ends both.
    net.partition(a, b, /*symmetric=*/false, sim::PartitionKind::kSilent);
    net.partition(a, b, /*symmetric=*/true, sim::PartitionKind::kReset);
    flow::wait(flow::delay(1s));
    const flow::Time ended = flow::now();
    net.unpartition(a, b, /*symmetric=*/true);
    CHECK(net.cut_released_at(a, b) == ended);
    CHECK(net.cut_released_at(b, a) == ended);
    CHECK(net.clog_released_at(a) == flow::kTimeZero);  // a cut's end is no clog's
    flow::wait(flow::delay(1s));
    net.clog_send(b, 10s);
    net.unclog(b);
    CHECK(net.clog_released_at(b) == flow::now());
    CHECK(net.cut_released_at(a, b) == ended);
    flow::wait(flow::delay(1s));
    net.heal();
    CHECK(net.cut_released_at(a, b) == flow::now());
    CHECK(net.clog_released_at(a) == flow::now());
    return 0;
  });
  REQUIRE(rt.run_until(done));
}
