#pragma once
// Transaction — FoundationDB's transaction (docs/database.md, "client"): reads at one read
// version, its own writes seen by its own reads, and a commit that succeeds only if nothing it
// read was written by another transaction since its read version (strict serializability).
//
// Reads (get, get_key, get_range) see the transaction's own writes made before the read was
// called — sets, clears, clear ranges and atomic operations, over ranges too — and, unless
// `snapshot`, add what they saw to the transaction's read conflict ranges. A write made while a
// read of the same transaction is waiting may or may not be seen by that read. Readable keys are
// those below \xff (below \xff\xff with access_system_keys): a selector that runs past them
// resolves to \xff (\xff\xff), one that runs before the first key to "".
//
// Every bad input is a named error and changes nothing: key_too_large, value_too_large,
// inverted_range, key_outside_legal_range (system keys without access_system_keys, or at or past
// \xff\xff), transaction_too_large, used_during_commit, client_invalid_operation (use after a
// commit, an unknown atomic operation, a negative limit), transaction_cancelled (after cancel()).
// While the database is locked, a transaction that is not lock-aware gets database_locked
// (retryable: on_error waits, since the holder will unlock it).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flow/error.h"
#include "flow/time.h"
#include "client/key_selector.h"
#include "client/range_result.h"
#include "roles/common/mutation.h"
#include "roles/common/types.h"
#include "roles/common/versionstamp.h"

namespace client {

class Database;

class Transaction {
 public:
  explicit Transaction(Database& db) : db_(&db) {}

  // Allows reads and writes of system keys (\xff up to \xff\xff).
  void set_access_system_keys(bool on) { access_system_keys_ = on; }
  // Asks the resolvers, when a commit conflicts, which of its read conflict ranges did.
  void set_report_conflicting_keys(bool on) { report_conflicting_keys_ = on; }
  // Reads and commits even while the database is locked (docs/database.md, "Database lock");
  // otherwise a locked database answers them with database_locked.
  void set_lock_aware(bool on) { lock_aware_ = on; }
  // After a commit that threw not_committed with report_conflicting_keys: the read conflict
  // ranges that conflicted (as added, in the order added); empty otherwise.
  const std::vector<roles::KeyRange>& conflicting_read_ranges() const { return conflicting_; }

  // The transaction's read version, asked of a GRV proxy the first time. May suspend.
  roles::Version get_read_version();
  // Uses `v` as the read version. Throws read_version_already_set once one is known.
  void set_read_version(roles::Version v);

  // The value of `key` as of the read version, with this transaction's writes applied; with
  // `snapshot`, adds no read conflict. May suspend.
  std::optional<std::string> get(std::string_view key, bool snapshot = false);

  // The key `selector` names, among the keys as this transaction sees them. May suspend.
  std::string get_key(const KeySelector& selector, bool snapshot = false);
  // The rows from the key `begin` names up to (not including) the key `end` names, within
  // `limits`. May suspend.
  RangeResult get_range(const KeySelector& begin, const KeySelector& end, RangeLimits limits = {},
                        bool snapshot = false);
  // The rows of [begin, end). May suspend.
  RangeResult get_range(std::string_view begin, std::string_view end, RangeLimits limits = {},
                        bool snapshot = false);

  void set(std::string_view key, std::string_view value);
  void clear(std::string_view key);
  void clear_range(std::string_view begin, std::string_view end);
  // An atomic operation (roles::MutationType: add, bit_and, ..., the versionstamp ones).
  void atomic_op(roles::MutationType type, std::string_view key, std::string_view operand);
  void add_read_conflict_range(std::string_view begin, std::string_view end);
  void add_write_conflict_range(std::string_view begin, std::string_view end);

  // Commits: returns once durable, or throws not_committed (a conflict), transaction_too_old,
  // commit_unknown_result (the outcome cannot be known), or a named error. May suspend.
  void commit();
  // The version it committed at; -1 for a read-only transaction. REQUIRES: commit() returned.
  roles::Version get_committed_version() const;
  // Its versionstamp. Throws transaction_invalid_version unless it committed writes.
  roles::Versionstamp get_versionstamp() const;

