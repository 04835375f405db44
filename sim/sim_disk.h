#pragma once
// SimDisk — a simulated machine's disk, and the IFileSystem / IAsyncFile a process sees on it.
//
// The model. Each file keeps the bytes that are durable (as of its last completed sync) and the
// list of writes and truncates made since. Reads see every completed write. sync() makes them all
// durable. When the machine is killed, each unsynced operation independently is
//   kept     — applied in full,
//   dropped  — not applied at all, or
//   torn     — (writes only) applied sector by sector, each sector of it either new or old,
// with probabilities drawn per run. So after a kill every byte holds its durable value or the value
// of some unsynced write that covered it, and nothing else: that is what a storage engine may rely
// on, and what the durability workload checks. Creating, removing and renaming files is durable
// when the operation completes (as if the directory were synced).
//
// Time: every operation takes a latency drawn from the model, and holds the disk for 1/iops plus
// its bytes at `bytes_per_second` (operations queue behind each other: a 64 MiB write delays what
// comes after it).
//
// Faults, while enabled: injected io_error and io_timeout, stalls (a long extra latency), and a
// full disk (capacity). A write that fails with io_error may have been partly done, as on a real
// disk: each of its sectors independently landed or not (unsynced, like any write). Corruption
// (see sim/fault_atlas.h: only where the fault atlas allows it): bit flips in durable data
// (corrupt_random_bit, called by a fault injector), misdirected writes (the write lands whole on
// other sectors of the same file and the sectors it meant keep their old bytes; the caller sees
// success) and reads that return one flipped bit while the medium is fine.
//
// Operations run as actors of the calling process, so killing the process abandons them: an
// operation that had not completed is as if never issued.

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "flow/assert.h"
#include "flow/file_system.h"
#include "flow/time.h"
#include "sim/paged_bytes.h"

namespace sim {

struct DiskModel {
  flow::Duration min_latency = std::chrono::microseconds(50);
  flow::Duration max_latency = std::chrono::microseconds(500);
  flow::Duration min_sync_latency = std::chrono::microseconds(500);
  flow::Duration max_sync_latency = std::chrono::milliseconds(5);
  int64_t iops = 20'000;
  int64_t bytes_per_second = int64_t{200} << 20;
  int64_t capacity_bytes = int64_t{1} << 30;
  int64_t sector_bytes = 512;
  // Fates of unsynced operations on a kill; the rest are dropped.
  double keep_probability = 0.4;
  double tear_probability = 0.3;
};

struct DiskFaults {
  bool enabled = false;
  double io_error_probability = 0;  // per operation
  // Per sync, besides io_error_probability: the sync fails with io_error and what it covered
  // stays unsynced, though reads still see it (as after a failed fsync on Linux).
  double sync_error_probability = 0;
  double io_timeout_probability = 0;  // per operation: fails with io_timeout after timeout_delay
  flow::Duration timeout_delay = std::chrono::seconds(5);
  double stall_probability = 0;  // per operation: an extra latency up to stall_max
  flow::Duration stall_max = std::chrono::seconds(1);
  // Corruption; set only through Simulator::set_disk_corruption, which asks the fault atlas.
  double misdirect_probability = 0;        // per write of a file at least twice its length
  double read_corruption_probability = 0;  // per read that returns bytes
};

// What the disk has injected so far: a spec that asked for a fault can show it fired.
struct DiskFaultCounts {
  int64_t writes_failed_partly = 0;
  int64_t writes_misdirected = 0;
  // Writes that misdirection could have moved (on, and the file large enough): with the
  // probability, how many misdirected writes to expect.
  int64_t writes_misdirectable = 0;
  int64_t reads_corrupted = 0;
  int64_t bits_flipped = 0;
};

class SimDisk {
 public:
  // REQUIRES: each min <= its max (equal is a fixed latency).
  explicit SimDisk(DiskModel model = {}) : model_(model) {
    ASSERT_LE(model_.min_latency.count(), model_.max_latency.count());
    ASSERT_LE(model_.min_sync_latency.count(), model_.max_sync_latency.count());
  }
  SimDisk(const SimDisk&) = delete;
  SimDisk& operator=(const SimDisk&) = delete;

