#pragma once
// The database lock (docs/database.md, "Database lock"): while a lock is held, only lock-aware
// transactions get read versions and commit; the others get database_locked. A lock is named by
// its holder's uid, and changes only with a recovery, so every role of a generation agrees on it.

#include <cstddef>
#include <string_view>

#include "roles/common/mutation.h"

namespace roles {

// Where the database shows its lock: the holder's uid, absent when unlocked. Written by each
// generation's recovery transaction; clients cannot write it.
inline constexpr std::string_view kDatabaseLockedKey = "\xff/dbLocked";

inline constexpr size_t kLockUidBytesMax = 64;

// Whether `uid` can name a lock holder: 1 to kLockUidBytesMax bytes.
inline bool lock_uid_ok(std::string_view uid) { return !uid.empty() && uid.size() <= kLockUidBytesMax; }

// The recovery transaction's record of the lock: \xff/dbLocked = `uid`, or its clear when `uid`
// is empty (unlocked).
Mutation lock_mutation(std::string_view uid);

}  // namespace roles
