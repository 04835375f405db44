#include "storage/memory_key_value_store.h"

#include <xxhash.h>

#include <algorithm>

#include "flow/error.h"
#include "flow/little_endian.h"
#include "flow/trace_event.h"

namespace storage {

using flow::Error;
using flow::ErrorCode;

namespace {

// Log operations. Each is [type u8][length of a u32][length of b u32][a][b]; a record holds a
// run of them.
enum OpType : uint8_t {
  kSet = 1,        // a = key, b = value (also a snapshot item)
  kClear = 2,      // a = begin, b = end
  kCommit = 3,     // the operations since the last commit or rollback mark are one commit
  kRollback = 4,   // the operations since the last mark never committed: drop them
  kPassStart = 5,  // a snapshot pass starts here; always the first operation of its record
};
constexpr size_t kOpHeaderBytes = 9;
// A record is pushed once it reaches this size.
constexpr size_t kRecordBytes = 64 * 1024;
// Each commit with operations logs at least this much of the snapshot pass.
constexpr int64_t kMinSnapshotSlice = 16 * 1024;

struct Op {
  uint8_t type;
  std::string_view a;
  std::string_view b;
};

// Splits a record into its operations; false if it is malformed.
bool parse_ops(const std::vector<uint8_t>& payload, std::vector<Op>& out) {
  size_t at = 0;
  while (at < payload.size()) {
    if (payload.size() - at < kOpHeaderBytes) return false;
    const uint8_t* p = payload.data() + at;
    const uint64_t a_len = flow::get_le(p + 1, 4);
    const uint64_t b_len = flow::get_le(p + 5, 4);
    if (p[0] < kSet || p[0] > kPassStart) return false;
    if (a_len + b_len > payload.size() - at - kOpHeaderBytes) return false;
    const char* text = reinterpret_cast<const char*>(p + kOpHeaderBytes);
    out.push_back({p[0], std::string_view(text, a_len), std::string_view(text + a_len, b_len)});
    at += kOpHeaderBytes + a_len + b_len;
  }
  return true;
}

[[noreturn]] void corrupt(const std::string& name, const char* why) {
  flow::TraceEvent(flow::SevWarnAlways, "MemoryStoreCorrupt")
      .detail("Store", name)
      .detail("Reason", why);
  throw Error(ErrorCode::checksum_failed);
}

}  // namespace

std::unique_ptr<MemoryKeyValueStore> MemoryKeyValueStore::open(flow::IFileSystem& fs,
                                                               const std::string& name,
                                                               KeyValueStoreOptions options) {
  DiskQueueOptions queue_options;
  queue_options.file_bytes = options.log_file_bytes;
  if (options.max_key_bytes + options.max_value_bytes + kOpHeaderBytes >
      queue_options.max_record_bytes) {
    throw Error(ErrorCode::invalid_option_value);
  }
  std::unique_ptr<MemoryKeyValueStore> store(new MemoryKeyValueStore(options));
  store->queue_ = DiskQueue::open(fs, name + ".log", queue_options);
  store->replay_from_log(name);
  return store;
}

void MemoryKeyValueStore::replay_from_log(const std::string& name) {
  std::vector<DiskQueueRecord>& records = queue_->recovered();
  // The log starts at its very first record or at a snapshot pass: either way from nothing.
  if (!records.empty() && records.front().sequence != 1 &&
      (records.front().payload.empty() || records.front().payload[0] != kPassStart)) {
    corrupt(name, "LogDoesNotStartAtSnapshot");
  }
  std::vector<Op> ops;
  std::vector<Op> pending;
  uint64_t commits = 0;
  for (const DiskQueueRecord& record : records) {
    ops.clear();
    if (!parse_ops(record.payload, ops)) corrupt(name, "MalformedRecord");
    for (const Op& op : ops) {
      switch (op.type) {
        case kSet:
        case kClear:
          pending.push_back(op);
          break;
        case kCommit:
          for (const Op& p : pending) {
            if (p.type == kSet) {
              apply_set(p.a, p.b);
            } else {
              apply_clear(p.a, p.b);
            }
          }
          pending.clear();
          ++commits;
          break;
        case kRollback:
          pending.clear();
          break;
        default:
          break;
      }
    }
  }
  if (!pending.empty()) log_op(kRollback, {}, {});
  flow::TraceEvent(flow::SevInfo, "MemoryStoreRecovered")
      .detail("Store", name)
      .detail("Records", static_cast<int64_t>(records.size()))
      .detail("Commits", commits)
      .detail("DroppedOps", static_cast<int64_t>(pending.size()))
      .detail("Keys", static_cast<int64_t>(data_.size()))
      .detail("LiveBytes", live_bytes_);
  records.clear();
  records.shrink_to_fit();
}

void MemoryKeyValueStore::check_usable() const {
  if (failed_) throw *failed_;
}

void MemoryKeyValueStore::set(std::string_view key, std::string_view value) {
  check_usable();
  check_key_value_sizes(options_, key, value);
  log_op(kSet, key, value);
  apply_set(key, value);
}

void MemoryKeyValueStore::clear(std::string_view begin, std::string_view end) {
  check_usable();
  check_range_key_sizes(options_, begin, end);
  if (!(begin < end)) return;
  log_op(kClear, begin, end);
  apply_clear(begin, end);
}

size_t MemoryKeyValueStore::KeyHash::operator()(std::string_view key) const {
  return static_cast<size_t>(XXH3_64bits(key.data(), key.size()));
}

void MemoryKeyValueStore::apply_set(std::string_view key, std::string_view value) {
  if (auto found = index_.find(key); found != index_.end()) {
    std::string& old = *found->second;
    live_bytes_ += static_cast<int64_t>(value.size()) - static_cast<int64_t>(old.size());
    old.assign(value);
    return;
  }
  auto it = data_.emplace_hint(data_.lower_bound(key), std::string(key), std::string(value));
  index_.emplace(it->first, &it->second);
  live_bytes_ += static_cast<int64_t>(key.size() + value.size());
}

void MemoryKeyValueStore::apply_clear(std::string_view begin, std::string_view end) {
  if (!(begin < end)) return;
  auto first = data_.lower_bound(begin);
  auto last = data_.lower_bound(end);
  for (auto it = first; it != last; ++it) {
    live_bytes_ -= static_cast<int64_t>(it->first.size() + it->second.size());
    index_.erase(it->first);
  }
  data_.erase(first, last);
}

void MemoryKeyValueStore::log_op(uint8_t type, std::string_view a, std::string_view b) {
  const size_t bytes = kOpHeaderBytes + a.size() + b.size();
  if (!record_.empty() && record_.size() + bytes > kRecordBytes) push_record();
  const size_t at = record_.size();
  record_.resize(at + bytes);
  uint8_t* p = record_.data() + at;
  p[0] = type;
  flow::put_le(p + 1, a.size(), 4);
  flow::put_le(p + 5, b.size(), 4);
  std::copy(a.begin(), a.end(), p + kOpHeaderBytes);
  std::copy(b.begin(), b.end(), p + kOpHeaderBytes + a.size());
  bytes_since_commit_ += static_cast<int64_t>(bytes);
}

void MemoryKeyValueStore::push_record() {
  if (record_.empty()) return;
  try {
    queue_->push(record_);
  } catch (const Error& e) {
    failed_ = e;
    throw;
  }
  record_.clear();
}

bool MemoryKeyValueStore::log_snapshot_slice(int64_t budget) {
  if (!pass_in_progress_) {
    push_record();  // a pass starts a record, so that replay can start from it
    pass_start_ = queue_->next_sequence();
    log_op(kPassStart, {}, {});
    pass_in_progress_ = true;
    pass_cursor_set_ = false;
  }
  auto it = pass_cursor_set_ ? data_.upper_bound(pass_cursor_) : data_.begin();
  int64_t logged = 0;
  for (; it != data_.end() && logged < budget; ++it) {
    log_op(kSet, it->first, it->second);
    logged += static_cast<int64_t>(kOpHeaderBytes + it->first.size() + it->second.size());
    pass_cursor_ = it->first;
    pass_cursor_set_ = true;
  }
  if (it != data_.end()) return false;
  pass_in_progress_ = false;
  ++snapshot_passes_;
  return true;
}

void MemoryKeyValueStore::commit() {
  check_usable();
  uint64_t popped_up_to = 0;
  if (bytes_since_commit_ > 0) {
    const int64_t budget = std::max(kMinSnapshotSlice, 2 * bytes_since_commit_);
    if (log_snapshot_slice(budget)) popped_up_to = pass_start_;
    log_op(kCommit, {}, {});
    push_record();
    bytes_since_commit_ = 0;
  }
  try {
    queue_->commit();
  } catch (const Error& e) {
    failed_ = e.code() == ErrorCode::operation_cancelled ? Error(ErrorCode::io_error) : e;
    throw;
  }
  // The pass that completed is durable: nothing before its start is needed any more.
  if (popped_up_to != 0) queue_->pop(popped_up_to);
}

std::optional<std::string> MemoryKeyValueStore::read_value(std::string_view key) {
  check_usable();
  auto it = index_.find(key);
  if (it == index_.end()) return std::nullopt;
  return *it->second;
}

RangeResult MemoryKeyValueStore::read_range(std::string_view begin, std::string_view end,
                                            RangeLimits limits) {
  check_usable();
  RangeResult result;
  if (!(begin < end) || limits.rows <= 0) return result;
  auto first = data_.lower_bound(begin);
  auto last = data_.lower_bound(end);
  int64_t bytes = 0;
  auto take = [&](const std::pair<const std::string, std::string>& kv) {
    result.rows.push_back({kv.first, kv.second});
    bytes += static_cast<int64_t>(kv.first.size() + kv.second.size());
    return static_cast<int64_t>(result.rows.size()) >= limits.rows || bytes >= limits.bytes;
  };
  if (!limits.reverse) {
    for (auto it = first; it != last; ++it) {
      if (take(*it)) {
        result.more = std::next(it) != last;
        break;
      }
    }
  } else {
    for (auto it = last; it != first;) {
      --it;
      if (take(*it)) {
        result.more = it != first;
        break;
      }
    }
  }
  return result;
}

StorageBytes MemoryKeyValueStore::storage_bytes() {
  check_usable();
  return {live_bytes_, queue_->file_bytes()};
}

}  // namespace storage
