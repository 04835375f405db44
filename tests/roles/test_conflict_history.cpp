// The resolver's conflict history: range edges, the newest write, forgetting old writes, and
// random operations checked against a plain list of every write.
#include <doctest/doctest.h>

#include <iterator>
#include <map>

#include <algorithm>
#include <string>
#include <vector>

#include "flow/deterministic_random.h"
#include "roles/resolver/conflict_history.h"

using roles::ConflictHistory;
using roles::Version;

TEST_CASE("conflict history: a range conflicts with a write that overlaps it, not one that touches") {
  ConflictHistory h;
  h.add_write("b", "d", 10);
  CHECK(h.newest_write("a", "b") == ConflictHistory::kNever);  // ends where the write begins
  CHECK(h.newest_write("d", "e") == ConflictHistory::kNever);  // begins where the write ends
  CHECK(h.newest_write("a", std::string("b\0", 2)) == 10);  // holds the write's first key
  CHECK(h.newest_write("c", "c\x01") == 10);
  CHECK(h.newest_write("a", "z") == 10);
  CHECK(h.newest_write(std::string("d\0", 2), "z") == ConflictHistory::kNever);
  CHECK(h.newest_write(std::string("c\xff\xff", 3), "d") == 10);  // the write's last keys
  h.check_invariants();
}

TEST_CASE("conflict history: the newest write over a range is the largest, wherever it is") {
  ConflictHistory h;
  h.add_write("a", "c", 5);
  h.add_write("m", "n", 7);
  h.add_write("x", "y", 9);
  CHECK(h.newest_write("a", "z") == 9);
  CHECK(h.newest_write("a", "x") == 7);
  CHECK(h.newest_write("b", "m") == 5);
  CHECK(h.newest_write("b", "m\x01") == 7);
  // A newer write over part of an older one splits it; the rest keeps the older version.
  h.add_write("b", "bb", 11);
  CHECK(h.newest_write("a", "b") == 5);
  CHECK(h.newest_write("bb", "c") == 5);
  CHECK(h.newest_write("ba", "bc") == 11);
  // One over many writes makes them one step.
  const size_t before = h.boundaries();
  h.add_write("", "zz", 12);
  CHECK(h.boundaries() < before);
  CHECK(h.newest_write("q", "r") == 12);
  CHECK(h.newest_write("zz", "zzz") == ConflictHistory::kNever);
  h.check_invariants();
}

TEST_CASE("conflict history: writes before oldest are merged away, newer ones stay exact") {
  ConflictHistory h;
  for (int i = 0; i < 1000; ++i) {
    const std::string k = "k" + std::to_string(100000 + i);
    h.add_write(k, k + "x", i);
  }
  const size_t all = h.boundaries();
  for (int round = 0; round < 100; ++round)
    h.forget_before(900);
  h.check_invariants();
  CHECK(h.boundaries() < all / 4);  // ~900 old writes merged
  CHECK(h.newest_write("k100950", "k100950y") == 950);
  CHECK(h.newest_write("k100000", "k100899z") < 900);  // below oldest: no conflict for a read at 900
  CHECK(h.oldest() == 900);
}

TEST_CASE("conflict history: an old step beside a newer one is not merged into it") {
  // Merging "b" (written at 1) into "a" (written at 10) would make a read of [b, c) at 5 see a
  // write at 10 that never touched it.
  ConflictHistory h;
  h.add_write("b", "c", 1);
  h.add_write("a", "b", 10);
  h.forget_before(5);
  h.check_invariants();
  CHECK(h.newest_write("b", "c") < 5);
  CHECK(h.newest_write("a", "b") == 10);
  CHECK(h.newest_write("c", "d") < 5);
}

