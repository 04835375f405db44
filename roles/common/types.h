#pragma once
// Words every role uses (docs/database.md, "Shared types"; DESIGN.md's table).

#include <cstdint>
#include <string>

namespace roles {

// A commit version: the master advances it about 1,000,000 per second. 0 is before the database.
using Version = int64_t;

// How far back the resolvers remember writes: a transaction that read at a version older than
// the newest commit version minus this is too old to check (transaction_too_old). Five seconds.
inline constexpr Version kMaxReadTransactionLifeVersions = 5'000'000;

// The keys k with begin <= k < end.
struct KeyRange {
  std::string begin;
  std::string end;
  bool empty() const { return !(begin < end); }
  friend bool operator==(const KeyRange&, const KeyRange&) = default;
};

}  // namespace roles
