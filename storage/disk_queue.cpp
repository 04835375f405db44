#include "storage/disk_queue.h"

#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "flow/actor.h"
#include "flow/assert.h"
#include "flow/error.h"
#include "flow/little_endian.h"
#include "flow/trace_event.h"

namespace storage {

using flow::Error;
using flow::ErrorCode;

namespace detail {

// One record read back from a file.
struct Parsed {
  int64_t offset;
  uint64_t sequence;
  uint64_t first_unpopped;
  uint64_t durable_through;
  size_t payload_bytes;
  bool copy;  // a commit's second copy of the record
};

// A file's consecutive chain of records from its start, and where it ends.
struct DiskQueueChain {
  std::vector<Parsed> records;
  int64_t end = 0;
  bool ends_with_copy = false;  // the newest record's copy follows it, intact
  uint64_t first() const { return records.empty() ? 0 : records.front().sequence; }
  uint64_t last() const { return records.empty() ? 0 : records.back().sequence; }
};

}  // namespace detail

using Chain = detail::DiskQueueChain;
using detail::Parsed;

namespace {

constexpr uint32_t kMagic = 0x31514453;      // "SDQ1"
constexpr uint32_t kCopyMagic = 0x43514453;  // "SDQC"
constexpr size_t kHeaderBytes = 40;
constexpr size_t kChecksumAt = 32;
constexpr size_t kReadPiece = size_t{1} << 20;

size_t padded(size_t n) {
  return (n + 7) / 8 * 8;
}

using flow::get_le;
using flow::put_le;

// XXH3-64 of the payload, seeded with XXH3-64 of the header before the checksum field.
uint64_t record_checksum(const uint8_t* record, size_t payload_bytes) {
  static_assert(kChecksumAt + 8 == kHeaderBytes, "the checksum ends the header");
  return XXH3_64bits_withSeed(record + kHeaderBytes, payload_bytes,
                              XXH3_64bits(record, kChecksumAt));
}

// Turns the record at `r` (whole, in memory) into its copy: the copy magic and its checksum.
void mark_copy(uint8_t* r) {
  put_le(r, kCopyMagic, 4);
  put_le(r + kChecksumAt, record_checksum(r, get_le(r + 4, 4)), 8);
}

// The record at `at` in `bytes` if it is whole and its checksum holds.
std::optional<Parsed> parse_at(const std::vector<uint8_t>& bytes, size_t at, size_t max_payload) {
  if (at + kHeaderBytes > bytes.size()) return std::nullopt;
  const uint8_t* r = bytes.data() + at;
  const uint64_t magic = get_le(r, 4);
  if (magic != kMagic && magic != kCopyMagic) return std::nullopt;
  const size_t length = get_le(r + 4, 4);
  if (length > max_payload || at + kHeaderBytes + length > bytes.size()) return std::nullopt;
  if (record_checksum(r, length) != get_le(r + kChecksumAt, 8)) return std::nullopt;
  return Parsed{static_cast<int64_t>(at), get_le(r + 8, 8), get_le(r + 16, 8),
                get_le(r + 24, 8),        length,           magic == kCopyMagic};
}

// Where in `bytes`, at or after `from`, a readable record (or copy) with `sequence` starts; -1
// if nowhere.
int64_t find_record(const std::vector<uint8_t>& bytes, size_t from, uint64_t sequence,
                    size_t max_payload) {
  for (size_t at = from; at + kHeaderBytes <= bytes.size(); at += 8) {
    const uint64_t magic = get_le(bytes.data() + at, 4);
    if ((magic != kMagic && magic != kCopyMagic) || get_le(bytes.data() + at + 8, 8) != sequence)
      continue;
    if (parse_at(bytes, at, max_payload)) return static_cast<int64_t>(at);
  }
  return -1;
}

// Where in the first `limit` bytes a readable record or copy numbered `from` or later starts.
std::vector<int64_t> records_at_or_after(const std::vector<uint8_t>& bytes, size_t limit,
                                         uint64_t from, size_t max_payload) {
  std::vector<int64_t> found;
  limit = std::min(limit, bytes.size());
  for (size_t at = 0; at + kHeaderBytes <= limit; at += 8) {
    const uint64_t magic = get_le(bytes.data() + at, 4);
    if ((magic != kMagic && magic != kCopyMagic) || get_le(bytes.data() + at + 8, 8) < from)
      continue;
    if (parse_at(bytes, at, max_payload)) found.push_back(static_cast<int64_t>(at));
  }
  return found;
}

// A file's chain of consecutive records from its start (or from `expected_first`, wherever it
// is, if given). Copies of records already taken are stepped over; where a record is unreadable,
// an intact copy of it (or, past a damaged copy, the next record) further on continues the chain.
Chain read_chain(const std::vector<uint8_t>& bytes, size_t max_payload,
                 uint64_t expected_first = 0) {
  Chain c;
  size_t at = 0;
  if (expected_first != 0) {
    const int64_t found = find_record(bytes, 0, expected_first, max_payload);
    if (found < 0) return c;
    at = static_cast<size_t>(found);
  }
  for (;;) {
    const std::optional<Parsed> p = parse_at(bytes, at, max_payload);
    const uint64_t want = c.records.empty() ? expected_first : c.last() + 1;
    if (p && (want == 0 ? !p->copy : p->sequence == want)) {
      c.records.push_back(*p);
      c.ends_with_copy = false;
    } else if (p && p->copy && !c.records.empty() && p->sequence >= c.first() &&
               p->sequence < want) {
      c.ends_with_copy = p->sequence == c.last();
    } else {
      if (c.records.empty()) break;
      // Damage, a stale record of an earlier lap, or the end of the log.
      const int64_t next = find_record(bytes, at + 8, want, max_payload);
      if (next < 0) break;
      at = static_cast<size_t>(next);
      continue;
    }
    at += kHeaderBytes + padded(p->payload_bytes);
  }
  c.end = static_cast<int64_t>(at);
  return c;
}

// The chain of a file whose first record is unreadable. That record began a commit, and the
// commit's copy has the commit's layout, shifted by the commit's size: so the first readable
// record further on is either a later record of the commit, whose own copy gives that shift and
// so where the copy of the first record is, or a copy (all the commit's records before it were
// damaged), which starts the chain itself.
Chain read_chain_past_damaged_start(const std::vector<uint8_t>& bytes, size_t max_payload) {
  std::optional<Parsed> q;
  for (size_t at = 8; at + kHeaderBytes <= bytes.size(); at += 8) {
    q = parse_at(bytes, at, max_payload);
    if (q) break;
  }
  if (!q) return {};
  uint64_t start = q->sequence;
  if (!q->copy) {
    const int64_t copy_at =
        find_record(bytes, static_cast<size_t>(q->offset) + 8, q->sequence, max_payload);
    const std::optional<Parsed> copy =
        copy_at < 0 ? std::nullopt : parse_at(bytes, static_cast<size_t>(copy_at), max_payload);
    if (copy && copy->copy) {
      const auto head = parse_at(bytes, static_cast<size_t>(copy_at - q->offset), max_payload);
      if (head && head->copy && head->sequence < q->sequence) start = head->sequence;
    }
  }
  return read_chain(bytes, max_payload, start);
}

// read_chain_past_damaged_start, but only if the bytes up to the chain's end alone give it:
// recovery cuts the file there, and the next recovery must find the same start without what was
// cut.
Chain stable_chain_past_damaged_start(const std::vector<uint8_t>& bytes, size_t max_payload) {
  Chain c = read_chain_past_damaged_start(bytes, max_payload);
  if (c.records.empty() || static_cast<size_t>(c.end) == bytes.size()) return c;
  const std::vector<uint8_t> kept(bytes.begin(), bytes.begin() + c.end);
  const Chain again = read_chain_past_damaged_start(kept, max_payload);
  if (again.first() != c.first() || again.last() != c.last()) return {};
  return c;
}

// Whether a readable record after the end of `chain` says the record at the break was durable:
// then the break is corruption, not a torn write.
bool later_record_vouches(const std::vector<uint8_t>& bytes, const Chain& chain,
                          size_t max_payload) {
  const uint64_t broken = chain.last() + 1;
  for (size_t at = static_cast<size_t>(chain.end) + 8; at + kHeaderBytes <= bytes.size(); at += 8) {
    const uint64_t magic = get_le(bytes.data() + at, 4);
    if (magic != kMagic && magic != kCopyMagic) continue;
    auto p = parse_at(bytes, at, max_payload);
    if (p && p->sequence > broken && p->durable_through >= broken) return true;
  }
  return false;
}

// The whole of `file`, read in pieces. May suspend.
std::vector<uint8_t> read_file(flow::IAsyncFile& file) {
  const int64_t size = flow::wait(file.size());
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  size_t at = 0;
  while (at < bytes.size()) {
    const size_t want = std::min(kReadPiece, bytes.size() - at);
    const size_t n =
        flow::wait(file.read(std::span(bytes).subspan(at, want), static_cast<int64_t>(at)));
    if (n == 0) break;
    at += n;
  }
  bytes.resize(at);
  return bytes;
}

}  // namespace

std::unique_ptr<DiskQueue> DiskQueue::open(flow::IFileSystem& fs, const std::string& name,
                                           DiskQueueOptions options) {
  std::unique_ptr<DiskQueue> q(new DiskQueue(options));
  for (int i = 0; i < 2; ++i) {
    q->files_[i].file =
        flow::wait(fs.open(name + "." + std::to_string(i), flow::OpenMode::kReadWriteCreate));
  }
  q->recover(name);
  q->last_commit_ = flow::Future<flow::Void>(flow::Void{});
  return q;
}

DiskQueue::~DiskQueue() = default;

void DiskQueue::recover(const std::string& name) {
  std::vector<uint8_t> bytes[2];
  Chain chains[2];
  for (int i = 0; i < 2; ++i) {
    // A write whose sync failed (the queue was then reopened without a restart) may still be in
    // the cache and not on the disk: sync first, so recovery builds only on durable bytes.
    flow::wait(files_[i].file->sync());
    bytes[i] = read_file(*files_[i].file);
    files_[i].size = static_cast<int64_t>(bytes[i].size());
  }
  int older = -1;
  // Which file is older, and whether it is still part of the log.
  const auto analyze = [&] {
    for (int i = 0; i < 2; ++i)
      chains[i] = read_chain(bytes[i], options_.max_record_bytes);
    // A file whose first record is damaged starts its chain at that record's copy. Taken only
    // where it fits the log whole: as the newer file, continuing the other file's chain or
    // needing nothing before its start; or as the older file, holding records the other's
    // newest record has not popped. Otherwise the file's start is torn (a crash cut the first
    // commit of a lap, or of the queue) and what follows is stale or never committed.
    for (int i = 0; i < 2; ++i) {
      if (!chains[i].records.empty() || bytes[i].empty()) continue;
      Chain c = stable_chain_past_damaged_start(bytes[i], options_.max_record_bytes);
      if (c.records.empty()) continue;
      const Chain& o = chains[1 - i];
      const bool continues = !o.records.empty() && c.first() == o.last() + 1;
      const bool whole = c.records.back().first_unpopped >= c.first() && c.last() > o.last();
      const bool needed_older = !o.records.empty() && c.last() + 1 == o.first() &&
                                o.records.back().first_unpopped <= c.last();
      if (continues || whole || needed_older) chains[i] = std::move(c);
    }
    older = -1;
    if (!chains[0].records.empty() && chains[1].first() == chains[0].last() + 1) {
      older = 0, active_ = 1;
    } else if (!chains[1].records.empty() && chains[0].first() == chains[1].last() + 1) {
      older = 1, active_ = 0;
    } else {
      active_ = chains[1].last() > chains[0].last() ? 1 : 0;  // the other is stale (or empty)
    }
  };
  const auto fail = [&](const char* why) {
    flow::TraceEvent(flow::SevWarnAlways, "DiskQueueCorrupt")
        .detail("Queue", name)
        .detail("Reason", why);
    throw Error(ErrorCode::checksum_failed);
  };
  analyze();
  flow::TraceEvent(flow::SevInfo, "DiskQueueChains")
      .detail("Queue", name)
      .detail("Active", active_)
      .detail("Older", older)
      .detail("Size0", bytes[0].size())
      .detail("First0", chains[0].first())
      .detail("Last0", chains[0].last())
      .detail("End0", chains[0].end)
      .detail("Size1", bytes[1].size())
      .detail("First1", chains[1].first())
      .detail("Last1", chains[1].last())
      .detail("End1", chains[1].end);
  if (later_record_vouches(bytes[active_], chains[active_], options_.max_record_bytes))
    fail("DurableRecordUnreadable");
  const Chain& act = chains[active_];
  const Parsed* newest = !act.records.empty() ? &act.records.back()
                         : older >= 0 && !chains[older].records.empty()
                             ? &chains[older].records.back()
                             : nullptr;
  if (newest != nullptr) {
    first_unpopped_ = durable_first_unpopped_ = newest->first_unpopped;
    next_sequence_ = newest->sequence + 1;
    durable_through_ = newest->sequence;
    const uint64_t oldest_held = older >= 0 ? chains[older].first() : act.first();
    if (first_unpopped_ < oldest_held) fail("UnpoppedRecordMissing");
  }
  for (int i : {older, active_}) {
    if (i < 0) continue;
    for (const Parsed& p : chains[i].records) {
      if (p.sequence < first_unpopped_) continue;
      const uint8_t* payload = bytes[i].data() + p.offset + kHeaderBytes;
      recovered_.push_back({p.sequence, std::vector<uint8_t>(payload, payload + p.payload_bytes)});
    }
  }
  files_[active_].end = act.end;
  files_[active_].last_sequence = act.last();
  const int other = 1 - active_;
  files_[other].end = 0;
  files_[other].last_sequence = other == older ? chains[other].last() : 0;
  // Records numbered next_sequence_ or later outside the log are what is left of commits a crash
  // cut off. Those numbers will be used again, so a later recovery reading past damage could take
  // such a leftover for the new record of its number: make them unreadable first. Then cut off
  // what follows the log in the active file (and all of a stale file). Both synced at once, so
  // they are durable before any new record is written.
  int64_t scrubbed = 0;
  const auto scrub = [&](int i, int64_t limit) {
    const std::vector<int64_t> leftovers = records_at_or_after(
        bytes[i], static_cast<size_t>(limit), next_sequence_, options_.max_record_bytes);
    static constexpr uint8_t kZeros[8] = {};
    for (const int64_t at : leftovers)
      flow::wait(files_[i].file->write(kZeros, at));
    if (!leftovers.empty()) flow::wait(files_[i].file->sync());
    scrubbed += static_cast<int64_t>(leftovers.size());
  };
  const auto cut = [](File& f, int64_t size) {
    if (f.size <= size) return;
    flow::wait(f.file->truncate(size));
    flow::wait(f.file->sync());
    f.size = size;
  };
  scrub(active_, act.end);
  cut(files_[active_], act.end);
  if (other == older) {
    scrub(other, files_[other].size);
  } else {
    cut(files_[other], 0);
  }
  // The records no later record vouches for get their copy back, as a commit would have left it.
  if (newest != nullptr && !act.records.empty() && !act.ends_with_copy) {
    std::vector<uint8_t> copy;
    for (const Parsed& p : act.records) {
      if (p.sequence <= newest->durable_through) continue;
      const size_t at = copy.size();
      const uint8_t* r = bytes[active_].data() + p.offset;
      copy.insert(copy.end(), r, r + kHeaderBytes + padded(p.payload_bytes));
      mark_copy(copy.data() + at);
    }
    if (!copy.empty()) {
      flow::wait(files_[active_].file->write_and_sync(copy, act.end));
      files_[active_].size = act.end + static_cast<int64_t>(copy.size());
    }
  }
  flow::TraceEvent(flow::SevInfo, "DiskQueueRecovered")
      .detail("Queue", name)
      .detail("Records", recovered_.size())
      .detail("NextSequence", next_sequence_)
      .detail("FirstUnpopped", first_unpopped_)
      .detail("LeftoversScrubbed", scrubbed);
}

void DiskQueue::check_usable() const {
  if (failed_) throw *failed_;
}

uint64_t DiskQueue::push(std::span<const uint8_t> payload) {
  check_usable();
  if (payload.size() > options_.max_record_bytes) throw Error(ErrorCode::value_too_large);
  const uint64_t sequence = next_sequence_++;
  const size_t at = buffer_.size();
  buffer_.resize(at + kHeaderBytes + padded(payload.size()));  // zero padding
  uint8_t* r = buffer_.data() + at;
  put_le(r, kMagic, 4);
  put_le(r + 4, payload.size(), 4);
  put_le(r + 8, sequence, 8);
  put_le(r + 16, first_unpopped_, 8);
  put_le(r + 24, durable_through_, 8);
  if (!payload.empty()) std::memcpy(r + kHeaderBytes, payload.data(), payload.size());
  put_le(r + kChecksumAt, record_checksum(r, payload.size()), 8);
  buffered_last_ = sequence;
  buffered_first_unpopped_ = first_unpopped_;
  return sequence;
}

void DiskQueue::pop(uint64_t up_to) {
  first_unpopped_ = std::max(first_unpopped_, std::min(up_to, next_sequence_));
}

void DiskQueue::commit() {
  check_usable();
  std::vector<uint8_t> bytes = std::exchange(buffer_, {});
  const uint64_t last = buffered_last_;
  const uint64_t first_unpopped = buffered_first_unpopped_;
  // Commits finish in order: each waits for the one before, then writes and syncs its own.
  flow::Promise<flow::Void> done;
  flow::Future<flow::Void> previous = std::exchange(last_commit_, done.get_future());
  try {
    flow::wait(previous);
    check_usable();
    write_and_sync(std::move(bytes), last, first_unpopped);
    done.send();
  } catch (const Error& e) {
    // A commit that failed or was cancelled part way leaves the files' state unknown: the queue
    // is unusable from here on (reopening recovers it). Later callers get the disk's error, or
    // io_error for a cancelled commit (being cancelled is not their news).
    if (!failed_) {
      const bool cancelled = e.code() == ErrorCode::operation_cancelled;
      failed_ = cancelled ? Error(ErrorCode::io_error) : e;
      flow::TraceEvent(flow::SevWarnAlways, "DiskQueueCommitFailed")
          .detail("Cancelled", cancelled)
          .error(e);
    }
    done.send_error(*failed_);
    throw;
  }
}

void DiskQueue::write_and_sync(std::vector<uint8_t> bytes, uint64_t last_sequence,
                               uint64_t first_unpopped) {
  if (bytes.empty()) return;
  File* target = &files_[active_];
  File& other = files_[1 - active_];
  // Lap to the other file once this one is big and the other's records are popped for good.
  if (target->end >= options_.file_bytes && other.last_sequence < durable_first_unpopped_) {
    active_ = 1 - active_;
    target = &other;
    target->end = 0;
  }
  // The commit's records, then a copy of them (marked as such), in one write: if a bit of either
  // flips later, recovery reads the other.
  const size_t n = bytes.size();
  bytes.resize(2 * n);
  std::memcpy(bytes.data() + n, bytes.data(), n);
  for (size_t r = n; r < 2 * n; r += kHeaderBytes + padded(get_le(bytes.data() + r + 4, 4)))
    mark_copy(bytes.data() + r);
  const int64_t at = target->end;
  target->end += static_cast<int64_t>(2 * n);
  target->size = std::max(target->size, target->end);
  flow::wait(target->file->write_and_sync(bytes, at));
  target->last_sequence = last_sequence;
  // What the newest durable record says is now the durable state.
  durable_through_ = std::max(durable_through_, last_sequence);
  durable_first_unpopped_ = std::max(durable_first_unpopped_, first_unpopped);
}

}  // namespace storage
