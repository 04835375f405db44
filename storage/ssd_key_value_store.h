#pragma once
// The `ssd` engine: SQLite's B-tree, in one table (k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID, on
// a SqliteVfs, so that it runs on the simulated disk as on a real one. Files: `<name>.sqlite`
// and its log `<name>.sqlite-log.0/.1` (storage/logged_page_file.h).
//
// SQLite settings, and why they are crash-safe under the disk model (docs/storage.md):
//   journal_mode=MEMORY, synchronous=OFF — SQLite's own journals are not what makes a commit
//     atomic and durable here: its page writes go to the LoggedPageFile's overlay, and commit()
//     logs them, checksummed, in a DiskQueue and syncs once. A torn or lost write can then only
//     hit the log's tail (recovery drops the unfinished commit) or an unsynced checkpoint (the
//     log still holds its pages), and a flipped bit fails a checksum — in the log, or in the
//     page's reserved bytes — instead of being read. SQLite's rollback journal and WAL cannot
//     tell a torn tail from a flipped bit, and their checksums are partial or optional.
//     MEMORY (not OFF) keeps ROLLBACK working for a statement that fails part way.
//   8 reserved bytes per 4096-byte page — room for the page checksum.
//   locking_mode=EXCLUSIVE, temp_store=MEMORY — one connection, no other files.
//   cell_size_check=ON — SQLite checks each B-tree page's cells as it reads them.
//
// One transaction is always open: set() and clear() run in it, reads see them, commit() ends it
// and logs it. Calls from several actors are serialized by a FIFO lock (the connection cannot be
// entered while suspended on the disk). Any SQLite error fails the store.

#include <memory>
#include <optional>
#include <string>

#include "flow/fifo_lock.h"
#include "storage/key_value_store.h"
#include "storage/sqlite_vfs.h"

struct sqlite3;
struct sqlite3_stmt;

namespace storage {

class SsdKeyValueStore final : public IKeyValueStore {
 public:
  // Opens or creates the store and recovers it. May suspend.
  static std::unique_ptr<SsdKeyValueStore> open(flow::IFileSystem& fs, const std::string& name,
                                                KeyValueStoreOptions options);
  ~SsdKeyValueStore() override;

  std::string_view engine() const override { return "ssd"; }
  void set(std::string_view key, std::string_view value) override;
  void clear(std::string_view begin, std::string_view end) override;
  void commit() override;
  std::optional<std::string> read_value(std::string_view key) override;
  RangeResult read_range(std::string_view begin, std::string_view end, RangeLimits limits) override;
  StorageBytes storage_bytes() override;

 private:
  explicit SsdKeyValueStore(KeyValueStoreOptions options) : options_(options) {}
  void connect();
  // Runs SQL with no results. Throws on failure.
  void exec(const char* sql);
  sqlite3_stmt* prepare(const char* sql);
  // Steps `stmt`; true on a row, false when done. Throws on failure.
  bool step(sqlite3_stmt* stmt);
  int64_t pragma_int(const char* sql);
  // Turns SQLite's error `rc` into the flow::Error behind it, fails the store, and throws.
  [[noreturn]] void raise(int rc, const char* what);
  void check_usable() const;

  KeyValueStoreOptions options_;
  std::string name_;
  flow::FifoLock lock_;
  std::unique_ptr<SqliteVfs> vfs_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* set_ = nullptr;
  sqlite3_stmt* clear_ = nullptr;
  sqlite3_stmt* get_ = nullptr;
  sqlite3_stmt* range_forward_ = nullptr;
  sqlite3_stmt* range_reverse_ = nullptr;
  std::optional<flow::Error> failed_;
};

}  // namespace storage