TEST_CASE("conflict history: random writes, reads and forgetting agree with every write listed") {
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    INFO("seed " << seed);
    flow::DeterministicRandom rng(seed);
    ConflictHistory h;
    struct Write {
      std::string begin, end;
      Version version;
    };
    std::vector<Write> writes;
    // Short keys over three letters: ranges share edges all the time.
    const auto key = [&rng] {
      std::string k;
      for (int64_t n = rng.random_int(0, 4); n > 0; --n)
        k.push_back("abc"[rng.random_int(0, 3)]);
      return k;
    };
    const auto range = [&] {
      std::string b = key(), e = key();
      while (b == e) e = key();
      if (e < b) std::swap(b, e);
      return std::pair{b, e};
    };
    Version version = 0;
    for (int step = 0; step < 600; ++step) {
      CAPTURE(step);
      const int64_t what = rng.random_int(0, 10);
      if (what < 4) {
        version += rng.random_int(0, 3);
        auto [b, e] = range();
        h.add_write(b, e, version);
        writes.push_back({b, e, version});
      } else if (what < 9) {
        auto [b, e] = range();
        Version expected = ConflictHistory::kNever;
        for (const Write& w : writes)
          if (w.begin < e && b < w.end) expected = std::max(expected, w.version);
        const Version got = h.newest_write(b, e);
        if (expected >= h.oldest()) {
          CHECK(got == expected);
        } else {
          CHECK(got < h.oldest());
        }
      } else {
        h.forget_before(version - rng.random_int(0, 20), static_cast<size_t>(rng.random_int(1, 50)));
      }
      if (step % 50 == 0) h.check_invariants();
    }
    h.check_invariants();
  }
}

TEST_CASE("conflict history: tens of thousands of boundaries (searches start from the express array, one at a time and interleaved) agree with a step map") {
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    INFO("seed " << seed);
    flow::DeterministicRandom rng(seed);
    ConflictHistory h;
    std::map<std::string, Version> steps{{"", ConflictHistory::kNever}};  // the model
    const auto model = [&steps](const std::string& b, const std::string& e) {
      Version newest = ConflictHistory::kNever;
      for (auto it = std::prev(steps.upper_bound(b)); it != steps.end() && it->first < e; ++it)
        newest = std::max(newest, it->second);
      return newest;
    };
    const auto key = [&rng] {
      std::string k;
      for (int n = 0; n < 6; ++n) k.push_back("0123456789abcdef"[rng.random_int(0, 16)]);
      return k;
    };
    Version version = 0;
    for (int step = 0; step < 60'000; ++step) {
      const int64_t shape = rng.random_int(0, 1000);
      std::string b = key();
      // Mostly points and short ranges (the boundaries pile up); now and then a wide one.
      std::string e = shape == 0 ? key() : shape < 200 ? b + key() : b + '\0';
      if (b == e) continue;
      if (e < b) std::swap(b, e);
      if (rng.random_int(0, 2) == 0) {
        version += rng.random_int(0, 3);
        h.add_write(b, e, version);
        const Version after = std::prev(steps.upper_bound(e))->second;
        steps.erase(steps.lower_bound(b), steps.lower_bound(e));
        steps[b] = version;
        steps.emplace(e, after);
      } else {
        const Version expected = model(b, e);
        const Version got = h.newest_write(b, e);
        if (expected >= h.oldest()) {
          REQUIRE(got == expected);
        } else {
          REQUIRE(got < h.oldest());
        }
      }
      if (step % 100 == 0) h.forget_before(version - 20'000, 64);
      if (step % 20'000 == 0) h.check_invariants();
      if (step % 500 == 0) {
        // Interleaved searches: fewer and more than run at once, some ranges empty or inverted,
        // each answering what a search of its own does.
        std::vector<std::string> keys;
        std::vector<ConflictHistory::Range> ranges(static_cast<size_t>(rng.random_int(0, 60)));
        keys.reserve(2 * ranges.size());
        for (auto& r : ranges) {
          keys.push_back(key());
          const int64_t kind = rng.random_int(0, 10);
          keys.push_back(kind == 0 ? keys.back() : kind < 3 ? key() : keys.back() + key());
          r = {keys[keys.size() - 2], keys.back()};
        }
        std::vector<Version> got(ranges.size(), 12345);
        h.newest_writes(ranges, got);
        for (size_t i = 0; i < ranges.size(); ++i) {
          CAPTURE(i);
          const bool empty = !(ranges[i].begin < ranges[i].end);
          REQUIRE(got[i] == (empty ? ConflictHistory::kNever
                                   : h.newest_write(ranges[i].begin, ranges[i].end)));
        }
      }
    }
    h.check_invariants();
    CHECK(h.boundaries() > 5'000);  // enough for nodes of more than eight levels
  }
}
