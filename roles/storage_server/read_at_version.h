#pragma once
// Reads at a version: what a storage server's engine holds (as of its durable version) under its
// versions in memory (VersionedData).
//
// The caller keeps the result only if, once the read returns, `v` is still at or above the
// oldest version it serves: a flush that made versions up to v' durable while the read waited
// on the engine may have shown it the engine at v' — the right answer for every v >= v', the
// wrong one below.

#include <optional>
#include <string>
#include <string_view>

#include "roles/common/types.h"
#include "roles/storage_server/versioned_data.h"
#include "storage/key_value_store.h"

namespace roles {

// Throws transaction_too_old if v < data.durable() (a flush took the version). May suspend.
std::optional<std::string> read_value_at(storage::IKeyValueStore& engine, const VersionedData& data,
                                         std::string_view key, Version v);

// The rows of [begin, end) at `v` within `limits` (as IKeyValueStore::read_range's).
// Throws transaction_too_old if v < data.durable(), also when a flush takes the version while the
// read waits on the engine. May suspend.
storage::RangeResult read_range_at(storage::IKeyValueStore& engine, const VersionedData& data,
                                   std::string_view begin, std::string_view end, Version v,
                                   storage::RangeLimits limits);

}  // namespace roles
