// The storage server role in a quiet simulated cluster, beside a log the test commits to
// directly: reads at a version see exactly that version (waiting for one not reached yet, a
// bounded while), atomic operations apply against the value before, keys it does not own are
// refused, key selectors run to the shard's edge and say how far is left, old versions become
// durable and too old to read, and a rebooted server recovers from its engine and catches up
// from the log.
#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "flow/flow.h"
#include "roles/storage_server/storage_server_interface.h"
#include "roles/tlog/log_system.h"
#include "roles/tlog/tlog_interface.h"
#include "tests/roles/storage_cluster.h"

using namespace std::chrono_literals;
using roles::MutationType;
using roles::StorageServerInterface;
using roles::TLogInterface;
using roles::Version;
using roles_testing::outcome;
using roles_testing::range_at;
using roles_testing::set;
using roles_testing::value_at;
using Cluster = roles_testing::StorageCluster;
namespace wt = strata::wire::tlog;
namespace ws = strata::wire::storage;
namespace ww = strata::wire;

namespace {

ws::GetValueRequestT get(const std::string& key, Version v) {
  ws::GetValueRequestT r;
  r.key.assign(key.begin(), key.end());
  r.version = v;
  return r;
}

// The key selector (key, or_equal, offset) at `v`: "key" if resolved, else "key+offset" to go on.
std::string select(const StorageServerInterface& ss, const std::string& key, bool or_equal,
                   int offset, Version v) {
  ws::GetKeyRequestT r;
  r.selector = std::make_unique<ws::KeySelectorT>();
  r.selector->key.assign(key.begin(), key.end());
  r.selector->or_equal = or_equal;
  r.selector->offset = offset;
  r.version = v;
  auto f = ss.get_key.get_reply(r);
  const flow::ErrorCode code = outcome(f);
  if (code != flow::ErrorCode::success) return "error:" + std::string(flow::Error(code).name());
  const auto& reply = f.get();
  std::string k(reply.key.begin(), reply.key.end());
  return reply.resolved ? k : k + std::to_string(reply.offset);
}

}  // namespace

TEST_CASE("storage server: a read at a version sees exactly that version") {
  Cluster c(1);
  c.client([&c] {
    c.commit(100, {set("c", "1"), set("d", "1")});
    c.commit(200, {set("c", "2"), {MutationType::kClearRange, "d", "e"}});
    c.commit(300, {{MutationType::kClearRange, "a", "z"}, set("e", "3")});
    CHECK(value_at(c.ss, "c", 100) == "1");
    CHECK(value_at(c.ss, "c", 150) == "1");
    CHECK(value_at(c.ss, "c", 200) == "2");
    CHECK(value_at(c.ss, "c", 300) == "-");
    CHECK(value_at(c.ss, "d", 100) == "1");
    CHECK(value_at(c.ss, "d", 200) == "-");
    CHECK(value_at(c.ss, "e", 300) == "3");
    CHECK(range_at(c.ss, "b", "m", 100) == "c=1,d=1,");
    CHECK(range_at(c.ss, "b", "m", 200) == "c=2,");
    CHECK(range_at(c.ss, "b", "m", 100, 1, true) == "d=1,more");
    CHECK(range_at(c.ss, "b", "m", 300) == "e=3,");
    return 0;
  });
}

TEST_CASE("storage server: a version not reached yet is waited for, then future_version") {
  Cluster c(2);
  c.client([&c] {
    c.commit(100, {set("c", "1")});
    auto later = c.ss.get_value.get_reply(get("c", 200));
    flow::wait(flow::delay(200ms));
    CHECK(!later.is_ready());
    c.commit(200, {set("c", "2")});
    const auto reply = flow::wait(later);
    CHECK(std::string(reply.value.begin(), reply.value.end()) == "2");
    CHECK(value_at(c.ss, "c", 5000) == "error:future_version");
    return 0;
  });
}

TEST_CASE("storage server: atomic operations apply against the value at the version before") {
  Cluster c(3);
  c.client([&c] {
    const std::string one("\x01\0\0\0", 4);
    c.commit(100, {{MutationType::kAdd, "c", one}, {MutationType::kAdd, "c", one}});
    c.commit(200, {{MutationType::kAdd, "c", one}, {MutationType::kAppendIfFits, "d", "xy"}});
    CHECK(value_at(c.ss, "c", 100) == std::string("\x02\0\0\0", 4));
    CHECK(value_at(c.ss, "c", 200) == std::string("\x03\0\0\0", 4));
    CHECK(value_at(c.ss, "d", 200) == "xy");
    c.commit(300, {{MutationType::kCompareAndClear, "d", "xy"}});
    CHECK(value_at(c.ss, "d", 300) == "-");
    return 0;
  });
}

