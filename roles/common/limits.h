#pragma once
// The database's limits, in one place (STYLE.md), units last. The client checks them before it
// sends; the commit proxy checks them again and answers a violation with the same named error,
// never an assertion. FoundationDB's values.

#include <cstddef>

#include "roles/common/types.h"

namespace roles {

inline constexpr size_t key_bytes_max = 10'000;
inline constexpr size_t value_bytes_max = 100'000;
// Keys, values and conflict ranges of one transaction together, each mutation and conflict range
// counting mutation_overhead_bytes besides its keys and values (so that a transaction's messages
// stay well inside a message's size however small its mutations).
inline constexpr size_t transaction_bytes_max = 10'000'000;
inline constexpr size_t mutation_overhead_bytes = 16;
// A transaction older than this (five seconds of versions) can no longer read or commit.
inline constexpr Version transaction_age_versions_max = kMaxReadTransactionLifeVersions;

}  // namespace roles
