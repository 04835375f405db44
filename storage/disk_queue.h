#pragma once
// DiskQueue — a durable, checksummed, append-only log of records on two IAsyncFiles.
//
// push() numbers a record and buffers it; commit() writes everything pushed so far and returns
// once it is durable; pop(up_to) says that records before `up_to` are no longer needed, so their
// space may be reused. Opening the queue recovers it: it yields, oldest first, exactly the records
// of every completed commit that were not popped as of the last one (records popped since may come
// back; the caller pops them again), and stops at the first torn or corrupt record at the tail,
// where a write that was cut off by a crash lies. A record missing from the middle of what must be
// there — corruption, not a crash — is an error (checksum_failed), never a silently shorter log.
//
// Layout (docs/disk_queue.md). The queue lives in `<name>.0` and `<name>.1`, each preallocated to
// file_bytes at open, so that recovery never needs new space. Records are appended to the active
// file; once it holds at least file_bytes and every record of the other file has been popped,
// appends move to the start of the other file, overwriting it. So the disk holds at most about
// two files' worth, plus what is not popped. Each record is a DiskQueueRecordHeader
// (storage/detail/disk_queue_format.h: magic, length, sequence, first_unpopped, durable_through,
// checksum), its payload and zero padding to a multiple of 8, with sequence numbers consecutive
// across both files and an XXH3-64 checksum of the header before it and the payload.
// first_unpopped makes a pop durable once a record pushed after it is committed. durable_through
// (the newest record known durable when this one was pushed) lets recovery tell a torn tail from
// a corrupt middle: a readable record, in either file, that vouches for the unreadable one after
// the log's end means corruption. Each commit also writes a copy of its records right after them
// (magic "SDQC"), so a damaged record, or damage in different records and copies, is read from
// the other place, and recovery writes a damaged original back from its copy. Only a record
// damaged in both places, in the last commit (which no later record vouches for), reads as a torn
// tail. A pop is carried by the records pushed after it: pop() then commit() with no push between
// makes the pop durable only with a later commit that pushes.
//
// Recovery first syncs both files, so it never builds on records whose commit's sync failed,
// and reads each file until two reads agree, so it never acts on a bit a read flipped in passing
// (io_error if a file never reads the same twice). Afterwards it makes the leftovers of a torn commit unreadable and cuts each file after the end
// of the log (then gives it back its preallocated size, as zeros), so those records can never be
// read as the continuation of records written later under the same numbers. It asserts its own
// result.
//
// Memory: the records pushed and not yet committed, a spare buffer of up to twice the last
// commit's bytes (at most 32 MiB) for the next commit to reuse, and what open() recovered
// (handed to the caller, who must hold what it has not popped anyway). Recovery reads each file
// whole, twice, in 1 MiB pieces, so it needs twice a file's size in memory for a moment. Disk: every record
// twice, and at least file_bytes per file.
//
// Errors: a sync that fails (io_error, io_timeout), in a commit or in recovery, ends the process
// (flow::fail_stop(), see flow/process.h): what it covered may be cached and not durable, and no
// process may build on that. Any other error in a commit (disk_full; or a commit cancelled part
// way) fails that commit and every later call (the queue is then unusable; reopen it to recover).
// Records over max_record_bytes are refused with value_too_large at push.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "flow/file_system.h"
#include "flow/future.h"

namespace storage {

namespace detail {
struct DiskQueueChain;
}

struct DiskQueueOptions {
  // The size at which appends move to the other file (if it is all popped).
  int64_t file_bytes = int64_t{64} << 20;
  size_t max_record_bytes = size_t{16} << 20;
};

struct DiskQueueRecord {
  uint64_t sequence = 0;
  std::vector<uint8_t> payload;
};

class DiskQueue {
 public:
  // Opens the queue `name` (creating and preallocating its files if missing) and recovers it.
  // Throws checksum_failed if committed records are missing, io_error (and the like) from the
  // disk; a failed sync ends the process. May suspend.
  static std::unique_ptr<DiskQueue> open(flow::IFileSystem& fs, const std::string& name,
                                         DiskQueueOptions options = {});
  ~DiskQueue();
  DiskQueue(const DiskQueue&) = delete;
  DiskQueue& operator=(const DiskQueue&) = delete;

  // The records recovered at open, oldest first. The caller may take them (std::move).
  std::vector<DiskQueueRecord>& recovered() { return recovered_; }

  // Buffers a record; returns its sequence number. Not durable until a commit() that starts
  // after this returns. Throws value_too_large, or the error that failed an earlier commit.
  uint64_t push(std::span<const uint8_t> payload);
  // Records with sequence numbers below `up_to` are no longer needed. Durable with the next
  // commit.
  void pop(uint64_t up_to);
  // Returns once every record pushed before the call is durable (commits finish in order).
  // Throws the disk's error; the queue is then failed. A failed sync ends the process instead
  // (the caller's actor is cancelled). May suspend.
  void commit();

  // The sequence number the next push gets.
  uint64_t next_sequence() const { return next_sequence_; }
  uint64_t first_unpopped() const { return first_unpopped_; }
  // Bytes the queue's files take on disk.
  int64_t file_bytes() const { return files_[0].size + files_[1].size; }

 private:
  struct File {
    std::shared_ptr<flow::IAsyncFile> file;
    int64_t size = 0;            // bytes written to it (what was ever written, stale or not)
    int64_t end = 0;             // where the next record goes (active file)
    uint64_t last_sequence = 0;  // the newest record in it; 0 if none
  };

  DiskQueue(DiskQueueOptions options) : options_(options) {}
  void recover(const std::string& name);
  // Gives each file its first file_bytes on the disk (IAsyncFile::allocate), so that recovery
  // never needs new space. May suspend.
  void preallocate(const std::string& name);
  // Writes `bytes` (whole records, the last one being `last_sequence`, which says
  // `first_unpopped`) and syncs. May suspend.
  // `bytes` is left holding the records and their copies.
  void write_and_sync(std::vector<uint8_t>& bytes, uint64_t last_sequence, uint64_t first_unpopped);
  void check_usable() const;
  uint64_t durable_first_unpopped_ = 1;  // first_unpopped as of the last completed commit
  uint64_t durable_through_ = 0;         // the newest record of the last completed commit

  DiskQueueOptions options_;
  File files_[2];
  int active_ = 0;
  uint64_t next_sequence_ = 1;
  uint64_t first_unpopped_ = 1;
  std::vector<uint8_t> buffer_;  // records pushed since the last commit started
  // A finished commit's buffer, emptied, for the next commit's pushes to reuse: new memory for
  // every commit is paged in anew, and those page faults were a large part of a loading memory
  // engine's time. Kept only up to kSpareBytesMax (disk_queue.cpp).
  std::vector<uint8_t> spare_;
  uint64_t buffered_last_ = 0;            // the sequence of the last record in buffer_
  uint64_t buffered_first_unpopped_ = 1;  // and the first_unpopped it carries
  flow::Future<flow::Void> last_commit_;  // the commit in progress, or a ready one
  std::optional<flow::Error> failed_;     // set once a commit failed: every later call throws it
  std::vector<DiskQueueRecord> recovered_;
};

}  // namespace storage