TEST_CASE("storage server: keys it does not own are refused; bad requests get named errors") {
  Cluster c(4);
  c.client([&c] {
    c.commit(100, {set("c", "1")});
    CHECK(value_at(c.ss, "a", 100) == "error:wrong_shard_server");
    CHECK(value_at(c.ss, "m", 100) == "error:wrong_shard_server");
    CHECK(value_at(c.ss, std::string("\xff\xff/ss/format"), 100) == "error:wrong_shard_server");
    CHECK(range_at(c.ss, "c", "n", 100) == "error:wrong_shard_server");
    CHECK(range_at(c.ss, "d", "c", 100) == "error:inverted_range");
    CHECK(range_at(c.ss, "c", "d", 100, 0) == "error:client_invalid_operation");
    return 0;
  });
}

TEST_CASE("storage server: key selectors resolve in the shard or say how far is left") {
  Cluster c(5);
  c.client([&c] {
    c.commit(100, {set("c", ""), set("e", ""), set("g", "")});
    CHECK(select(c.ss, "d", false, 1, 100) == "e");  // first greater or equal
    CHECK(select(c.ss, "e", false, 1, 100) == "e");
    CHECK(select(c.ss, "e", true, 1, 100) == "g");   // first greater than
    CHECK(select(c.ss, "e", true, 0, 100) == "e");   // last less or equal
    CHECK(select(c.ss, "e", false, 0, 100) == "c");  // last less than
    CHECK(select(c.ss, "c", false, 2, 100) == "e");
    CHECK(select(c.ss, "c", false, 5, 100) == "m2");   // three keys here; two more past m
    // Offset 0 is e, -1 is c, -2 lies before the shard: the last key before b.
    CHECK(select(c.ss, "g", false, -2, 100) == "b0");
    CHECK(select(c.ss, "a", false, 1, 100) == "error:wrong_shard_server");
    return 0;
  });
}

