#pragma once
// IFileSystem and IAsyncFile — a process's disk.
//
// The simulated world (sim/) implements these with its disk model (unsynced writes lost or torn on
// a kill, corruption, stalls, full disk); the real world (net/asio/) with POSIX files whose I/O
// never blocks the event loop. storage/ uses only these.
//
// Durability: a write is durable only after a later sync() on the same file is ready. A process
// killed before that may find the write applied, missing, or (in simulation) torn at sector
// granularity. Errors: io_error, io_timeout, disk_full, file_not_found, as flow::Error.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "flow/future.h"

namespace flow {

class IAsyncFile {
 public:
  virtual ~IAsyncFile() = default;

  // Reads up to buffer.size() bytes at `offset`; returns how many (fewer only at end of file).
  virtual Future<size_t> read(std::span<uint8_t> buffer, int64_t offset) = 0;
  // Writes all of `data` at `offset`, extending the file if needed. Not durable until sync().
  virtual Future<Void> write(std::span<const uint8_t> data, int64_t offset) = 0;
  virtual Future<Void> truncate(int64_t size) = 0;
  // Makes the file at least `bytes` long, the new bytes zeros, with their space taken on the disk,
  // so that writes within the first `bytes` never need new space (a full disk cannot fail them).
  // Does nothing to a file already that long. Durable after sync(), like a write. Throws
  // disk_full if the space is not there.
  virtual Future<Void> allocate(int64_t bytes) = 0;
  // Ready once every write and truncate that was ready before the call is durable.
  virtual Future<Void> sync() = 0;
  // write(data, offset), then sync() once it is ready. The same as the two calls (the write may
  // land and the sync fail), but a world may do both in one trip to the disk: the real one runs
  // them back to back on one of its I/O threads, which halves the hand-offs of a log commit.
  virtual Future<Void> write_and_sync(std::span<const uint8_t> data, int64_t offset);
  virtual Future<int64_t> size() = 0;
  virtual const std::string& path() const = 0;
};

enum class OpenMode : uint32_t {
  kReadOnly = 1,
  kReadWrite = 2,
  kReadWriteCreate = 3,  // created if missing
  kCreateExclusive = 4,  // read-write; fails if it exists
};

// sync() and write_and_sync() for a file that holds durable state. If the sync fails (io_error,
// io_timeout), what it covered may sit in the OS cache and not on the disk (a failed fsync on
// Linux may even mark it clean), and the process would build on it if it carried on or reopened
// the file: so the process ends (fail_stop() in flow/process.h, trace event DurableSyncFailed).
// Other errors (disk_full: refused before anything was written) are thrown. May suspend.
void sync_or_fail_stop(IAsyncFile& file);
void write_and_sync_or_fail_stop(IAsyncFile& file, std::span<const uint8_t> data, int64_t offset);

class IFileSystem {
 public:
  virtual ~IFileSystem() = default;
  // Opens `path` (relative paths are under the process's data folder). Throws file_not_found.
  virtual Future<std::shared_ptr<IAsyncFile>> open(std::string path, OpenMode mode) = 0;
  // Removes `path`, durably; removing a missing file is not an error.
  virtual Future<Void> remove(std::string path) = 0;
  virtual Future<bool> exists(std::string path) = 0;
  // Atomically replaces `to` with `from`, durably.
  virtual Future<Void> rename(std::string from, std::string to) = 0;
  // Names of the files in `directory`, sorted.
  virtual Future<std::vector<std::string>> list(std::string directory) = 0;
};

}  // namespace flow
