#include "roles/resolver/batch_resolver.h"

#include "flow/assert.h"
#include "flow/code_probe.h"

namespace roles {

BatchVerdicts BatchResolver::resolve(Version version,
                                     std::span<const TransactionConflictRanges> transactions) {
  ASSERT_GT(version, version_);
  version_ = version;
  const Version oldest = version - window_;
  BatchVerdicts out;
  out.verdicts.reserve(transactions.size());
  out.conflicting_reads.resize(transactions.size());
  for (size_t t = 0; t < transactions.size(); ++t) {
    const TransactionConflictRanges& tr = transactions[t];
    bool reads_something = false;
    for (const KeyRange& r : tr.reads)
      reads_something = reads_something || !r.empty();
    if (reads_something && tr.read_version < oldest) {
      CODE_PROBE(true, "resolver finds a transaction too old");
      out.verdicts.push_back(Verdict::kTooOld);
      continue;
    }
    bool conflict = false;
    for (size_t i = 0; i < tr.reads.size(); ++i) {
      const KeyRange& r = tr.reads[i];
      if (r.empty() || history_.newest_write(r.begin, r.end) <= tr.read_version) continue;
      conflict = true;
      if (!tr.report_conflicting_reads) break;
      out.conflicting_reads[t].push_back(static_cast<uint32_t>(i));
    }
    if (conflict) {
      CODE_PROBE(true, "resolver finds a conflict");
      out.verdicts.push_back(Verdict::kConflict);
      continue;
    }
    // Clean here: its writes count against every later transaction, this batch's included.
    for (const KeyRange& w : tr.writes)
      if (!w.empty()) history_.add_write(w.begin, w.end, version);
    out.verdicts.push_back(Verdict::kCommitted);
  }
  history_.forget_before(oldest);
  return out;
}

}  // namespace roles
