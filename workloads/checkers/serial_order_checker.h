#pragma once
// The serial-order checker — strict serializability checked against the database's own versions
// (what FoundationDB promises in terms of them). Every transaction reads one snapshot, the
// database at its read version; one that commits is placed in a single total order by its
// versionstamp (commit version, then index in its batch) and must read what the database holds
// just before it in that order; and a transaction that began after another completed reads at
// or after that one's place (its commit version, or the read version of a read-only one).
//
// The checker replays the committed transactions' writes in that order on a model of its own
// (sets, clears, clear ranges, adds: independent of the roles' code, so it is a second opinion)
// and compares every read that returned — of committed, failed and unknown transactions alike —
// with the model at its read version, read-your-writes included; and each committed
// transaction's reads with the model just before it. A read that differs at its read version is
// a stale or wrong read; one right at the read version but not just before the commit is a
// conflict the resolvers missed.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace workloads::checkers {

struct SerialOp {
  enum class Kind : uint8_t { kGet, kGetRange, kSet, kClear, kClearRange, kAdd };
  Kind kind;
  std::string key;
  std::string end;    // kGetRange, kClearRange: the range's end
  std::string value;  // kSet: the value; kAdd: the operand (little-endian, its length the width)
  int64_t limit = 0;  // kGetRange: at most this many rows (0: all)
  bool reverse = false;
  // What a read returned, once it did (`returned`).
  bool returned = false;
  std::optional<std::string> got;                        // kGet
  std::vector<std::pair<std::string, std::string>> rows;  // kGetRange
};

struct SerialTransaction {
  uint32_t client = 0;
  int64_t invoked_ns = 0;
  int64_t acknowledged_ns = -1;  // when it completed ok (committed, or read-only); -1 otherwise
  int64_t read_version = -1;     // -1: it never had one (nothing read)
  // Where it committed: (commit version, index in its batch); nullopt if it did not (or is
  // read-only: it is placed at its read version).
  std::optional<std::pair<int64_t, uint16_t>> committed_at;
  std::vector<SerialOp> ops;
};

struct SerialOrderReport {
  std::vector<std::string> violations;
  size_t reads_checked = 0;
  size_t committed = 0;
  bool valid() const { return violations.empty(); }
};

SerialOrderReport check_serial_order(const std::vector<SerialTransaction>& transactions);

}  // namespace workloads::checkers
