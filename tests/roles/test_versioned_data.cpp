// VersionedData and the reads at a version over an engine: checked against a model that keeps
// the whole database at every version, with flushes (the engine takes the oldest versions) at
// random moments, reads in the middle of a flush included.
#include <doctest/doctest.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "flow/deterministic_random.h"
#include "roles/storage_server/read_at_version.h"
#include "roles/storage_server/versioned_data.h"
#include "tests/storage/reference_key_value_store.h"

using roles::Version;
using roles::VersionedData;
using Map = std::map<std::string, std::string>;

namespace {

std::string key_at(int i) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "k%03d", i);
  return buf;
}

// Keys from 200, so that the engine holds more rows than one chunk of a range read.
std::string key_of(flow::DeterministicRandom& rng) {
  return key_at(static_cast<int>(rng.random_int(0, 200)));
}

storage::RangeResult model_range(const Map& m, const std::string& b, const std::string& e,
                                 storage::RangeLimits limits) {
  storage::RangeResult r;
  if (!(b < e) || limits.rows <= 0) return r;
  std::vector<storage::KeyValue> all;
  for (auto it = m.lower_bound(b); it != m.end() && it->first < e; ++it)
    all.push_back({it->first, it->second});
  if (limits.reverse) std::reverse(all.begin(), all.end());
  int64_t bytes = 0;
  for (const auto& kv : all) {
    if (static_cast<int64_t>(r.rows.size()) >= limits.rows || bytes >= limits.bytes) {
      r.more = true;
      break;
    }
    bytes += static_cast<int64_t>(kv.key.size() + kv.value.size());
    r.rows.push_back(kv);
  }
  return r;
}

}  // namespace

TEST_CASE("versioned data: lookups follow the order of mutations within a version") {
  VersionedData d(10);
  d.set(11, "a", "1");
  d.clear(11, "a", "b");
  d.clear(12, "c", "d");
  d.set(12, "c", "3");
  CHECK(d.lookup("a", 10).kind == VersionedData::Kind::kEngine);
  CHECK(d.lookup("a", 11).kind == VersionedData::Kind::kAbsent);
  CHECK(d.lookup("c", 11).kind == VersionedData::Kind::kEngine);
  CHECK(d.lookup("c", 12).kind == VersionedData::Kind::kValue);
  CHECK(d.lookup("c", 12).value == "3");
  d.check_invariants();
  d.forget_through(11);
  CHECK(d.lookup("a", 12).kind == VersionedData::Kind::kEngine);  // the engine has the clear now
  CHECK(d.mutations_through(12).size() == 2);
  d.check_invariants();
}

