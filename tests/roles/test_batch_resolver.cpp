// The resolver's decisions for commit batches: conflicts at range edges, the window's edge, order
// within a batch, reported conflicting reads, and random batches checked against a plain list of
// every committed write.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "flow/deterministic_random.h"
#include "roles/resolver/batch_resolver.h"

using roles::BatchResolver;
using roles::KeyRange;
using roles::TransactionConflictRanges;
using roles::Verdict;
using roles::Version;

namespace {

TransactionConflictRanges txn(Version read_version, std::vector<KeyRange> reads,
                              std::vector<KeyRange> writes, bool report = false) {
  return {read_version, std::move(reads), std::move(writes), report};
}

Verdict one(BatchResolver& r, Version version, const TransactionConflictRanges& t) {
  return r.resolve(version, std::vector{t}).verdicts.at(0);
}

}  // namespace

TEST_CASE("resolver: a read conflicts with a later write inside it, not one beside it") {
  BatchResolver r;
  CHECK(one(r, 100, txn(50, {}, {{"b", "d"}})) == Verdict::kCommitted);
  CHECK(one(r, 200, txn(99, {{"a", "b"}}, {})) == Verdict::kCommitted);    // ends at the write
  CHECK(one(r, 300, txn(99, {{"d", "e"}}, {})) == Verdict::kCommitted);    // starts at its end
  CHECK(one(r, 400, txn(99, {{"a", "b\x01"}}, {})) == Verdict::kConflict);  // holds "b"
  CHECK(one(r, 500, txn(100, {{"a", "z"}}, {})) == Verdict::kCommitted);   // read after it
  CHECK(one(r, 600, txn(99, {{"c", "c"}}, {})) == Verdict::kCommitted);    // an empty range
}

TEST_CASE("resolver: a read exactly at the window's edge is checked; one version older is too old") {
  BatchResolver r(1000);
  CHECK(one(r, 5000, txn(4000, {{"a", "b"}}, {})) == Verdict::kCommitted);
  CHECK(one(r, 6000, txn(4999, {{"a", "b"}}, {})) == Verdict::kTooOld);
  CHECK(one(r, 7000, txn(6000, {{"a", "b"}}, {{"a", "b"}})) == Verdict::kCommitted);
  // Too old even with nothing written since; but a transaction that read nothing is never too old.
  CHECK(one(r, 9000, txn(1, {{"x", "y"}}, {})) == Verdict::kTooOld);
  CHECK(one(r, 9001, txn(1, {}, {{"x", "y"}})) == Verdict::kCommitted);
  CHECK(one(r, 9002, txn(8500, {{"x", "y"}}, {})) == Verdict::kConflict);  // the blind write
}

TEST_CASE("resolver: within a batch a transaction sees the writes of the clean ones before it") {
  BatchResolver r;
  // Writer first: the reader, at an older version, conflicts.
  auto v = r.resolve(100, std::vector{txn(10, {}, {{"k", "l"}}), txn(10, {{"k", "l"}}, {})});
  CHECK(v.verdicts == std::vector{Verdict::kCommitted, Verdict::kConflict});
  // Reader first: both commit (the reader is serialized before the writer).
  v = r.resolve(200, std::vector{txn(150, {{"m", "n"}}, {}), txn(150, {}, {{"m", "n"}})});
  CHECK(v.verdicts == std::vector{Verdict::kCommitted, Verdict::kCommitted});
  // A transaction that conflicts writes nothing: the next one does not conflict with it.
  v = r.resolve(300, std::vector{txn(150, {{"m", "n"}}, {{"p", "q"}}), txn(250, {{"p", "q"}}, {})});
  CHECK(v.verdicts == std::vector{Verdict::kConflict, Verdict::kCommitted});
}

TEST_CASE("resolver: the read ranges that conflicted are reported when asked for") {
  BatchResolver r;
  r.resolve(100, std::vector{txn(0, {}, {{"b", "c"}, {"x", "y"}})});
  auto v = r.resolve(200, std::vector{txn(50, {{"a", "b"}, {"b", "bb"}, {"m", "n"}, {"w", "z"}},
                                          {}, /*report=*/true),
                                      txn(50, {{"b", "bb"}, {"w", "z"}}, {})});
  CHECK(v.verdicts == std::vector{Verdict::kConflict, Verdict::kConflict});
  CHECK(v.conflicting_reads.at(0) == std::vector<uint32_t>{1, 3});
  CHECK(v.conflicting_reads.at(1).empty());  // not asked for
}

TEST_CASE("resolver: random batches agree with every committed write listed") {
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    INFO("seed " << seed);
    flow::DeterministicRandom rng(seed);
    const Version window = rng.random_int(50, 400);
    BatchResolver r(window);
    struct Write {
      KeyRange range;
      Version version;
    };
    std::vector<Write> committed;
    const auto key = [&rng] {
      std::string k;
      for (int64_t n = rng.random_int(0, 3); n > 0; --n)
        k.push_back("abcd"[rng.random_int(0, 4)]);
      return k;
    };
    const auto range = [&] {
      KeyRange k{key(), key()};
      if (k.end < k.begin && rng.random01() < 0.9) std::swap(k.begin, k.end);  // some stay inverted
      return k;
    };
    Version version = 1000;
    for (int batch = 0; batch < 150; ++batch) {
      CAPTURE(batch);
      version += rng.random_int(1, 60);
      // Up to 36 reads a batch: more than the 16 searches the history runs at once.
      std::vector<TransactionConflictRanges> ts(static_cast<size_t>(rng.random_int(0, 13)));
      for (auto& t : ts) {
        // Now and then a read version at or past the batch's (in-batch writes are not after it).
        t.read_version = rng.random01() < 0.05 ? version + rng.random_int(0, 3)
                                               : version - rng.random_int(1, window + 50);
        for (int64_t n = rng.random_int(0, 3); n > 0; --n) t.reads.push_back(range());
        for (int64_t n = rng.random_int(0, 3); n > 0; --n) t.writes.push_back(range());
        t.report_conflicting_reads = rng.coinflip();
      }
      const auto got = r.resolve(version, ts);
      REQUIRE(got.verdicts.size() == ts.size());
      // The model: the same rules over the list of writes, this batch's included as it goes.
      for (size_t i = 0; i < ts.size(); ++i) {
        const auto& t = ts[i];
        bool reads = false;
        for (const auto& rr : t.reads) reads = reads || !rr.empty();
        Verdict expected = Verdict::kCommitted;
        std::vector<uint32_t> conflicting;
        if (reads && t.read_version < version - window) {
          expected = Verdict::kTooOld;
        } else {
          for (size_t j = 0; j < t.reads.size(); ++j) {
            const KeyRange& rr = t.reads[j];
            if (rr.empty()) continue;
            for (const Write& w : committed) {
              if (w.version > t.read_version && w.range.begin < rr.end && rr.begin < w.range.end) {
                expected = Verdict::kConflict;
                conflicting.push_back(static_cast<uint32_t>(j));
                break;
              }
            }
          }
        }
        CAPTURE(i);
        CHECK(got.verdicts[i] == expected);
        if (expected == Verdict::kConflict && t.report_conflicting_reads) {
          CHECK(got.conflicting_reads[i] == conflicting);
        }
        if (expected == Verdict::kCommitted)
          for (const KeyRange& w : t.writes)
            if (!w.empty()) committed.push_back({w, version});
      }
    }
  }
}
