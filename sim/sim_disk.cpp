#include "sim/sim_disk.h"

#include <algorithm>

#include "flow/actor.h"
#include "flow/code_probe.h"
#include "flow/combinators.h"
#include "flow/deterministic_random.h"
#include "flow/error.h"
#include "flow/trace_event.h"
#include "sim/detail/model_draw.h"

namespace sim {
namespace {

using flow::Error;
using flow::ErrorCode;

class SimFile final : public flow::IAsyncFile {
 public:
  SimFile(SimDisk& disk, std::shared_ptr<SimDisk::FileData> data, std::string path, bool writable)
      : disk_(disk), data_(std::move(data)), path_(std::move(path)), writable_(writable) {}

  flow::Future<size_t> read(std::span<uint8_t> buffer, int64_t offset) override {
    return flow::spawn([&disk = disk_, data = data_, buffer, offset, path = path_]() -> size_t {
      ASSERT_GE(offset, 0);
      disk.operation_delay(false, static_cast<int64_t>(buffer.size()));
      const auto& content = data->current;
      if (static_cast<size_t>(offset) >= content.size()) return 0;
      const size_t n = std::min(buffer.size(), content.size() - static_cast<size_t>(offset));
      content.read(static_cast<size_t>(offset), std::span(buffer.data(), n));
      disk.maybe_corrupt_read(std::span(buffer.data(), n), offset, path);
      return n;
    });
  }

  flow::Future<flow::Void> write(std::span<const uint8_t> data, int64_t offset) override {
    ASSERT_MSG(writable_, "write to {} opened read-only", path_);
    // Copy now: the model applies the bytes as they were when the write was issued.
    return flow::spawn([&disk = disk_, file = data_,
                        bytes = std::vector<uint8_t>(data.begin(), data.end()), offset,
                        path = path_]() mutable {
      ASSERT_GE(offset, 0);
      const bool done = disk.serve(false, static_cast<int64_t>(bytes.size()));
      const int64_t end = offset + static_cast<int64_t>(bytes.size());
      const int64_t growth = std::max<int64_t>(0, end - static_cast<int64_t>(file->current.size()));
      if (disk.used_bytes() + growth > disk.model().capacity_bytes) {
        CODE_PROBE(true, "a write finds the disk full");
        throw Error(ErrorCode::disk_full);
      }
      if (!done) {
        disk.write_part(*file, offset, bytes, path);
        throw Error(ErrorCode::io_error);
      }
      const int64_t at = disk.maybe_misdirect(*file, offset, bytes.size(), path);
      const int64_t at_end = at + static_cast<int64_t>(bytes.size());
      if (static_cast<size_t>(at_end) > file->current.size())
        disk.resize_current(*file, static_cast<size_t>(at_end));
      file->current.write(static_cast<size_t>(at), bytes);
      file->add_pending(false, at, std::move(bytes));
    });
  }

  flow::Future<flow::Void> truncate(int64_t size) override {
    ASSERT_MSG(writable_, "truncate of {} opened read-only", path_);
    return flow::spawn([&disk = disk_, file = data_, size] {
      ASSERT_GE(size, 0);
      disk.operation_delay(false);
      const int64_t growth = size - static_cast<int64_t>(file->current.size());
      if (growth > 0 && disk.used_bytes() + growth > disk.model().capacity_bytes) {
        CODE_PROBE(true, "a truncate that grows a file finds the disk full");
        throw Error(ErrorCode::disk_full);
      }
      disk.resize_current(*file, static_cast<size_t>(size));
      file->add_pending(true, size, {});
    });
  }

