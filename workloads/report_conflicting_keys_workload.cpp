// ReportConflictingKeys — FoundationDB's workload of the same name: the resolvers must say
// exactly which read conflict ranges made a commit conflict. Round after round, a transaction
// takes a read version and random read conflict ranges; another commits random write conflict
// ranges after it; the first then commits with report_conflicting_keys. It must conflict exactly
// when one of its ranges meets one of the other's, and the ranges it is told conflicted must be
// exactly those. A round where either commit's outcome is unknown is not judged, and is followed
// by a commit of a fence key both of its transactions read, so that neither can land later as a
// conflict of another round. It runs alone on its keys: any other writer there could make a real
// conflict the round cannot predict.
//
// Options (FoundationDB's): testDuration (s, 10), nodeCount (100), keyPrefix ("RCK"), keyBytes
// (16: keys are the prefix and a zero-padded number this long), readConflictRangeCountPerTx (1),
// writeConflictRangeCountPerTx (1).

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "client/database.h"
#include "flow/actor.h"
#include "flow/combinators.h"
#include "flow/deterministic_random.h"
#include "flow/trace_event.h"
#include "workloads/database_cluster.h"
#include "workloads/workload.h"

namespace workloads {
namespace {

class ReportConflictingKeysWorkload final : public Workload {
 public:
  explicit ReportConflictingKeysWorkload(WorkloadOptions& o)
      : duration_(o.get_seconds("testDuration", 10.0)),
        nodes_(o.get_int("nodeCount", 100)),
        prefix_(o.get_key_prefix("RCK")),
        key_bytes_(o.get_int("keyBytes", 16)),
        reads_per_tx_(o.get_int("readConflictRangeCountPerTx", 1)),
        writes_per_tx_(o.get_int("writeConflictRangeCountPerTx", 1)) {
    o.require(nodes_ >= 1 && nodes_ <= 100'000'000, "nodeCount", "must be in [1, 1e8]");
    o.require(key_bytes_ >= static_cast<int64_t>(prefix_.size()) + 9 && key_bytes_ <= 10'000, "keyBytes",
              "must leave room for the prefix and 9 digits, and be at most 10000");
    o.require(reads_per_tx_ >= 1 && reads_per_tx_ <= 1000, "readConflictRangeCountPerTx", "must be in [1, 1000]");
    o.require(writes_per_tx_ >= 1 && writes_per_tx_ <= 1000, "writeConflictRangeCountPerTx", "must be in [1, 1000]");
  }

  std::string name() const override { return "ReportConflictingKeys"; }

  void start(WorkloadContext& ctx) override {
    client::Database& db = database(ctx);
    const flow::Time end = flow::now() + duration_;
    // Past the duration until a round is judged: under a fault schedule that leaves the database
    // down for most of it (seed 468: two long recoveries), every round can end unknown, and a
    // pass with nothing judged would check nothing.
    while (!failed_ && (flow::now() < end || judged_ == 0)) round(db);
  }

  bool check(WorkloadContext&) override { return !failed_ && judged_ > 0; }

  void metrics(std::vector<std::pair<std::string, double>>& out) const override {
    out.emplace_back("ReportConflictingKeysRounds", static_cast<double>(judged_));
    out.emplace_back("ReportConflictingKeysConflicts", static_cast<double>(conflicts_));
  }
  std::vector<std::string> key_hints() const override { return {prefix_}; }

 private:
  std::string key(int64_t i) const {
    return prefix_ + fmt::format("{:0>{}}", i, static_cast<size_t>(key_bytes_) - prefix_.size());
  }
  roles::KeyRange random_range() const {
    auto& rng = flow::deterministic_random();
    // Mostly short ranges, some long: rounds both with and without conflicts, and conflicts
    // of one range or of several.
    int64_t a = rng.random_int(0, nodes_), b = rng.random_int(0, nodes_);
    if (b < a) std::swap(a, b);
    if (rng.random_int(0, 4) != 0) b = std::min(nodes_ - 1, a + rng.random_int(0, 1 + nodes_ / 50));
    return {key(a), key(b) + '\0'};  // keys a to b
  }