  const DiskModel& model() const { return model_; }
  DiskFaults& faults() { return faults_; }
  const DiskFaultCounts& fault_counts() const { return counts_; }
  // Bytes that reads and writes asked this disk to move so far (failed ones too): the work a
  // simulation spends copying, beside its scheduler tasks.
  int64_t bytes_moved() const { return bytes_moved_; }
  // Bytes held by every file's current contents; writes beyond capacity fail with disk_full.
  // A removed file that is still open no longer counts.
  int64_t used_bytes() const { return used_bytes_; }
  void set_capacity(int64_t bytes) { model_.capacity_bytes = bytes; }

  // The machine loses power: every file's unsynced operations are kept, dropped or torn.
  void kill();
  // Every file is gone (a machine replaced, or reboot-and-wipe).
  void wipe();
  // Flips one random bit of one random durable byte; returns false if there is no data to corrupt.
  // A corruption fault: call it through Simulator::corrupt_disk, which asks the fault atlas.
  bool corrupt_random_bit();

  // Sorted paths of every file on the disk.
  std::vector<std::string> paths() const;

  struct FileData;
  // For SimFileSystem and SimFile.
  std::shared_ptr<FileData> find(const std::string& path) const;
  // The file at `path`, created empty if missing.
  std::shared_ptr<FileData> create(const std::string& path);
  void remove(const std::string& path);
  void rename(const std::string& from, const std::string& to);
  // Sets a file's current size (zero-filling growth), keeping used_bytes() in step.
  void resize_current(FileData& file, size_t size);
  // Waits out one operation's latency (queueing behind earlier ones, and `bytes` at the disk's
  // bandwidth) and maybe injects a fault: throws io_error or io_timeout. May suspend.
  void operation_delay(bool is_sync, int64_t bytes = 0);
  // The same, but an injected io_error is returned (false, after the latency) instead of thrown,
  // so that a write can leave part of itself behind. May suspend.
  bool serve(bool is_sync, int64_t bytes);
  // For SimFile. A write that failed: a random part of it lands, sector by sector (unsynced).
  void write_part(FileData& file, int64_t offset, const std::vector<uint8_t>& bytes,
                  const std::string& path);
  // Where a write of `bytes` at `offset` lands: `offset`, or, if the disk misdirects it, another
  // place in the file a whole number of sectors away.
  int64_t maybe_misdirect(const FileData& file, int64_t offset, size_t bytes,
                          const std::string& path);
  // Maybe flips one bit of what a read returned (the medium keeps its bytes).
  void maybe_corrupt_read(std::span<uint8_t> got, int64_t offset, const std::string& path);

 private:
  DiskModel model_;
  DiskFaults faults_;
  DiskFaultCounts counts_;
  // Forgets `file` (removed, replaced or wiped): it stops counting towards used_bytes().
  void unlink(FileData& file);
  // How long `bytes` take to move at the disk's bandwidth.
  flow::Duration transfer_time(int64_t bytes) const;

  std::map<std::string, std::shared_ptr<FileData>> files_;  // ordered: iteration is by path
  int64_t bytes_moved_ = 0;
  int64_t used_bytes_ = 0;  // the sum of linked files' current sizes
  flow::Time busy_until_ = flow::kTimeZero;
};

struct SimDisk::FileData {
  struct Pending {
    uint64_t sequence;
    bool is_truncate;
    int64_t offset;  // write offset, or the truncated size
    std::vector<uint8_t> bytes;
  };
  PagedBytes durable;
  PagedBytes current;
  std::vector<Pending> pending;  // in completion order
  bool linked = true;            // still in the disk's directory
  uint64_t next_sequence = 0;

  void add_pending(bool is_truncate, int64_t offset, std::vector<uint8_t> bytes) {
    pending.push_back({next_sequence++, is_truncate, offset, std::move(bytes)});
  }
};

// The file system of one simulated process: paths are relative to its data folder.
class SimFileSystem final : public flow::IFileSystem {
 public:
  SimFileSystem(SimDisk& disk, std::string data_folder)
      : disk_(disk), folder_(std::move(data_folder)) {}

  flow::Future<std::shared_ptr<flow::IAsyncFile>> open(std::string path,
                                                       flow::OpenMode mode) override;
  flow::Future<flow::Void> remove(std::string path) override;
  flow::Future<bool> exists(std::string path) override;
  flow::Future<flow::Void> rename(std::string from, std::string to) override;
  flow::Future<std::vector<std::string>> list(std::string directory) override;

  // The path on the disk that `path` names for this process.
  std::string full_path(const std::string& path) const;

 private:
  SimDisk& disk_;
  std::string folder_;
};

}  // namespace sim