  flow::Future<flow::Void> allocate(int64_t bytes) override {
    ASSERT_MSG(writable_, "allocate in {} opened read-only", path_);
    return flow::spawn([&disk = disk_, file = data_, bytes] {
      ASSERT_GE(bytes, 0);
      disk.operation_delay(false);
      const int64_t growth = bytes - static_cast<int64_t>(file->current.size());
      if (growth <= 0) return;
      if (disk.used_bytes() + growth > disk.model().capacity_bytes) {
        CODE_PROBE(true, "an allocation finds the disk full");
        throw Error(ErrorCode::disk_full);
      }
      disk.resize_current(*file, static_cast<size_t>(bytes));
      // Like a truncate that grows the file: on a kill before a sync, kept or dropped whole.
      file->add_pending(true, bytes, {});
    });
  }

  flow::Future<flow::Void> sync() override {
    return flow::spawn([&disk = disk_, file = data_] {
      // Everything completed before the call is covered; later operations are not.
      const uint64_t cutoff = file->next_sequence;
      disk.operation_delay(true);
      auto& d = *file;
      size_t covered = 0;
      while (covered < d.pending.size() && d.pending[covered].sequence < cutoff) {
        const auto& p = d.pending[covered++];
        if (p.is_truncate) {
          d.durable.resize(static_cast<size_t>(p.offset));
        } else {
          d.durable.write(static_cast<size_t>(p.offset), p.bytes);
        }
      }
      d.pending.erase(d.pending.begin(), d.pending.begin() + static_cast<std::ptrdiff_t>(covered));
    });
  }

  flow::Future<int64_t> size() override {
    return flow::spawn([&disk = disk_, file = data_]() -> int64_t {
      disk.operation_delay(false);
      return static_cast<int64_t>(file->current.size());
    });
  }

  const std::string& path() const override { return path_; }

