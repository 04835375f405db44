#pragma once
// IKeyValueStore — an ordered map from byte-string keys to byte-string values, kept durable on an
// IFileSystem. A storage server keeps its data in one.
//
// Semantics, the same for every engine (tests/storage/test_key_value_store.cpp checks them
// against a reference model):
//   - set() and clear() apply at once: every later read sees them, committed or not.
//   - commit() returns once every set() and clear() made before the call is durable. After a
//     crash, reopening the store gives exactly the state as of some commit() that had started:
//     at least the last one that returned, never a state between commits.
//   - Keys order bytewise (shorter first on a common prefix). Ranges are [begin, end).
//   - Oversized input is refused before anything changes: key_too_large, value_too_large.
//   - A store whose files are found corrupt fails to open (checksum_failed), or, where the damage
//     is only found by a later read, that read throws checksum_failed. Never silently wrong data.
//   - After a commit fails (io_error, disk_full, ...), the store is unusable: every later call
//     throws that error. Reopen it to recover the last committed state.
//
// Calls may overlap from several actors (a read while a commit waits on the disk); each engine
// says what it does about that.

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flow/file_system.h"

namespace storage {

struct KeyValue {
  std::string key;
  std::string value;
  bool operator==(const KeyValue&) const = default;
};

struct RangeLimits {
  // Rows: at most this many. Bytes: stop after the row that brings the sum of key and value sizes
  // to at least this many (so at least one row comes back whenever one exists).
  int64_t rows = std::numeric_limits<int64_t>::max();
  int64_t bytes = std::numeric_limits<int64_t>::max();
  // Whether to read from the end of the range backwards.
  bool reverse = false;
};

struct RangeResult {
  std::vector<KeyValue> rows;  // ascending, or descending when read in reverse
  bool more = false;           // a limit stopped the read before the end of the range
};

struct StorageBytes {
  int64_t live_bytes = 0;  // what the stored data takes (for memory: the sum of key+value sizes)
  int64_t disk_bytes = 0;  // what the store's files take on disk
};

struct KeyValueStoreOptions {
  // The database's limits (DESIGN.md); larger input is refused.
  size_t max_key_bytes = 10'000;
  size_t max_value_bytes = 100'000;
  // memory: the DiskQueue's file size, which sets how often appends lap.
  int64_t log_file_bytes = int64_t{64} << 20;
  // ssd: SQLite's page cache, in KiB.
  int64_t cache_kib = 64 * 1024;
};

class IKeyValueStore {
 public:
  virtual ~IKeyValueStore() = default;

  // "memory" or "ssd".
  virtual std::string_view engine() const = 0;

  // Throws key_too_large or value_too_large (nothing changes), or the error that failed the store.
  // May suspend (an engine may read pages to apply it).
  virtual void set(std::string_view key, std::string_view value) = 0;
  // Removes every key in [begin, end). Throws as set(); a range end may be one byte longer than a
  // key. May suspend.
  virtual void clear(std::string_view begin, std::string_view end) = 0;
  // Returns once everything set or cleared before the call is durable. Throws the disk's error;
  // the store is then failed. May suspend.
  virtual void commit() = 0;

  // May suspend.
  virtual std::optional<std::string> read_value(std::string_view key) = 0;
  // The rows of [begin, end) within `limits`. May suspend.
  virtual RangeResult read_range(std::string_view begin, std::string_view end,
                                 RangeLimits limits = {}) = 0;

  // May suspend.
  virtual StorageBytes storage_bytes() = 0;
};

// The engines' names, for errors and help text.
inline constexpr std::string_view kEngineNames[] = {"memory", "ssd"};

// Opens (creating if missing) the store `name` of `engine` and recovers it. The store's files are
// `name` followed by an engine-specific suffix. Throws invalid_option_value for an unknown engine,
// checksum_failed for a corrupt store, or the disk's error. May suspend.
std::unique_ptr<IKeyValueStore> open_key_value_store(std::string_view engine, flow::IFileSystem& fs,
                                                     const std::string& name,
                                                     KeyValueStoreOptions options = {});

// Throws key_too_large or value_too_large if the pair is over the options' limits.
void check_key_value_sizes(const KeyValueStoreOptions& options, std::string_view key,
                           std::string_view value);
// Throws key_too_large if a range end is longer than a key may be, plus one byte (so that a
// key followed by a zero byte can end a range).
void check_range_key_sizes(const KeyValueStoreOptions& options, std::string_view begin,
                           std::string_view end);

}  // namespace storage
