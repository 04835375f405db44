#pragma once
// BatchResolver — what a resolver decides for one commit batch (docs/database.md, "resolver"),
// without the messages around it: the resolver role feeds it batches in version order.
//
// A transaction conflicts if a range it read was written, by a transaction committed at a
// version after its read version: by an earlier batch, or by an earlier transaction of the same
// batch (a batch's transactions commit at one version, in their order). A transaction that read
// at a version older than the batch's minus the window (five seconds of versions) is too old to
// check; one that read nothing never conflicts and is never too old. The writes of every
// transaction this resolver finds clean are remembered, even if another resolver rejects it: a
// later transaction may then conflict when it did not have to, never the reverse.
//
// Ranges come from another process: an empty or inverted one is skipped (it holds no key), never
// asserted on.

#include <cstdint>
#include <span>
#include <vector>

#include "roles/common/types.h"
#include "roles/resolver/conflict_history.h"

namespace roles {

// What the resolver is told of one transaction (its ranges already cut to the resolver's keys).
struct TransactionConflictRanges {
  Version read_version = 0;
  std::vector<KeyRange> reads;
  std::vector<KeyRange> writes;
  bool report_conflicting_reads = false;
};

enum class Verdict : uint8_t { kCommitted, kConflict, kTooOld };

struct BatchVerdicts {
  std::vector<Verdict> verdicts;  // one per transaction, in order
  // For each transaction that asked (report_conflicting_reads) and conflicted, the indices of
  // its read ranges that conflicted; empty otherwise.
  std::vector<std::vector<uint32_t>> conflicting_reads;
};

class BatchResolver {
 public:
  // `window`: how many versions back reads are still checked; `start`: the version before the
  // first batch.
  explicit BatchResolver(Version window = kMaxReadTransactionLifeVersions, Version start = 0)
      : window_(window), version_(start) {}

  // Decides the batch committing at `version`. REQUIRES: `version` above every earlier batch's.
  BatchVerdicts resolve(Version version, std::span<const TransactionConflictRanges> transactions);

  // The newest batch resolved (the start version before any).
  Version version() const { return version_; }
  // Reads older than this are too old.
  Version oldest_readable() const { return version_ - window_; }
  const ConflictHistory& history() const { return history_; }

 private:
  Version window_;
  Version version_;
  ConflictHistory history_;
};

}  // namespace roles