 private:
  SimDisk& disk_;
  std::shared_ptr<SimDisk::FileData> data_;
  std::string path_;
  bool writable_;
};

}  // namespace

void SimDisk::resize_current(FileData& file, size_t size) {
  if (file.linked) {
    used_bytes_ += static_cast<int64_t>(size) - static_cast<int64_t>(file.current.size());
  }
  file.current.resize(size);
}

void SimDisk::unlink(FileData& file) {
  if (!file.linked) return;
  file.linked = false;
  used_bytes_ -= static_cast<int64_t>(file.current.size());
}

void SimDisk::remove(const std::string& path) {
  auto it = files_.find(path);
  if (it == files_.end()) return;
  unlink(*it->second);
  files_.erase(it);
}

void SimDisk::wipe() {
  for (auto& [path, data] : files_)
    unlink(*data);
  files_.clear();
  ASSERT_EQ(used_bytes_, 0);
}

std::shared_ptr<SimDisk::FileData> SimDisk::find(const std::string& path) const {
  auto it = files_.find(path);
  return it == files_.end() ? nullptr : it->second;
}

std::shared_ptr<SimDisk::FileData> SimDisk::create(const std::string& path) {
  auto& slot = files_[path];
  if (!slot) slot = std::make_shared<FileData>();
  return slot;
}

void SimDisk::rename(const std::string& from, const std::string& to) {
  auto it = files_.find(from);
  if (it == files_.end()) throw Error(ErrorCode::file_not_found);
  std::shared_ptr<FileData> data = std::move(it->second);
  files_.erase(it);
  auto& slot = files_[to];
  if (slot) unlink(*slot);  // the file it replaces
  slot = std::move(data);
}

std::vector<std::string> SimDisk::paths() const {
  std::vector<std::string> out;
  for (const auto& [path, data] : files_)
    out.push_back(path);
  return out;
}

void SimDisk::kill() {
  auto& rng = flow::deterministic_random();
  const auto sector = static_cast<size_t>(model_.sector_bytes);
  int64_t kept = 0, dropped = 0, torn = 0;
  for (auto& [path, data] : files_) {
    FileData& d = *data;
    if (d.pending.empty()) continue;  // the current bytes are the durable ones
    for (const FileData::Pending& p : d.pending) {
      const double fate = rng.random01();
      if (fate < model_.keep_probability) {
        CODE_PROBE(true, "a power loss keeps an unsynced write");
        ++kept;
        if (p.is_truncate) {
          d.durable.resize(static_cast<size_t>(p.offset));
        } else {
          d.durable.write(static_cast<size_t>(p.offset), p.bytes);
        }
      } else if (!p.is_truncate && fate < model_.keep_probability + model_.tear_probability) {
        CODE_PROBE(true, "a power loss tears an unsynced write");
        ++torn;
        // Sector by sector (sectors of the file, not of the write), each new or old.
        const auto begin = static_cast<size_t>(p.offset);
        const size_t end = begin + p.bytes.size();
        for (size_t s = begin / sector * sector; s < end; s += sector) {
          if (!rng.coinflip()) continue;
          const size_t lo = std::max(s, begin);
          const size_t hi = std::min(s + sector, end);
          d.durable.write(lo, std::span(p.bytes).subspan(lo - begin, hi - lo));
        }
      } else {
        CODE_PROBE(!p.is_truncate, "a power loss drops an unsynced write");
        CODE_PROBE(p.is_truncate, "a power loss drops an unsynced truncate");
        ++dropped;
      }
    }
    used_bytes_ += static_cast<int64_t>(d.durable.size()) - static_cast<int64_t>(d.current.size());
    d.current = d.durable;  // shares the pages: no copy
    d.pending.clear();
  }
  flow::TraceEvent(flow::SevInfo, "SimDiskKilled")
      .detail("Kept", kept)
      .detail("Dropped", dropped)
      .detail("Torn", torn);
}

bool SimDisk::corrupt_random_bit() {
  auto& rng = flow::deterministic_random();
  std::vector<std::pair<const std::string*, FileData*>> candidates;
  for (auto& [path, data] : files_)
    if (!data->durable.empty()) candidates.emplace_back(&path, data.get());
  if (candidates.empty()) return false;
  const auto [path, file] =
      candidates[static_cast<size_t>(rng.random_int(0, static_cast<int64_t>(candidates.size())))];
  FileData& d = *file;
  const auto byte = static_cast<size_t>(rng.random_int(0, static_cast<int64_t>(d.durable.size())));
  const auto bit = static_cast<uint8_t>(1u << rng.random_int(0, 8));
  CODE_PROBE(true, "a bit flips in durable data");
  d.durable.flip_bits(byte, bit);
  ++counts_.bits_flipped;
  // The flip is in the medium: what is read back (cached or not) shows it.
  if (byte < d.current.size()) d.current.flip_bits(byte, bit);
  flow::TraceEvent(flow::SevInfo, "SimDiskBitFlip")
      .detail("File", *path)
      .detail("Offset", static_cast<int64_t>(byte));
  return true;
}

void SimDisk::write_part(FileData& file, int64_t offset, const std::vector<uint8_t>& bytes,
                         const std::string& path) {
  auto& rng = flow::deterministic_random();
  const auto sector = static_cast<size_t>(model_.sector_bytes);
  const auto begin = static_cast<size_t>(offset);
  const size_t end = begin + bytes.size();
  int64_t landed = 0;
  // Sector by sector (sectors of the file), each landed or not; a run of landed sectors is one
  // unsynced write.
  size_t run_begin = begin, run_end = begin;
  auto flush_run = [&] {
    if (run_end == run_begin) return;
    if (file.current.size() < run_end) resize_current(file, run_end);
    std::vector<uint8_t> part(bytes.begin() + static_cast<std::ptrdiff_t>(run_begin - begin),
                              bytes.begin() + static_cast<std::ptrdiff_t>(run_end - begin));
    file.current.write(run_begin, part);
    file.add_pending(false, static_cast<int64_t>(run_begin), std::move(part));
  };
  for (size_t s = begin / sector * sector; s < end; s += sector) {
    const size_t lo = std::max(s, begin);
    const size_t hi = std::min(s + sector, end);
    if (rng.coinflip()) {
      if (run_end != lo) {
        flush_run();
        run_begin = lo;
      }
      run_end = hi;
      landed += static_cast<int64_t>(hi - lo);
    }
  }
  flush_run();
  CODE_PROBE(landed > 0 && landed < static_cast<int64_t>(bytes.size()),
             "a failed write leaves part of itself on the disk");
  ++counts_.writes_failed_partly;
  flow::TraceEvent(flow::SevInfo, "SimDiskWriteFailedPartly")
      .detail("File", path)
      .detail("Offset", offset)
      .detail("Bytes", static_cast<int64_t>(bytes.size()))
      .detail("Landed", landed);
}

int64_t SimDisk::maybe_misdirect(const FileData& file, int64_t offset, size_t bytes,
                                 const std::string& path) {
  if (!faults_.enabled || faults_.misdirect_probability <= 0 || bytes == 0) return offset;
  const auto sector = static_cast<size_t>(model_.sector_bytes);
  // Somewhere else in the file as it stands, a whole number of sectors away.
  if (file.current.size() < 2 * bytes + sector) return offset;
  ++counts_.writes_misdirectable;
  auto& rng = flow::deterministic_random();
  if (!rng.random_bool(faults_.misdirect_probability)) return offset;
  const auto slots = static_cast<int64_t>((file.current.size() - bytes) / sector);
  int64_t at = offset;
  for (int tries = 0; tries < 4 && at == offset; ++tries) {
    const int64_t shift = rng.random_int(-slots, slots + 1) * static_cast<int64_t>(sector);
    const int64_t candidate = offset + shift;
    if (candidate >= 0 && static_cast<size_t>(candidate) + bytes <= file.current.size()) {
      at = candidate;
    }
  }
  if (at == offset) return offset;
  CODE_PROBE(true, "the disk misdirects a write");
  ++counts_.writes_misdirected;
  flow::TraceEvent(flow::SevInfo, "SimDiskMisdirectedWrite")
      .detail("File", path)
      .detail("Meant", offset)
      .detail("Landed", at)
      .detail("Bytes", static_cast<int64_t>(bytes));
  return at;
}

void SimDisk::maybe_corrupt_read(std::span<uint8_t> got, int64_t offset, const std::string& path) {
  if (!faults_.enabled || faults_.read_corruption_probability <= 0 || got.empty()) return;
  auto& rng = flow::deterministic_random();
  if (!rng.random_bool(faults_.read_corruption_probability)) return;
  const auto byte = static_cast<size_t>(rng.random_int(0, static_cast<int64_t>(got.size())));
  got[byte] ^= static_cast<uint8_t>(1u << rng.random_int(0, 8));
  CODE_PROBE(true, "a read returns a flipped bit");
  ++counts_.reads_corrupted;
  flow::TraceEvent(flow::SevInfo, "SimDiskReadCorrupted")
      .detail("File", path)
      .detail("Offset", offset + static_cast<int64_t>(byte));
}

flow::Duration SimDisk::transfer_time(int64_t bytes) const {
  if (bytes <= 0) return flow::Duration(0);
  return flow::from_seconds(static_cast<double>(bytes) /
                            static_cast<double>(std::max<int64_t>(model_.bytes_per_second, 1)));
}

void SimDisk::operation_delay(bool is_sync, int64_t bytes) {
  if (!serve(is_sync, bytes)) throw Error(ErrorCode::io_error);
}

bool SimDisk::serve(bool is_sync, int64_t bytes) {
  auto& rng = flow::deterministic_random();
  bytes_moved_ += bytes;
  const flow::Time now = flow::now();
  const flow::Time start = std::max(now, busy_until_);
  // The disk is busy with this operation for its share of the iops and its bytes' transfer.
  const flow::Duration transfer = transfer_time(bytes);
  busy_until_ =
      start + flow::Duration(1'000'000'000 / std::max<int64_t>(model_.iops, 1)) + transfer;
  flow::Duration latency =
      transfer + (is_sync
                      ? detail::draw_between(rng, model_.min_sync_latency, model_.max_sync_latency)
                      : detail::draw_between(rng, model_.min_latency, model_.max_latency));
  if (faults_.enabled) {
    if (rng.random_bool(faults_.stall_probability)) {
      CODE_PROBE(true, "a disk operation stalls");
      latency += detail::draw_between(rng, flow::Duration(0), faults_.stall_max);
    }
    if (rng.random_bool(faults_.io_timeout_probability)) {
      flow::wait(flow::delay_until(start + faults_.timeout_delay));
      // After the wait: a fault counts once it reaches the caller, not when a kill cancels it.
      CODE_PROBE(is_sync, "a sync times out");
      CODE_PROBE(!is_sync, "a disk operation other than a sync times out");
      throw Error(ErrorCode::io_timeout);
    }
    const bool sync_fails = is_sync && faults_.sync_error_probability > 0 &&
                            rng.random_bool(faults_.sync_error_probability);
    if (rng.random_bool(faults_.io_error_probability) || sync_fails) {
      flow::wait(flow::delay_until(start + latency));
      CODE_PROBE(is_sync, "a sync fails with an I/O error");
      CODE_PROBE(!is_sync, "a disk operation other than a sync fails with an I/O error");
      return false;
    }
  }
  flow::wait(flow::delay_until(start + latency));
  return true;
}

std::string SimFileSystem::full_path(const std::string& path) const {
  if (!path.empty() && path.front() == '/') return path;
  return folder_.empty() ? path : folder_ + "/" + path;
}

flow::Future<std::shared_ptr<flow::IAsyncFile>> SimFileSystem::open(std::string path,
                                                                    flow::OpenMode mode) {
  return flow::spawn([this, path = std::move(path), mode]() -> std::shared_ptr<flow::IAsyncFile> {
    disk_.operation_delay(false);
    const std::string full = full_path(path);
    const bool existing = disk_.find(full) != nullptr;
    switch (mode) {
      case flow::OpenMode::kReadOnly:
      case flow::OpenMode::kReadWrite:
        if (!existing) throw Error(ErrorCode::file_not_found);
        break;
      case flow::OpenMode::kReadWriteCreate:
        break;
      case flow::OpenMode::kCreateExclusive:
        if (existing) throw Error(ErrorCode::io_error);
        break;
    }
    // The handle shares the file's data: like a POSIX file, it stays usable after a remove.
    return std::make_shared<SimFile>(disk_, disk_.create(full), full,
                                     mode != flow::OpenMode::kReadOnly);
  });
}

flow::Future<flow::Void> SimFileSystem::remove(std::string path) {
  return flow::spawn([this, path = std::move(path)] {
    disk_.operation_delay(false);
    disk_.remove(full_path(path));
  });
}

flow::Future<bool> SimFileSystem::exists(std::string path) {
  return flow::spawn([this, path = std::move(path)] {
    disk_.operation_delay(false);
    return disk_.find(full_path(path)) != nullptr;
  });
}

flow::Future<flow::Void> SimFileSystem::rename(std::string from, std::string to) {
  return flow::spawn([this, from = std::move(from), to = std::move(to)] {
    disk_.operation_delay(false);
    disk_.rename(full_path(from), full_path(to));
  });
}

flow::Future<std::vector<std::string>> SimFileSystem::list(std::string directory) {
  return flow::spawn([this, directory = std::move(directory)] {
    disk_.operation_delay(false);
    std::string prefix = full_path(directory);
    if (!prefix.empty() && prefix.back() != '/') prefix += '/';
    std::vector<std::string> names;
    for (const std::string& p : disk_.paths()) {
      if (p.compare(0, prefix.size(), prefix) != 0) continue;
      const std::string rest = p.substr(prefix.size());
      if (rest.find('/') == std::string::npos) names.push_back(rest);
    }
    return names;
  });
}

}  // namespace sim
