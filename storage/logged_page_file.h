#pragma once
// LoggedPageFile — a file of fixed-size pages that changes only at commits, made crash-safe by a
// redo log. The `ssd` engine's SQLite database lives in one (storage/sqlite_vfs.h).
//
// Writes go to memory (the overlay). commit() logs every page written since the last commit in a
// DiskQueue, with a commit mark, and returns when the log is durable. The file itself is brought up
// to date only at checkpoints (every checkpoint_bytes of log): the overlay's pages are written to
// it, it is synced, and the log is popped. Opening replays the committed part of the log onto the
// file and checkpoints, so a crash at any moment — in a commit, in a checkpoint, in recovery —
// leaves the file as of the last commit that completed (or one that was under way).
//
// Every page carries a checksum in its last 8 bytes (XXH3-64 of the rest, seeded with the page
// number), set when it is written and checked whenever it is read from the file; a mismatch is
// checksum_failed. The log has its own checksums (storage/disk_queue.h). So a bit flipped on the
// disk is found, never read as data. The page's user must leave those 8 bytes alone (SQLite's
// "reserved bytes").
//
// The log's records (page records and page-count records, the commit marks) are typed in
// storage/detail/logged_page_file_format.h and described in docs/storage.md; in simulation the
// writer parses each back before pushing it.
//
// Files: `<path>` and its log `<path>-log.0`, `<path>-log.1`. Memory: the pages written since the
// last checkpoint.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "flow/file_system.h"
#include "storage/disk_queue.h"

namespace storage {

class LoggedPageFile {
 public:
  static constexpr size_t kPageBytes = 4096;
  static constexpr size_t kChecksumBytes = 8;

  // Opens (creating if missing) and recovers. Throws checksum_failed if the log is corrupt, or the
  // disk's error. May suspend.
  static std::unique_ptr<LoggedPageFile> open(flow::IFileSystem& fs, const std::string& path,
                                              int64_t checkpoint_bytes);

  // Reads `out.size()` bytes at `offset`; returns how many were there (the rest is zeroed).
  // Throws checksum_failed for a damaged page, or the disk's error. May suspend.
  size_t read(std::span<uint8_t> out, int64_t offset);
  // Stamps whole pages with their checksums and keeps them until commit. A partial page is merged
  // with its current contents (which may suspend to read it).
  void write(std::span<const uint8_t> data, int64_t offset);
  void truncate(int64_t bytes);
  int64_t size() const { return static_cast<int64_t>(pages_) * static_cast<int64_t>(kPageBytes); }

  // Makes everything written so far durable; may checkpoint. Throws the disk's error, after which
  // the file is failed (every call throws). May suspend.
  void commit();

  // Bytes on disk: the file and its log.
  int64_t disk_bytes() const { return file_size_ + log_->file_bytes(); }
  uint64_t checkpoints() const { return checkpoints_; }

 private:
  LoggedPageFile() = default;
  void recover(const std::string& path);
  // Writes the overlay to the file, syncs it and pops the log. May suspend.
  void checkpoint();
  // One page from the overlay or the file, checked. May suspend.
  const uint8_t* page(uint64_t number, std::vector<uint8_t>& scratch);
  void check_usable() const;
  void fail(const flow::Error& e);

  std::shared_ptr<flow::IAsyncFile> file_;
  std::unique_ptr<DiskQueue> log_;
  int64_t checkpoint_bytes_ = 0;
  std::map<uint64_t, std::vector<uint8_t>> overlay_;  // pages newer than the file, by number
  std::vector<uint64_t> written_;                     // pages written since the last commit
  bool truncated_since_commit_ = false;
  uint64_t pages_ = 0;        // the size the file has as of the latest write or truncate
  int64_t file_size_ = 0;     // what the file itself holds
  int64_t logged_bytes_ = 0;  // logged since the last checkpoint
  uint64_t checkpoints_ = 0;
  std::optional<flow::Error> failed_;
};

}  // namespace storage
