#include "storage/memory_key_value_store.h"

#include <xxhash.h>

#include <algorithm>
#include <iterator>
#include <span>

#include "flow/assert.h"
#include "flow/buggify.h"
#include "flow/code_probe.h"
#include "flow/error.h"
#include "flow/trace_event.h"
#include "storage/detail/memory_store_format.h"

namespace storage {

using flow::Error;
using flow::ErrorCode;

namespace {

using detail::MemoryEntry;
using detail::MemoryEntryPtr;
using detail::MemoryOpHeader;
using detail::MemoryOpType;

// A record is pushed once it reaches this size.
constexpr size_t kRecordBytes = 64 * 1024;
// Each commit with operations logs at least this much of a snapshot pass under way.
constexpr int64_t kMinSnapshotSlice = 16 * 1024;

constexpr uint8_t op_type(MemoryOpType t) {
  return static_cast<uint8_t>(t);
}

struct Op {
  uint8_t type;
  std::string_view a;
  std::string_view b;
};

// Splits a record into its operations; false if it is malformed.
bool parse_ops(std::span<const uint8_t> payload, std::vector<Op>& out) {
  size_t at = 0;
  while (at < payload.size()) {
    if (payload.size() - at < MemoryOpHeader::kBytes) return false;
    const uint8_t* p = payload.data() + at;
    const MemoryOpHeader h = MemoryOpHeader::decode(p);
    if (h.type < detail::kMemoryOpTypeMin || h.type > detail::kMemoryOpTypeMax) return false;
    if (uint64_t{h.a_bytes} + h.b_bytes > payload.size() - at - MemoryOpHeader::kBytes)
      return false;
    const char* text = reinterpret_cast<const char*>(p + MemoryOpHeader::kBytes);
    out.push_back(
        {h.type, std::string_view(text, h.a_bytes), std::string_view(text + h.a_bytes, h.b_bytes)});
    at += h.op_bytes();
  }
  return true;
}

// In simulation, the writer's half of a pair assertion: a record about to be pushed parses back
// as `ops` operations of `bytes` bytes in all, a pass start only first. Replay's parse is the
// reading half.
bool parses_back(std::span<const uint8_t> record, size_t ops, int64_t bytes) {
  std::vector<Op> parsed;
  if (!parse_ops(record, parsed) || parsed.size() != ops) return false;
  int64_t total = 0;
  for (size_t i = 0; i < parsed.size(); ++i) {
    if (parsed[i].type == op_type(MemoryOpType::kPassStart) && i != 0) return false;
    total += static_cast<int64_t>(MemoryOpHeader::kBytes + parsed[i].a.size() + parsed[i].b.size());
  }
  return total == bytes && static_cast<size_t>(total) == record.size();
}

[[noreturn]] void corrupt(const std::string& name, const char* why) {
  CODE_PROBE(true, "memory engine recovery finds its log malformed");
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
  if (options.max_key_bytes + options.max_value_bytes + MemoryOpHeader::kBytes >
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
      (records.front().payload.size() < MemoryOpHeader::kBytes ||
       MemoryOpHeader::decode(records.front().payload.data()).type !=
           op_type(MemoryOpType::kPassStart))) {
    corrupt(name, "LogDoesNotStartAtSnapshot");
  }
  std::vector<Op> ops;
  std::vector<Op> pending;
  uint64_t commits = 0;
  for (const DiskQueueRecord& record : records) {
    // Every recovered record is unpopped: the log as it stands.
    logged_total_bytes_ += static_cast<int64_t>(record.payload.size());
    ops.clear();
    if (!parse_ops(record.payload, ops)) corrupt(name, "MalformedRecord");
    for (const Op& op : ops) {
      switch (static_cast<MemoryOpType>(op.type)) {
        case MemoryOpType::kSet:
        case MemoryOpType::kClear:
          pending.push_back(op);
          break;
        case MemoryOpType::kCommit:
          for (const Op& p : pending) {
            if (p.type == op_type(MemoryOpType::kSet)) {
              apply_set(p.a, p.b);
            } else {
              apply_clear(p.a, p.b);
            }
          }
          pending.clear();
          ++commits;
          break;
        case MemoryOpType::kRollback:
          pending.clear();
          break;
        case MemoryOpType::kPassStart:
          break;
      }
    }
  }
  CODE_PROBE(!records.empty() && records.front().sequence != 1,
             "memory engine replays its log from a snapshot pass");
  CODE_PROBE(!pending.empty(), "memory engine drops an unmarked commit at its log's tail");
  if (!pending.empty()) log_op(MemoryOpType::kRollback, {}, {});
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
  log_op(MemoryOpType::kSet, key, value);
  apply_set(key, value);
}

void MemoryKeyValueStore::clear(std::string_view begin, std::string_view end) {
  check_usable();
  check_range_key_sizes(options_, begin, end);
  if (!(begin < end)) return;
  log_op(MemoryOpType::kClear, begin, end);
  apply_clear(begin, end);
}

namespace {

uint64_t key_hash(std::string_view key) {
  return XXH3_64bits(key.data(), key.size());
}

}  // namespace

void MemoryKeyValueStore::apply_set(std::string_view key, std::string_view value) {
  const uint64_t hash = key_hash(key);
  // A key after every other (a load in key order, a growing counter) is new: no lookup needed,
  // and it goes at the map's end.
  const bool after_all = data_.empty() || (*std::prev(data_.end()))->key() < key;
  if (!after_all) {
    if (MemoryEntry* found = index_.find(key, hash)) {
      live_bytes_ +=
          static_cast<int64_t>(value.size()) - static_cast<int64_t>(found->value().size());
      if (value.size() <= found->value_capacity()) {
        found->assign_value(value);
        return;
      }
      // A longer value: a new entry takes the old one's place in the set's node and the index.
      MemoryEntryPtr bigger(MemoryEntry::make(key, value));
      auto node = data_.extract(found);
      ASSERT(!node.empty());
      MemoryEntryPtr old(node.value());
      node.value() = bigger.get();
      auto inserted = data_.insert(std::move(node));
      ASSERT(inserted.inserted);
      index_.replace(key, hash, bigger.release());
      return;
    }
  }
  MemoryEntryPtr entry(MemoryEntry::make(key, value));
  data_.emplace_hint(after_all ? data_.end() : data_.lower_bound(key), entry.get());
  index_.insert(hash, entry.release());
  live_bytes_ += static_cast<int64_t>(key.size() + value.size());
}

void MemoryKeyValueStore::apply_clear(std::string_view begin, std::string_view end) {
  if (!(begin < end)) return;
  auto first = data_.lower_bound(begin);
  auto last = data_.lower_bound(end);
  for (auto it = first; it != last; ++it) {
    MemoryEntry* e = *it;
    live_bytes_ -= static_cast<int64_t>(e->key().size() + e->value().size());
    const bool erased = index_.erase(e->key(), key_hash(e->key()));
    ASSERT(erased);
  }
  for (auto it = first; it != last;) {
    MemoryEntryPtr gone(*it);
    it = data_.erase(it);
  }
}

MemoryKeyValueStore::~MemoryKeyValueStore() {
  for (MemoryEntry* e : data_)
    MemoryEntry::destroy(e);
}

void MemoryKeyValueStore::log_op(MemoryOpType type, std::string_view a, std::string_view b) {
  const MemoryOpHeader h{op_type(type), static_cast<uint32_t>(a.size()),
                         static_cast<uint32_t>(b.size())};
  const size_t bytes = h.op_bytes();
  if (!record_.empty() && record_.size() + bytes > kRecordBytes) push_record();
  const size_t at = record_.size();
  record_.resize(at + bytes);
  uint8_t* p = record_.data() + at;
  h.encode(p);
  std::copy(a.begin(), a.end(), p + MemoryOpHeader::kBytes);
  std::copy(b.begin(), b.end(), p + MemoryOpHeader::kBytes + a.size());
  ++record_ops_;
  logged_total_bytes_ += static_cast<int64_t>(bytes);
  if (type != MemoryOpType::kPassStart) bytes_since_commit_ += static_cast<int64_t>(bytes);
}

void MemoryKeyValueStore::push_record() {
  if (record_.empty()) return;
  ASSERT_SIM(parses_back(record_, record_ops_, static_cast<int64_t>(record_.size())));
  try {
    queue_->push(record_);
  } catch (const Error& e) {
    failed_ = e;
    throw;
  }
  record_.clear();
  record_ops_ = 0;
}

int64_t MemoryKeyValueStore::pass_bytes() const {
  return live_bytes_ + static_cast<int64_t>(MemoryOpHeader::kBytes * data_.size());
}

bool MemoryKeyValueStore::log_snapshot_slice(int64_t budget) {
  if (!pass_in_progress_) {
    push_record();  // a pass starts a record, so that replay can start from it
    pass_start_ = queue_->next_sequence();
    pass_start_logged_bytes_ = logged_total_bytes_;
    log_op(MemoryOpType::kPassStart, {}, {});
    pass_in_progress_ = true;
    pass_cursor_set_ = false;
  }
  auto it = pass_cursor_set_ ? data_.upper_bound(pass_cursor_) : data_.begin();
  int64_t logged = 0;
  for (; it != data_.end() && logged < budget; ++it) {
    const MemoryEntry& e = **it;
    log_op(MemoryOpType::kSet, e.key(), e.value());
    logged += static_cast<int64_t>(MemoryOpHeader::kBytes + e.key().size() + e.value().size());
    pass_cursor_ = e.key();
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
  int64_t popped_logged_bytes = 0;
  if (bytes_since_commit_ > 0) {
    // A pass starts once the log holds more than one and a half passes' worth (docs/storage.md):
    // before that there is little in the log for it to reclaim.
    const int64_t log_bytes = logged_total_bytes_ - popped_logged_bytes_;
    // Under buggify a pass may start early and go in tiny slices: passes that straddle many
    // commits, and crashes, are where replay's rules are tested.
    const bool buggify_pass = flow::buggify(0.05);
    if (pass_in_progress_ || 2 * log_bytes > 3 * pass_bytes() || buggify_pass) {
      const int64_t budget =
          flow::buggify() ? 1 : std::max(kMinSnapshotSlice, 2 * bytes_since_commit_);
      if (log_snapshot_slice(budget)) {
        popped_up_to = pass_start_;
        popped_logged_bytes = pass_start_logged_bytes_;
      }
    }
    log_op(MemoryOpType::kCommit, {}, {});
    push_record();
    bytes_since_commit_ = 0;
  }
  try {
    queue_->commit();
  } catch (const Error& e) {
    CODE_PROBE(true, "memory engine commit fails and the store becomes unusable");
    failed_ = e.code() == ErrorCode::operation_cancelled ? Error(ErrorCode::io_error) : e;
    throw;
  }
  // The pass that completed is durable: nothing before its start is needed any more.
  if (popped_up_to != 0) {
    CODE_PROBE(true, "memory engine pops its log after a snapshot pass");
    queue_->pop(popped_up_to);
    popped_logged_bytes_ = std::max(popped_logged_bytes_, popped_logged_bytes);
  }
}

std::optional<std::string> MemoryKeyValueStore::read_value(std::string_view key) {
  check_usable();
  const MemoryEntry* found = index_.find(key, key_hash(key));
  if (found == nullptr) return std::nullopt;
  return std::string(found->value());
}

RangeResult MemoryKeyValueStore::read_range(std::string_view begin, std::string_view end,
                                            RangeLimits limits) {
  check_usable();
  RangeResult result;
  if (!(begin < end) || limits.rows <= 0) return result;
  auto first = data_.lower_bound(begin);
  auto last = data_.lower_bound(end);
  int64_t bytes = 0;
  auto take = [&](const MemoryEntry* e) {
    result.rows.push_back({std::string(e->key()), std::string(e->value())});
    bytes += static_cast<int64_t>(e->key().size() + e->value().size());
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