  // After `e` from a read or a commit: waits (backing off) and resets for a retry if `e` is
  // retryable; otherwise rethrows it. May suspend.
  void on_error(flow::Error e);
  // Back to a fresh transaction (keeping the options and the backoff).
  void reset();
  // Every later call, and every read waiting now once it wakes, throws transaction_cancelled
  // (not retryable) until reset(). reset() also ends the reads waiting when it comes.
  void cancel() { cancelled_ = true; }

 private:
  // What this transaction wrote to a key it holds a definite answer for, or the atomic
  // operations it applies to whatever the key holds.
  struct KeyWrite {
    bool known = false;                         // set or cleared by this transaction
    std::optional<std::string> value;           // if known: the value (nullopt: cleared)
    std::vector<roles::Mutation> atomics;       // if !known: applied in order to the stored value
  };
  // Stored rows of [lo, hi) from one shard: the first one going forward (the last going back),
  // and how far they are complete: [lo, bound) forward, [bound, hi) in reverse.
  struct StoredChunk {
    std::vector<KeyValue> rows;
    std::string bound;
  };
  void check_writable(std::string_view key) const;
  void check_usable();
  // After a wait of a call that started at `started` (generation_ then): throws
  // transaction_cancelled if cancel() or reset() came meanwhile.
  void check_not_cancelled(uint64_t started) const;
  roles::Version read_version(uint64_t started);
  std::string_view max_read_key() const;
  void add_mutation(roles::Mutation m);
  void add_read_conflict(std::string_view begin, std::string_view end);
  // [lo, hi) less the ranges this transaction cleared.
  void add_read_conflict_except_cleared(const std::string& lo, const std::string& hi);
  // What this transaction's writes make of `key` when the database holds `stored`.
  std::optional<std::string> seen_value(const std::string& key, std::optional<std::string> stored) const;
  bool has_writes() const { return !written_.empty() || !cleared_.empty(); }
  // Asks a server of the shard holding `key` (with `before`: the keys just below `key`) with
  // ask(location, server), again after failures a retry may cure. May suspend.
  template <class Ask>
  auto ask_shard(uint64_t started, std::string_view key, bool before, Ask ask);
  std::optional<std::string> read_stored(uint64_t started, std::string_view key);
  StoredChunk read_stored_chunk(uint64_t started, std::string_view lo, std::string_view hi, int64_t rows,
                                bool reverse);
  // [lo, hi) as this transaction sees it, within limits; adds no conflict range. May suspend.
  RangeResult read_seen(uint64_t started, std::string_view lo, std::string_view hi, RangeLimits limits);
  // The key `selector` names as this transaction sees it; adds no conflict range. May suspend.
  std::string resolve(uint64_t started, const KeySelector& selector);
  std::string resolve_seen(uint64_t started, const KeySelector& selector);
  std::string resolve_stored(uint64_t started, KeySelector selector);
  // The rows of [b, e) (keys), with their conflict range unless `snapshot`. May suspend.
  RangeResult read_range(uint64_t started, const std::string& b, const std::string& e, RangeLimits limits,
                         bool snapshot);
  // The keys whose presence decided that `selector` names `key`.
  roles::KeyRange selector_span(const KeySelector& selector, const std::string& key) const;

  Database* db_;
  bool access_system_keys_ = false;
  bool report_conflicting_keys_ = false;
  bool lock_aware_ = false;
  std::vector<roles::KeyRange> conflicting_;
  std::optional<roles::Version> read_version_;
  std::vector<roles::KeyRange> reads_;
  std::vector<roles::KeyRange> writes_;
  std::vector<roles::Mutation> mutations_;
  std::map<std::string, KeyWrite, std::less<>> written_;
  std::vector<roles::KeyRange> cleared_;  // clear_range()s, in order
  size_t bytes_ = 0;
  bool committing_ = false;
  bool committed_ = false;
  bool cancelled_ = false;
  uint64_t generation_ = 0;  // reset() counts up: a call waiting across it is cancelled
  roles::Version committed_version_ = -1;
  uint16_t batch_index_ = 0;
  flow::Duration backoff_ = std::chrono::milliseconds(10);
};

}  // namespace client