TEST_CASE("versioned data: reads at every version in the window match the model, across flushes and rollbacks") {
  const uint64_t seed = 0x5eed0001;
  std::printf("versioned data model test: seed %llu\n", static_cast<unsigned long long>(seed));
  for (uint64_t run = 0; run < 20; ++run) {
    flow::DeterministicRandom rng(seed + run);
    storage_testing::ReferenceDisk disk;
    storage_testing::ReferenceKeyValueStore engine(disk, "e", {});
    VersionedData data(0);
    std::map<Version, Map> history{{0, {}}};
    Map now;
    Version v = 0;
    for (int step = 0; step < 400; ++step) {
      v += rng.random_int(1, 4);
      const int n = static_cast<int>(rng.random_int(0, 4));
      for (int i = 0; i < n; ++i) {
        if (rng.random_int(0, 8) == 0) {
          // Mostly narrow clears, now and then a wide one.
          const int first = static_cast<int>(rng.random_int(0, 200));
          const int span = static_cast<int>(rng.coinflip() ? rng.random_int(0, 10) : rng.random_int(0, 200));
          const std::string b = key_at(first), e = key_at(first + span);
          data.clear(v, b, e);
          now.erase(now.lower_bound(b), now.lower_bound(e));
        } else {
          const std::string k = key_of(rng);
          const std::string val = std::to_string(v) + "." + std::to_string(i);
          data.set(v, k, val);
          now[k] = val;
        }
      }
      data.advance(v);
      history[v] = now;
      // Now and then the oldest versions go to the engine; reads may happen half way.
      const bool flushing = rng.random_int(0, 10) == 0;
      Version flushed = data.durable();
      if (flushing) {
        flushed = rng.random_int(data.durable(), v + 1);
        for (const auto& m : data.mutations_through(flushed)) {
          if (m.mutation.type == roles::MutationType::kSet) engine.set(m.mutation.param1, m.mutation.param2);
          else engine.clear(m.mutation.param1, m.mutation.param2);
        }
      }
      for (int q = 0; q < 3; ++q) {
        // Reads at versions at or above what the engine holds (mid-flush: what it is taking).
        const Version at = rng.random_int(flushed, v + 1);
        const Map& model = std::prev(history.upper_bound(at))->second;
        const std::string k = key_of(rng);
        const auto got = roles::read_value_at(engine, data, k, at);
        const auto want = model.find(k);
        INFO("seed " << seed + run << " step " << step << " key " << k << " at " << at);
        CHECK(got == (want == model.end() ? std::nullopt : std::optional(want->second)));
        std::string b = key_of(rng), e = key_of(rng);
        if (e < b) std::swap(b, e);
        storage::RangeLimits limits{.rows = rng.coinflip() ? rng.random_int(1, 12) : rng.random_int(12, 150),
                                    .bytes = rng.coinflip() ? INT64_MAX : rng.random_int(1, 60),
                                    .reverse = rng.coinflip()};
        const auto r = roles::read_range_at(engine, data, b, e, at, limits);
        const auto m = model_range(model, b, e, limits);
        INFO("range [" << b << ", " << e << ") rows " << limits.rows << " bytes " << limits.bytes
                       << " reverse " << limits.reverse);
        CHECK(r.rows == m.rows);
        CHECK(r.more == m.more);
      }
      if (flushing) {
        data.forget_through(flushed);
        for (auto it = history.begin(); it != history.end() && std::next(it) != history.end() &&
                                         std::next(it)->first <= flushed;)
          it = history.erase(it);
      }
      if (rng.random_int(0, 25) == 0) {
        // A recovery rolls back to a version at or above what the engine holds: the versions
        // after it are forgotten, and what follows builds on the state at it.
        const Version to = rng.random_int(data.durable(), v + 1);
        data.rollback(to);
        CHECK(data.latest() == to);
        history.erase(history.upper_bound(to), history.end());
        now = std::prev(history.upper_bound(to))->second;
        history[to] = now;
        v = to;
      }
      data.check_invariants();
    }
  }
}

TEST_CASE("versioned data: step_towards takes whole versions, about `most` mutations, and the limit when all fit") {
  VersionedData d(10);
  // Version 11: 3 sets; 12: none; 13: 2 sets and a clear; 15: 1 set.
  d.set(11, "a", "1");
  d.set(11, "b", "1");
  d.set(11, "c", "1");
  d.advance(12);
  d.set(13, "a", "2");
  d.set(13, "d", "2");
  d.clear(13, "x", "y");
  d.set(15, "e", "3");
  d.advance(20);
  CHECK(d.step_towards(20, 100) == 20);  // every mutation fits: the limit itself
  CHECK(d.step_towards(14, 100) == 14);
  CHECK(d.step_towards(20, 3) == 11);    // 11's three; 13's would pass the bound
  CHECK(d.step_towards(20, 6) == 13);    // 11 and 13: six
  CHECK(d.step_towards(20, 1) == 11);    // the oldest version goes whole, past the bound
  CHECK(d.step_towards(12, 1) == 12);    // 11 whole, and 12 holds nothing: up to the limit
  CHECK(d.step_towards(10, 5) == 10);    // nothing to take
  // Stepping until the limit makes the same versions durable as one step would.
  const auto all = d.mutations_through(20);
  std::vector<roles::VersionedMutation> stepped;
  while (d.durable() < 20) {
    const Version to = d.step_towards(20, 2);
    REQUIRE(to > d.durable());
    for (const auto& m : d.mutations_through(to)) stepped.push_back(m);
    d.forget_through(to);
    d.check_invariants();
  }
  REQUIRE(stepped.size() == all.size());
  for (size_t i = 0; i < all.size(); ++i) {
    CHECK(stepped[i].version == all[i].version);
    CHECK(stepped[i].mutation.param1 == all[i].mutation.param1);
  }
}
