#pragma once
// The `memory` engine: every key and value in an ordered in-memory map, made durable by a log of
// operations in a DiskQueue (`<name>.log.0`, `<name>.log.1`).
//
// The map is a std::set of entries, each key with its value in one allocation
// (storage/detail/memory_entry.h).
//
// The log. set() and clear() are logged as they happen; commit() ends the commit's operations with
// a commit mark and commits the queue. Recovery replays the operations of every marked commit, in
// order, and drops the unmarked ones at the tail (a commit cut off by a crash); it then logs a
// rollback mark, so that those operations can never be taken as part of a later commit.
//
// Snapshots, so that the log stays bounded. Once the log holds more than one and a half times
// what a pass over the map would log, a snapshot pass starts: each commit then also logs a slice
// of the whole map as it is now (snapshot items, in key order), about twice as many bytes as its
// own operations, until one pass over the map is done. When a pass is complete and committed,
// every record before the pass's start is popped. Replaying from the start of a complete pass
// gives the right state, with no earlier history: each key's last snapshot item is its value at
// the moment it was written, and every operation after that moment is in the log too. The log
// thus holds at most about three passes' worth: one and a half when a pass starts, the pass, and
// the operations of the pass. A log that is mostly live data (a load, nothing overwritten) starts
// no pass, so a load writes its bytes once. (The idea is FoundationDB's KeyValueStoreMemory.)
//
// Records: docs/storage.md and storage/detail/memory_store_format.h.
//
// Point reads go through a hash index of the map's entries (storage/detail/key_index.h, some 20
// to 45 bytes per key): a lookup in a std::map of a million keys chases some twenty pointers,
// each a likely cache miss; the index takes one or two. Nothing iterates the index, so its order
// cannot leak into results.
//
// Concurrency: operations apply to the map at once, and commits queue in the DiskQueue, so any
// calls may overlap. Reads never suspend.

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "flow/huge_page_heap.h"
#include "storage/detail/key_index.h"
#include "storage/detail/memory_entry.h"
#include "storage/detail/memory_store_format.h"
#include "storage/disk_queue.h"
#include "storage/key_value_store.h"

namespace storage {

class MemoryKeyValueStore final : public IKeyValueStore {
 public:
  // Opens or creates the store and replays its log. May suspend.
  static std::unique_ptr<MemoryKeyValueStore> open(flow::IFileSystem& fs, const std::string& name,
                                                   KeyValueStoreOptions options);

  ~MemoryKeyValueStore() override;
  MemoryKeyValueStore(const MemoryKeyValueStore&) = delete;
  MemoryKeyValueStore& operator=(const MemoryKeyValueStore&) = delete;

  std::string_view engine() const override { return "memory"; }
  void set(std::string_view key, std::string_view value) override;
  void clear(std::string_view begin, std::string_view end) override;
  void commit() override;
  std::optional<std::string> read_value(std::string_view key) override;
  RangeResult read_range(std::string_view begin, std::string_view end, RangeLimits limits) override;
  StorageBytes storage_bytes() override;

  // For tests: how many snapshot passes have completed since open.
  uint64_t snapshot_passes() const { return snapshot_passes_; }

 private:
  explicit MemoryKeyValueStore(KeyValueStoreOptions options) : options_(options) {}
  void replay_from_log(const std::string& name);
  void apply_set(std::string_view key, std::string_view value);
  void apply_clear(std::string_view begin, std::string_view end);
  // Appends one operation to the record being built, pushing the record first if it is full.
  void log_op(detail::MemoryOpType type, std::string_view a, std::string_view b);
  void push_record();
  // The bytes a whole snapshot pass over the map as it is now would log.
  int64_t pass_bytes() const;
  // Logs about `budget` bytes of the snapshot pass; returns true if that completed the pass.
  bool log_snapshot_slice(int64_t budget);
  void check_usable() const;

  KeyValueStoreOptions options_;
  std::unique_ptr<DiskQueue> queue_;
  // The entries, in key order; owned here (freed by clear and the destructor).
  std::set<detail::MemoryEntry*, detail::MemoryEntryLess,
           flow::HugePageAllocator<detail::MemoryEntry*>>
      data_;
  // Each key of data_ to its entry (storage/detail/key_index.h).
  detail::KeyIndex<detail::MemoryEntry> index_;
  int64_t live_bytes_ = 0;

  std::vector<uint8_t> record_;     // operations not yet pushed to the queue
  size_t record_ops_ = 0;           // how many operations record_ holds
  int64_t bytes_since_commit_ = 0;  // operation bytes logged since the last commit mark
  // Bytes logged since open (the recovered log included), and as of the start of the last popped
  // pass: their difference is what the log holds.
  int64_t logged_total_bytes_ = 0;
  int64_t popped_logged_bytes_ = 0;
  int64_t pass_start_logged_bytes_ = 0;  // logged_total_bytes_ at the current pass's start
  bool pass_in_progress_ = false;
  std::string pass_cursor_;       // the last key the current pass has logged
  bool pass_cursor_set_ = false;  // false: the pass has logged no key yet
  uint64_t pass_start_ = 0;       // the queue sequence of the current pass's first record
  uint64_t snapshot_passes_ = 0;
  std::optional<flow::Error> failed_;
};

}  // namespace storage