TEST_CASE("storage server: old versions become durable and too old; a reboot recovers and catches up") {
  std::string engine;
  SUBCASE("memory") { engine = "memory"; }
  SUBCASE("ssd") { engine = "ssd"; }
  Cluster c(6, engine);
  c.client([&c] {
    Version v = 0;
    for (int i = 1; i <= 40; ++i) {
      v += 250'000;  // a quarter of a second's versions each
      c.commit(v, {set("c", std::to_string(i)), set("k" + std::to_string(i % 5), std::to_string(i))});
      flow::wait(flow::delay(250ms));
    }
    // Versions older than the window (five seconds' worth) have become durable.
    CHECK(value_at(c.ss, "c", 250'000) == "error:transaction_too_old");
    CHECK(value_at(c.ss, "c", v) == "40");
    return 0;
  });
  c.sim.kill_process(c.sim.process(2));
  c.client([&c] {
    // Committed while the server is down: it catches up from the log.
    c.commit(c.last + 100, {set("c", "after")});
    return 0;
  });
  c.sim.reboot_process(c.sim.process(2));
  c.client([&c] {
    CHECK(value_at(c.ss, "c", c.last) == "after");
    CHECK(value_at(c.ss, "k0", c.last) == "40");
    CHECK(range_at(c.ss, "k", "l", c.last) == "k0=40,k1=36,k2=37,k3=38,k4=39,");
    return 0;
  });
}

TEST_CASE("storage server: a selector at a shard's edge is answered by the shard it points into") {
  // One server with two shards, [b, m) and [m, z): a selector about m is this server's either way.
  Cluster c(7, "memory", {{"b", "m"}, {"m", "z"}});
  c.client([&c] {
    c.commit(100, {set("c", "1"), set("m", "1"), set("n", "1")});
    CHECK(select(c.ss, "m", false, 0, 100) == "c");  // last less than m: in [b, m)
    CHECK(select(c.ss, "m", true, 0, 100) == "m");   // last less or equal: m itself
    CHECK(select(c.ss, "m", true, 1, 100) == "n");   // first greater than m
    CHECK(select(c.ss, "m", false, 1, 100) == "m");  // first greater or equal
    return 0;
  });
}

TEST_CASE("storage server: a selector whose answer may lie past its shard's end is not its to answer") {
  // A server with only [b, m): a selector whose answer may be m is another's.
  Cluster d(8);
  d.client([&d] {
    d.commit(100, {set("c", "1")});
    CHECK(select(d.ss, "m", true, 0, 100) == "error:wrong_shard_server");
    CHECK(select(d.ss, "m", true, 1, 100) == "error:wrong_shard_server");
    CHECK(select(d.ss, "m", false, 1, 100) == "m1");  // nothing at or after m here: go on at m
    CHECK(select(d.ss, "m", false, 0, 100) == "c");
    return 0;
  });
}

TEST_CASE("storage server: reads answered while an atomic operation waits on the engine see the version before") {
  // An atomic operation on a key only the engine holds reads the engine mid-version; reads served
  // meanwhile must not see the half-applied version. (WriteDuringRead's sweep found the server's
  // invariants tripping when that engine read waited, behind a flush's commit: the invariant now
  // allows the data to be ahead of the readable version mid-version. This test does not force
  // that wait; the sweeps do.)
  storage::KeyValueStoreOptions small_cache;
  small_cache.cache_kib = 1;  // the engine reads its pages from the file
  Cluster c(11, "ssd", {{"b", "m"}}, small_cache);
  c.client([&c] {
    const std::string one("\x01\0\0\0\0\0\0\0", 8);
    Version v = 0;
    for (int i = 1; i <= 30; ++i) {
      v += 250'000;
      std::vector<roles::Mutation> ms;
      for (int k = 0; k < 20; ++k) ms.push_back(set("k" + std::to_string(k) + "/" + std::to_string(i), std::string(200, 'v')));
      c.commit(v, std::move(ms));
      flow::wait(flow::delay(250ms));
    }
    c.commit(v + 100, {set("c", one)});
    for (int i = 0; i < 25; ++i) {
      v = c.last + 250'000;
      c.commit(v, {});
      flow::wait(flow::delay(250ms));
    }
    // "c" is durable in the engine alone now. A version sets "d" and then adds to "c" (reading
    // the engine); reads at the version before run all the while.
    const Version before = c.last;
    std::vector<flow::Future<std::string>> reads;
    for (int i = 0; i < 40; ++i)
      reads.push_back(flow::spawn([&c, before, i] {
        flow::wait(flow::delay(std::chrono::microseconds(50 * i)));
        return value_at(c.ss, "d", before) + value_at(c.ss, "c", before).substr(0, 1);
      }));
    c.commit(before + 100, {set("d", "x"), {MutationType::kAdd, "c", one}, set("e", "y")});
    for (auto& r : reads) CHECK(flow::wait(r) == std::string("-\x01", 2));
    CHECK(value_at(c.ss, "c", c.last) == std::string("\x02\0\0\0\0\0\0\0", 8));
    CHECK(value_at(c.ss, "d", c.last) == "x");
    return 0;
  });
}

TEST_CASE("storage server: a log system that is not whole or not valid is refused with invalid_role_request and changes nothing") {
  Cluster c(9);
  c.client([&c] {
    c.commit(100, {set("c", "1")});
    const auto asked = [&c](std::unique_ptr<wt::LogSystemT> system) {
      ws::SetLogSystemRequestT r;
      r.log_system = std::move(system);
      return outcome(c.ss.set_log_system.get_reply(r));
    };
    const auto generation = [&c](uint64_t epoch, Version end, bool with_log) {
      auto g = std::make_unique<wt::LogGenerationT>();
      g->epoch = epoch;
      g->end_version = end;
      if (with_log) g->logs.push_back(std::make_unique<wt::TLogInterfaceT>(roles::to_wire(c.log)));
      return g;
    };
    CHECK(asked(nullptr) == flow::ErrorCode::invalid_role_request);
    CHECK(asked(std::make_unique<wt::LogSystemT>()) == flow::ErrorCode::invalid_role_request);  // no generation
    {
      auto s = std::make_unique<wt::LogSystemT>();
      s->generations.push_back(generation(2, 50, true));  // the last must end at the largest version
      CHECK(asked(std::move(s)) == flow::ErrorCode::invalid_role_request);
    }
    {
      auto s = std::make_unique<wt::LogSystemT>();
      s->generations.push_back(generation(3, 50, true));
      s->generations.push_back(generation(2, roles::kVersionMax, true));  // epochs must rise
      CHECK(asked(std::move(s)) == flow::ErrorCode::invalid_role_request);
    }
    {
      auto s = std::make_unique<wt::LogSystemT>();
      s->generations.push_back(generation(2, roles::kVersionMax, false));  // a generation without logs
      CHECK(asked(std::move(s)) == flow::ErrorCode::invalid_role_request);
    }
    {
      auto s = std::make_unique<wt::LogSystemT>();
      s->generations.push_back(generation(2, roles::kVersionMax, true));
      s->generations.back()->logs.back()->commit.reset();  // a log's endpoint missing
      CHECK(asked(std::move(s)) == flow::ErrorCode::invalid_role_request);
    }
    // Still serving from its first log system.
    c.commit(200, {set("d", "2")});
    CHECK(value_at(c.ss, "c", 200) == "1");
    CHECK(value_at(c.ss, "d", 200) == "2");
    return 0;
  });
}