  // Beyond every node key: both transactions of a round read it.
  std::string fence_key() const { return prefix_ + "~fence"; }

  // After a round whose outcome is unknown: a commit of the fence key, after which neither of
  // that round's transactions can commit any more (each read the fence before it), so none
  // lands in a later round as a conflict it could not predict. May suspend.
  void fence(client::Database& db) {
    db.run([&](client::Transaction& t) { t.set(fence_key(), std::to_string(++fences_)); });
  }

  // One round; a mismatch sets failed_ after a SevError. May suspend.
  void round(client::Database& db) {
    client::Transaction reader(db), writer(db);
    reader.set_report_conflicting_keys(true);
    std::vector<roles::KeyRange> reads, writes;
    std::optional<flow::Error> error;
    try {
      reader.get_read_version();
      reader.add_read_conflict_range(fence_key(), fence_key() + '\0');
      writer.add_read_conflict_range(fence_key(), fence_key() + '\0');
      for (int64_t i = 0; i < reads_per_tx_; ++i) {
        reads.push_back(random_range());
        reader.add_read_conflict_range(reads.back().begin, reads.back().end);
      }
      reader.add_write_conflict_range(key(0), key(0) + '\0');  // not read-only: its commit is judged
      for (int64_t i = 0; i < writes_per_tx_; ++i) {
        writes.push_back(random_range());
        writer.add_write_conflict_range(writes.back().begin, writes.back().end);
      }
      writer.commit();
    } catch (const flow::Error& e) {
      if (e.code() == flow::ErrorCode::operation_cancelled) throw;
      error = e;
    }
    if (error) {  // the round cannot be judged
      fence(db);
      return;
    }
    std::vector<roles::KeyRange> expected;
    for (const roles::KeyRange& r : reads)
      if (std::any_of(writes.begin(), writes.end(), [&](const roles::KeyRange& w) { return r.begin < w.end && w.begin < r.end; }))
        expected.push_back(r);
    bool conflicted = false;
    try {
      reader.commit();
    } catch (const flow::Error& e) {
      if (e.code() == flow::ErrorCode::operation_cancelled) throw;
      if (e.code() != flow::ErrorCode::not_committed) error = e;  // unknown or too old: not judged
      else conflicted = true;
    }
    if (error) {
      fence(db);
      return;
    }
    ++judged_;
    std::vector<roles::KeyRange> reported = conflicted ? reader.conflicting_read_ranges() : std::vector<roles::KeyRange>{};
    const auto order = [](const roles::KeyRange& a, const roles::KeyRange& b) {
      return std::tie(a.begin, a.end) < std::tie(b.begin, b.end);
    };
    std::sort(expected.begin(), expected.end(), order);
    std::sort(reported.begin(), reported.end(), order);
    if (conflicted) ++conflicts_;
    if (conflicted != !expected.empty() || reported != expected) {
      failed_ = true;
      flow::TraceEvent(flow::SevError, "ReportConflictingKeysWrong")
          .detail("Conflicted", conflicted)
          .detail("ExpectedRanges", static_cast<int64_t>(expected.size()))
          .detail("ReportedRanges", static_cast<int64_t>(reported.size()));
    }
  }

  flow::Duration duration_;
  int64_t nodes_;
  std::string prefix_;
  int64_t key_bytes_;
  int64_t reads_per_tx_;
  int64_t writes_per_tx_;
  bool failed_ = false;
  int64_t judged_ = 0;
  int64_t conflicts_ = 0;
  int64_t fences_ = 0;
};

}  // namespace

std::unique_ptr<Workload> make_report_conflicting_keys_workload(WorkloadOptions& options) {
  return std::make_unique<ReportConflictingKeysWorkload>(options);
}

}  // namespace workloads
