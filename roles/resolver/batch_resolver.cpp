#include "roles/resolver/batch_resolver.h"

#include "flow/assert.h"
#include "flow/code_probe.h"
#include "flow/deterministic_random.h"
#include "flow/planted_bug.h"

namespace roles {

BatchVerdicts BatchResolver::resolve(Version version,
                                     std::span<const TransactionConflictRanges> transactions) {
  ASSERT_GT(version, version_);
  version_ = version;
  const Version oldest = version - window_;
  BatchVerdicts out;
  out.verdicts.resize(transactions.size(), Verdict::kCommitted);
  out.conflicting_reads.resize(transactions.size());

  // First, every read of every transaction not too old against the earlier batches' writes, in
  // one interleaved search. reads_from[t] is where transaction t's reads start in `reads`.
  std::vector<ConflictHistory::Range> reads;
  std::vector<size_t> reads_from(transactions.size());
  for (size_t t = 0; t < transactions.size(); ++t) {
    reads_from[t] = reads.size();
    const TransactionConflictRanges& tr = transactions[t];
    bool reads_something = false;
    for (const KeyRange& r : tr.reads)
      reads_something = reads_something || !r.empty();
    if (reads_something && tr.read_version < oldest) {
      CODE_PROBE(true, "resolver finds a transaction too old");
      out.verdicts[t] = Verdict::kTooOld;
      continue;
    }
    for (const KeyRange& r : tr.reads)
      reads.push_back({r.begin, r.end});
  }
  std::vector<Version> newest_before(reads.size());
  history_.newest_writes(reads, newest_before);

  // Then the transactions in order, against this batch's earlier clean writes too (all at
  // `version`, held apart in a small history that stays in cache).
  ConflictHistory this_batch;
  for (size_t t = 0; t < transactions.size(); ++t) {
    if (out.verdicts[t] == Verdict::kTooOld) continue;
    const TransactionConflictRanges& tr = transactions[t];
    bool conflict = false;
    for (size_t i = 0; i < tr.reads.size(); ++i) {
      const KeyRange& r = tr.reads[i];
      if (r.empty()) continue;
      if (i == 0 && flow::planted(flow::PlantedBug::kSkippedConflictCheck) &&
          flow::deterministic_random().random01() < 0.05)
        continue;  // the planted skipped check (flow/planted_bug.h)
      const bool written_since =
          newest_before[reads_from[t] + i] > tr.read_version ||
          (version > tr.read_version &&
           this_batch.newest_write(r.begin, r.end) != ConflictHistory::kNever);
      if (!written_since) continue;
      conflict = true;
      if (!tr.report_conflicting_reads) break;
      out.conflicting_reads[t].push_back(static_cast<uint32_t>(i));
    }
    if (conflict) {
      CODE_PROBE(true, "resolver finds a conflict");
      out.verdicts[t] = Verdict::kConflict;
      continue;
    }
    // Clean here: its writes count against every later transaction, this batch's included.
    for (const KeyRange& w : tr.writes)
      if (!w.empty()) this_batch.add_write(w.begin, w.end, version);
  }
  for (size_t t = 0; t < transactions.size(); ++t) {
    if (out.verdicts[t] != Verdict::kCommitted) continue;
    for (const KeyRange& w : transactions[t].writes)
      if (!w.empty()) history_.add_write(w.begin, w.end, version);
  }
  history_.forget_before(oldest);
  return out;
}

}  // namespace roles
