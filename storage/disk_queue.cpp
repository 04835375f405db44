#include "storage/disk_queue.h"

#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <optional>
#include <span>

#include "flow/actor.h"
#include "flow/assert.h"
#include "flow/code_probe.h"
#include "flow/error.h"
#include "flow/runtime.h"
#include "flow/trace_event.h"
#include "storage/detail/disk_queue_format.h"

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

// A record of the chain one of whose two copies, at `target_at`, is damaged: it is written back
// there from the intact one at `source_at`, with the magic of the one it replaces.
struct Repair {
  int64_t target_at;
  int64_t source_at;
  size_t record_bytes;
  bool copy;  // the damaged one is the record's copy (else its original)
};

// A file's consecutive chain of records from its start, and where it ends.
struct DiskQueueChain {
  std::vector<Parsed> records;
  int64_t end = 0;              // the end of the furthest record or copy the chain took or passed
  bool ends_with_copy = false;  // the newest record's copy follows it, intact
  std::vector<Repair> repairs;
  uint64_t first() const { return records.empty() ? 0 : records.front().sequence; }
  uint64_t last() const { return records.empty() ? 0 : records.back().sequence; }
};

}  // namespace detail

using Chain = detail::DiskQueueChain;
using detail::Parsed;
using detail::Repair;
using Header = detail::DiskQueueRecordHeader;

namespace {

constexpr uint32_t kMagic = detail::kDiskQueueMagic;
constexpr uint32_t kCopyMagic = detail::kDiskQueueCopyMagic;
constexpr size_t kReadPiece = size_t{1} << 20;
// The largest buffer a commit hands back for reuse (DiskQueue::spare_).
constexpr size_t kSpareBytesMax = size_t{32} << 20;
// At most this many bits may differ (outside the magic and the checksum) between a damaged slot
// and a record's copy for recovery to take the slot for the record's damaged original and repair
// it. A flipped bit or two differ by that much; another record by far more.
constexpr int kRepairBitsMax = 8;

// Allocates without zeroing what it default-constructs: a file image is read over whole, and
// zeroing tens of MiB first (then faulting the pages in twice) was most of a large recovery.
template <class T>
struct NoZeroAllocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = NoZeroAllocator<U>;
  };
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

// A file's bytes as recovery read them.
using FileImage = std::vector<uint8_t, NoZeroAllocator<uint8_t>>;

// XXH3-64 of the payload, seeded with XXH3-64 of the header before the checksum field.
uint64_t record_checksum(const uint8_t* record, size_t payload_bytes) {
  return XXH3_64bits_withSeed(record + Header::kBytes, payload_bytes,
                              XXH3_64bits(record, Header::kChecksummedBytes));
}

// Gives the record at `r` (whole, in memory) the magic `magic` (a record or its copy) and the
// checksum that goes with it.
void set_magic(uint8_t* r, uint32_t magic) {
  Header h = Header::decode(r);
  h.magic = magic;
  h.encode(r);
  h.checksum = record_checksum(r, h.payload_bytes);
  h.encode(r);
}

bool is_magic(uint32_t m) {
  return m == kMagic || m == kCopyMagic;
}
static_assert(kMagic != 0 && kCopyMagic != 0, "a zeroed block holds no record's start");

// Whether every byte of `bytes` is zero, a word at a time: recovery asks it of file tails of
// many MiB, most of them never written.
// The first offset from `at`, in steps of 64 bytes, whose 64 bytes are not all zero, or from
// which fewer than 64 remain. One tight loop: most of a preallocated file is zeros.
size_t skip_zero_blocks(std::span<const uint8_t> bytes, size_t at) {
  for (; at + 64 <= bytes.size(); at += 64) {
    uint64_t w[8];
    std::memcpy(w, bytes.data() + at, sizeof w);
    if ((w[0] | w[1] | w[2] | w[3] | w[4] | w[5] | w[6] | w[7]) != 0) break;
  }
  return at;
}

bool all_zero(std::span<const uint8_t> bytes) {
  const size_t i = skip_zero_blocks(bytes, 0);
  if (i + 64 <= bytes.size()) return false;
  return std::all_of(bytes.begin() + static_cast<std::ptrdiff_t>(i), bytes.end(),
                     [](uint8_t b) { return b == 0; });
}

// The record at `at` in `bytes` if it is whole and its checksum holds.
std::optional<Parsed> parse_at(std::span<const uint8_t> bytes, size_t at, size_t max_payload) {
  if (at + Header::kBytes > bytes.size()) return std::nullopt;
  const uint8_t* r = bytes.data() + at;
  if (!is_magic(Header::decode_magic(r))) return std::nullopt;
  const Header h = Header::decode(r);
  if (h.payload_bytes > max_payload || at + Header::kBytes + h.payload_bytes > bytes.size())
    return std::nullopt;
  if (record_checksum(r, h.payload_bytes) != h.checksum) return std::nullopt;
  return Parsed{static_cast<int64_t>(at), h.sequence,      h.first_unpopped,
                h.durable_through,        h.payload_bytes, h.magic == kCopyMagic};
}

// A file image and every readable record (or copy) in it, found by one pass over it. Recovery asks
// where records are many times (the chains' jumps, what vouches for the end, what to scrub), and a
// pass over a file of many MiB each time was most of a recovery's work. A prefix of the image
// (first()) shares the index: a record is in it if it ends inside it, as parse_at would find it.
class ScannedImage {
 public:
  ScannedImage(std::span<const uint8_t> bytes, size_t max_payload) : bytes_(bytes) {
    auto index = std::make_shared<Index>();
    for (size_t at = 0; at + Header::kBytes <= bytes.size(); at += 8) {
      // A zeroed block (most of a preallocated file) holds no record's start: skip it whole.
      constexpr size_t kBlock = 64;
      if (at % kBlock == 0) at = skip_zero_blocks(bytes, at);
      if (at + Header::kBytes > bytes.size()) break;
      if (!is_magic(Header::decode_magic(bytes.data() + at))) continue;
      if (auto p = storage::parse_at(bytes, at, max_payload)) index->by_offset.push_back(*p);
    }
    index_ = std::move(index);
  }

  std::span<const uint8_t> bytes() const { return bytes_; }
  size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }
  // The first `n` bytes (n <= size()), as if the file ended there.
  ScannedImage first(size_t n) const { return ScannedImage(bytes_.first(n), index_); }

  // The readable record at `at`, as parse_at(bytes(), at, max_payload) finds it.
  std::optional<Parsed> parse_at(size_t at) const {
    const auto& v = index_->by_offset;
    // A chain mostly asks for the record after the one it asked for last.
    size_t i = next_;
    if (i >= v.size() || static_cast<size_t>(v[i].offset) != at) {
      i = static_cast<size_t>(std::lower_bound(v.begin(), v.end(), at,
                                               [](const Parsed& p, size_t offset) {
                                                 return static_cast<size_t>(p.offset) < offset;
                                               }) -
                              v.begin());
    }
    next_ = i + 1;
    if (i == v.size() || static_cast<size_t>(v[i].offset) != at || !inside(v[i]))
      return std::nullopt;
    return v[i];
  }
  // Where a readable record (or copy) with `sequence` starts, the first one from the start of the
  // file; -1 if nowhere.
  int64_t find_record(uint64_t sequence) const {
    const auto& v = index_->by_sequence();
    for (auto it = std::lower_bound(v.begin(), v.end(), std::pair<uint64_t, size_t>(sequence, 0));
         it != v.end() && it->first == sequence; ++it) {
      const Parsed& p = index_->by_offset[it->second];
      if (inside(p)) return p.offset;
    }
    return -1;
  }
  // Every readable record or copy numbered `from` or later, by offset.
  std::vector<Parsed> records_at_or_after(uint64_t from) const {
    std::vector<Parsed> found;
    for (const Parsed& p : index_->by_offset)
      if (p.sequence >= from && inside(p)) found.push_back(p);
    return found;
  }
  // The first readable record or copy at `at` or after, with `sequence` if given.
  std::optional<Parsed> first_from(size_t at, std::optional<uint64_t> sequence = {}) const {
    for (const Parsed& p : index_->by_offset) {
      if (static_cast<size_t>(p.offset) < at || !inside(p)) continue;
      if (!sequence || p.sequence == *sequence) return p;
    }
    return std::nullopt;
  }

 private:
  struct Index {
    std::vector<Parsed> by_offset;
    // (sequence, index in by_offset), sorted; made when first asked for (most recoveries never
    // look a record up by its number).
    const std::vector<std::pair<uint64_t, size_t>>& by_sequence() const {
      if (by_sequence_.size() != by_offset.size()) {
        by_sequence_.clear();
        for (size_t i = 0; i < by_offset.size(); ++i)
          by_sequence_.emplace_back(by_offset[i].sequence, i);
        std::sort(by_sequence_.begin(), by_sequence_.end());  // by sequence, then offset
      }
      return by_sequence_;
    }

   private:
    mutable std::vector<std::pair<uint64_t, size_t>> by_sequence_;
  };
  ScannedImage(std::span<const uint8_t> bytes, std::shared_ptr<const Index> index)
      : bytes_(bytes), index_(std::move(index)) {}
  // Whether `p` lies whole inside this image (a prefix may end inside it).
  bool inside(const Parsed& p) const {
    return static_cast<size_t>(p.offset) + Header::kBytes + p.payload_bytes <= bytes_.size();
  }

  std::span<const uint8_t> bytes_;
  std::shared_ptr<const Index> index_;
  mutable size_t next_ = 0;  // where parse_at looks first
};

// Whether the slot at `at` is a damaged twin of the readable record (or copy) `intact`: it does
// not overlap it, is not a readable record, and differs from it (the magic and checksum aside) by
// a few bits only.
bool is_damaged_twin(std::span<const uint8_t> bytes, int64_t at, const Parsed& intact) {
  const size_t n = Header::record_bytes(intact.payload_bytes);
  if (at < 0 || static_cast<size_t>(at) + n > bytes.size()) return false;
  if (at < intact.offset + static_cast<int64_t>(n) && intact.offset < at + static_cast<int64_t>(n))
    return false;
  if (parse_at(bytes, static_cast<size_t>(at), SIZE_MAX)) return false;  // readable: not damaged
  const uint8_t* a = bytes.data() + at;
  const uint8_t* b = bytes.data() + intact.offset;
  int bits = 0;
  for (size_t i = 4; i < n && bits <= kRepairBitsMax; ++i) {
    if (i >= Header::kChecksummedBytes && i < Header::kBytes) continue;
    bits += std::popcount(static_cast<unsigned>(a[i] ^ b[i]));
  }
  return bits <= kRepairBitsMax;
}

// A file's chain of consecutive records from its start (or from `expected_first`, wherever it
// is, if given, whose original is then taken to be at the file's start). Copies of records already
// taken are stepped over. Where the wanted record is not readable at its place, the first readable
// record or copy with its number anywhere in the file continues the chain: the copy of a damaged
// record (after or before the place: the chain may have moved on to the copies), or past a
// damaged copy the next commit. Damage found where the place of the other copy is known is listed
// in `repairs`: a record read from its copy whose original is damaged, and a damaged copy (of a
// commit read from its originals) in its place among the commit's copies, which is stepped over.
Chain read_chain(const ScannedImage& image, uint64_t expected_first = 0) {
  const std::span<const uint8_t> bytes = image.bytes();
  Chain c;
  size_t at = 0;
  // Where the chain last lost its place (the slot that did not hold the wanted record), and the
  // distance from original to copy of the records it is reading from copies; -1 if unknown.
  int64_t lost_at = -1;
  int64_t shift = -1;
  // The first record of the commit whose originals the chain is reading (0 if it is reading
  // copies or does not know), whether the last step took an original, and the record whose copy
  // is due at `at` among that commit's copies (0 if none).
  uint64_t commit_first = 0;
  bool after_original = false;
  uint64_t copy_due = 0;
  if (expected_first != 0) {
    const int64_t found = image.find_record(expected_first);
    if (found < 0) return c;
    at = static_cast<size_t>(found);
    lost_at = 0;
  }
  // Each pass takes a record, steps over a copy, or jumps to the wanted record: the sequence
  // numbers rise and, between takes, the place moves forward, so this ends.
  for (;;) {
    const std::optional<Parsed> p = image.parse_at(at);
    const uint64_t want = c.records.empty() ? expected_first : c.last() + 1;
    if (p && (want == 0 ? !p->copy : p->sequence == want)) {
      if (p->copy) {
        if (lost_at >= 0) shift = p->offset - lost_at;
        const int64_t original_at = shift >= 0 ? p->offset - shift : -1;
        const auto n = static_cast<int64_t>(Header::record_bytes(p->payload_bytes));
        if (original_at >= 0 && original_at + n <= p->offset &&
            is_damaged_twin(bytes, original_at, *p)) {
          c.repairs.push_back({original_at, p->offset, static_cast<size_t>(n), false});
        }
        commit_first = 0;
        after_original = false;
      } else {
        shift = -1;
        if (!after_original) commit_first = p->sequence;
        after_original = true;
      }
      lost_at = -1;
      copy_due = 0;
      c.records.push_back(*p);
      c.ends_with_copy = false;
    } else if (p && p->copy && !c.records.empty() && p->sequence >= c.first() &&
               p->sequence < want) {
      c.ends_with_copy = p->sequence == c.last();
      copy_due = p->sequence < c.last() ? p->sequence + 1 : 0;
      after_original = false;
    } else {
      if (c.records.empty()) break;
      // Damage, a stale record of an earlier lap, or the end of the log.
      const int64_t next = image.find_record(want);
      // Or a damaged copy in its place. Among a commit's copies, the one due next is known. Right
      // after a commit's records, the slot holds either the next record, damaged — then its copy
      // lies further on, with the copy of the commit's first record as far before it as that
      // record is before the slot — or, if that was the commit's last record, its first copy.
      bool slot_is_next_record = false;
      if (after_original && next >= 0 && commit_first != 0) {
        const std::optional<Parsed> copy = image.parse_at(static_cast<size_t>(next));
        const Parsed& first = c.records[commit_first - c.first()];
        const int64_t first_copy_at = next - (static_cast<int64_t>(at) - first.offset);
        if (copy && copy->copy && first_copy_at >= 0) {
          const std::optional<Parsed> first_copy =
              image.parse_at(static_cast<size_t>(first_copy_at));
          slot_is_next_record =
              first_copy && first_copy->copy && first_copy->sequence == commit_first;
        }
      }
      const uint64_t due = after_original ? (slot_is_next_record ? 0 : commit_first) : copy_due;
      if (commit_first != 0 && due >= commit_first && due <= c.last()) {
        const Parsed& intact = c.records[due - c.first()];
        const size_t n = Header::record_bytes(intact.payload_bytes);
        if (!intact.copy && static_cast<int64_t>(at) >= intact.offset + static_cast<int64_t>(n) &&
            is_damaged_twin(bytes, static_cast<int64_t>(at), intact)) {
          CODE_PROBE(true, "disk queue recovery finds a damaged copy in its place");
          c.repairs.push_back({static_cast<int64_t>(at), intact.offset, n, true});
          c.ends_with_copy = due == c.last();
          copy_due = due < c.last() ? due + 1 : 0;
          after_original = false;
          at += n;
          c.end = std::max(c.end, static_cast<int64_t>(at));
          continue;
        }
      }
      if (next < 0) break;
      CODE_PROBE(true, "disk queue recovery finds a record out of place and reads on elsewhere");
      lost_at = static_cast<int64_t>(at);
      at = static_cast<size_t>(next);
      after_original = false;
      copy_due = 0;
      continue;
    }
    at += Header::record_bytes(p->payload_bytes);
    c.end = std::max(c.end, static_cast<int64_t>(at));
  }
  return c;
}

// The chain of a file whose first record is unreadable. That record began a commit, and the
// commit's copy has the commit's layout, shifted by the commit's size: so the first readable
// record further on is either a later record of the commit, whose own copy gives that shift and
// so where the copy of the first record is, or a copy (all the commit's records before it were
// damaged), which starts the chain itself.
Chain read_chain_past_damaged_start(const ScannedImage& image) {
  const std::optional<Parsed> q = image.first_from(8);
  if (!q) return {};
  uint64_t start = q->sequence;
  if (!q->copy) {
    const std::optional<Parsed> copy =
        image.first_from(static_cast<size_t>(q->offset) + 8, q->sequence);
    if (copy && copy->copy) {
      const auto head = image.parse_at(static_cast<size_t>(copy->offset - q->offset));
      if (head && head->copy && head->sequence < q->sequence) start = head->sequence;
    }
  }
  return read_chain(image, start);
}

// read_chain_past_damaged_start, but only if the bytes up to the chain's end alone give it:
// recovery may cut the file there, and the next recovery must find the same start without what
// was cut.
Chain stable_chain_past_damaged_start(const ScannedImage& image) {
  Chain c = read_chain_past_damaged_start(image);
  if (c.records.empty() || static_cast<size_t>(c.end) == image.size()) return c;
  const Chain again = read_chain_past_damaged_start(image.first(static_cast<size_t>(c.end)));
  if (again.first() != c.first() || again.last() != c.last()) return {};
  return c;
}

// Whether a readable record numbered after `newest`, anywhere in either file, says that the
// record after `newest` was durable: then the log's end is corruption, not a torn write.
bool later_record_vouches(const std::vector<ScannedImage>& images, uint64_t newest) {
  for (const ScannedImage& image : images) {
    for (const Parsed& p : image.records_at_or_after(newest + 2))
      if (p.durable_through > newest) return true;
  }
  return false;
}

// Reads `file` whole into `image`, in pieces, and returns whether what it read differs from what
// `image` held. Where the size is the same, each piece is read into `scratch` and compared, so
// that a second read of a large file needs no second image. May suspend.
bool read_file(flow::IAsyncFile& file, FileImage& image, FileImage& scratch) {
  const auto size = static_cast<size_t>(flow::wait(file.size()));
  const bool compare = image.size() == size;
  bool differs = !compare;
  image.resize(size);
  if (compare) scratch.resize(std::min(kReadPiece, size));
  size_t at = 0;
  while (at < size) {
    const size_t want = std::min(kReadPiece, size - at);
    std::span<uint8_t> piece = std::span(image).subspan(at, want);
    if (compare) piece = std::span(scratch).first(want);
    const size_t n = flow::wait(file.read(piece, static_cast<int64_t>(at)));
    if (n == 0) break;
    if (compare && std::memcmp(piece.data(), image.data() + at, n) != 0) {
      differs = true;
      std::memcpy(image.data() + at, piece.data(), n);
    }
    at += n;
  }
  if (at < size) differs = true;
  image.resize(at);
  return differs;
}

// The whole of `file`, read until two reads agree. Recovery acts on what it finds damaged (it
// repairs, scrubs and cuts), so a read that returned a flipped bit once (a fault of the read, not
// of the medium) must not be taken for damage: with a flipped bit on the medium in one copy of a
// record, it could make both copies look lost and the record be scrubbed. Throws io_error if the
// file never reads the same twice. May suspend.
FileImage read_file_stable(flow::IAsyncFile& file, const std::string& name) {
  constexpr int kReadsMax = 6;
  FileImage image, scratch;
  if (!read_file(file, image, scratch)) return image;  // an empty file: nothing to read twice
  for (int reads = 1; reads < kReadsMax; ++reads) {
    if (!read_file(file, image, scratch)) return image;
    CODE_PROBE(true, "disk queue recovery reads a file differently twice");
  }
  flow::TraceEvent(flow::SevWarnAlways, "DiskQueueUnstableRead")
      .detail("Queue", name)
      .detail("File", file.path())
      .detail("Reads", kReadsMax);
  throw Error(ErrorCode::io_error);
}

// In simulation, the writer's half of a pair assertion: the bytes of a commit (its records, then
// their copies) parse back as the records `first`..`last`, each followed in the same order by its
// copy, and say `first_unpopped` in the last one. Recovery asserts the reading half.
void check_commit_bytes(const std::vector<uint8_t>& bytes, uint64_t last, uint64_t first_unpopped,
                        size_t max_payload) {
  std::vector<Parsed> records, copies;
  size_t at = 0;
  while (at < bytes.size()) {
    const std::optional<Parsed> p = parse_at(bytes, at, max_payload);
    ASSERT_MSG(p.has_value(), "a commit's record at {} does not parse back", at);
    (p->copy ? copies : records).push_back(*p);
    at += Header::record_bytes(p->payload_bytes);
  }
  ASSERT_EQ(at, bytes.size());
  ASSERT(!records.empty());
  ASSERT_EQ(records.size(), copies.size());
  ASSERT_EQ(records.back().sequence, last);
  ASSERT_EQ(records.back().first_unpopped, first_unpopped);
  for (size_t i = 0; i < records.size(); ++i) {
    ASSERT_EQ(records[i].sequence, records.front().sequence + i);
    ASSERT_EQ(copies[i].sequence, records[i].sequence);
    ASSERT(copies[i].offset > records.back().offset);
    ASSERT_EQ(copies[i].payload_bytes, records[i].payload_bytes);
    ASSERT(std::memcmp(bytes.data() + records[i].offset + Header::kBytes,
                       bytes.data() + copies[i].offset + Header::kBytes,
                       records[i].payload_bytes) == 0);
    ASSERT(records[i].durable_through < records[i].sequence);
    ASSERT(records[i].first_unpopped <= records[i].sequence);
  }
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
  q->preallocate(name);
  q->last_commit_ = flow::Future<flow::Void>(flow::Void{});
  return q;
}

DiskQueue::~DiskQueue() = default;

void DiskQueue::preallocate(const std::string& name) {
  bool grown = false;
  for (File& f : files_) {
    if (f.size >= options_.file_bytes) continue;
    try {
      flow::wait(f.file->allocate(options_.file_bytes));
    } catch (const Error& e) {
      if (e.code() != ErrorCode::disk_full) throw;
      CODE_PROBE(true, "disk queue cannot preallocate a file: the disk is full");
      // The queue still works; a later recovery may then need space it cannot get.
      flow::TraceEvent(flow::SevWarnAlways, "DiskQueueNotPreallocated")
          .detail("Queue", name)
          .detail("File", f.file->path());
      continue;
    }
    f.size = options_.file_bytes;
    grown = true;
  }
  if (grown) {
    for (File& f : files_)
      flow::sync_or_fail_stop(*f.file);
  }
}

void DiskQueue::recover(const std::string& name) {
  const size_t max_payload = options_.max_record_bytes;
  FileImage bytes[2];
  Chain chains[2];
  for (int i = 0; i < 2; ++i) {
    // Bytes whose sync failed may sit in the cache and not on the disk (a commit whose sync
    // failed ended the process, but the OS kept its cache): sync first, so recovery builds only
    // on durable bytes.
    flow::sync_or_fail_stop(*files_[i].file);
    bytes[i] = read_file_stable(*files_[i].file, name);
    files_[i].size = static_cast<int64_t>(bytes[i].size());
  }
  // The images do not change from here on (repairs and scrubs write to the files).
  const std::vector<ScannedImage> images = {ScannedImage(bytes[0], max_payload),
                                            ScannedImage(bytes[1], max_payload)};
  int older = -1;
  // Which file is older, and whether it is still part of the log.
  const auto analyze = [&] {
    for (int i = 0; i < 2; ++i)
      chains[i] = read_chain(images[static_cast<size_t>(i)]);
    // A file whose first record is damaged starts its chain at that record's copy. Taken only
    // where it fits the log whole: as the newer file, continuing the other file's chain or
    // needing nothing before its start; or as the older file, holding records the other's
    // newest record has not popped. Otherwise the file's start is torn (a crash cut the first
    // commit of a lap, or of the queue) and what follows is stale or never committed.
    for (int i = 0; i < 2; ++i) {
      if (!chains[i].records.empty() || bytes[i].empty()) continue;
      Chain c = stable_chain_past_damaged_start(images[static_cast<size_t>(i)]);
      if (c.records.empty()) continue;
      const Chain& o = chains[1 - i];
      const bool continues = !o.records.empty() && c.first() == o.last() + 1;
      const bool whole = c.records.back().first_unpopped >= c.first() && c.last() > o.last();
      const bool needed_older = !o.records.empty() && c.last() + 1 == o.first() &&
                                o.records.back().first_unpopped <= c.last();
      CODE_PROBE(continues || whole || needed_older,
                 "disk queue starts a file's chain at the copy of its damaged first record");
      CODE_PROBE(!(continues || whole || needed_older),
                 "disk queue takes a file whose start is torn for stale");
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
    CODE_PROBE(true, "disk queue recovery finds the log damaged beyond repair");
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
  const Chain& act = chains[active_];
  const Parsed* newest = !act.records.empty() ? &act.records.back() : nullptr;
  ASSERT(older < 0 || newest != nullptr);
  // A record anywhere, in either file, that says the one after the log's end was durable: the
  // end is corruption, not a torn commit. Checked before anything is cut or written, so that no
  // file holding records the log needs is ever cut.
  if (later_record_vouches(images, newest != nullptr ? newest->sequence : 0))
    fail("DurableRecordUnreadable");
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
      const uint8_t* payload = bytes[i].data() + p.offset + Header::kBytes;
      recovered_.push_back({p.sequence, std::vector<uint8_t>(payload, payload + p.payload_bytes)});
    }
  }
  // The reading half of the pair assertion (check_commit_bytes is the writing half): what comes
  // back is every record from the pop point to the newest, in order, and the newest vouches for
  // nothing after itself.
  ASSERT_LE(first_unpopped_, next_sequence_);
  ASSERT_EQ(recovered_.size(), next_sequence_ - first_unpopped_);
  for (size_t i = 0; i < recovered_.size(); ++i)
    ASSERT_EQ(recovered_[i].sequence, first_unpopped_ + i);
  for (int i : {older, active_}) {
    if (i < 0) continue;
    for (const Parsed& p : chains[i].records) {
      ASSERT_LT(p.durable_through, p.sequence);
      ASSERT_LE(p.first_unpopped, p.sequence);
      ASSERT_LE(p.offset + static_cast<int64_t>(Header::record_bytes(p.payload_bytes)),
                chains[i].end);
    }
  }
  if (older >= 0) ASSERT_EQ(chains[older].last() + 1, act.first());
  CODE_PROBE(older >= 0, "disk queue recovers a log that spans both files");
  CODE_PROBE(older < 0 && chains[1 - active_].last() != 0,
             "disk queue recovery finds a stale file of an earlier lap");
  // Bytes after the log's end that are not zero: a commit the crash tore, or one of an earlier
  // lap's records.
  CODE_PROBE(!all_zero(std::span<const uint8_t>(bytes[active_]).subspan(static_cast<size_t>(act.end))),
             "disk queue recovery finds a torn or stale tail after its log");
  files_[active_].end = act.end;
  files_[active_].last_sequence = act.last();
  const int other = 1 - active_;
  files_[other].end = 0;
  files_[other].last_sequence = other == older ? chains[other].last() : 0;

  // Records read from their copies get their damaged originals back, and damaged copies of
  // records read from their originals get their copies back, so that damage does not build up
  // over recoveries until both copies of a record are gone. Records numbered
  // next_sequence_ or later anywhere in either file are what is left of commits a crash cut off:
  // those numbers will be used again, so a later recovery looking for a record by its number
  // could take such a leftover for the new record: they are made unreadable. Both are writes in
  // place (no new space), synced before anything else is written.
  int64_t repaired = 0, scrubbed = 0;
  for (int i = 0; i < 2; ++i) {
    bool wrote = false;
    if (i == older || i == active_) {
      for (const Repair& r : chains[i].repairs) {
        const auto n = static_cast<int64_t>(r.record_bytes);
        std::vector<uint8_t> twin(bytes[i].begin() + r.source_at,
                                  bytes[i].begin() + r.source_at + n);
        set_magic(twin.data(), r.copy ? kCopyMagic : kMagic);
        // An original lies before its copy.
        ASSERT(r.copy ? r.source_at + n <= r.target_at : r.target_at + n <= r.source_at);
        CODE_PROBE(!r.copy, "disk queue repairs a damaged record from its copy");
        CODE_PROBE(r.copy, "disk queue repairs a damaged copy from its record");
        flow::wait(files_[i].file->write(twin, r.target_at));
        ++repaired, wrote = true;
      }
    }
    for (const Parsed& p : images[static_cast<size_t>(i)].records_at_or_after(next_sequence_)) {
      CODE_PROBE(true, "disk queue scrubs a record of a commit the crash cut off");
      static constexpr uint8_t kZeros[8] = {};
      flow::wait(files_[i].file->write(kZeros, p.offset));
      ++scrubbed, wrote = true;
    }
    if (wrote) flow::sync_or_fail_stop(*files_[i].file);
  }
  // What follows the log in the active file, and all of a stale file, is cut off: no byte of a
  // torn commit may stay there, for a later write over part of it could make it whole again (an
  // old header, with a payload that happens to match, would then read as a new record). Then the
  // file gets its preallocated size back, as zeros: the space the cut freed, so this needs none.
  const auto cut = [this, &name](File& f, int64_t size) {
    if (f.size <= size) return;
    flow::wait(f.file->truncate(size));
    f.size = size;
    if (size < options_.file_bytes) {
      try {
        flow::wait(f.file->allocate(options_.file_bytes));
        f.size = options_.file_bytes;
      } catch (const Error& e) {
        if (e.code() != ErrorCode::disk_full) throw;
        CODE_PROBE(true, "disk queue cannot preallocate a cut file again: the disk is full");
        flow::TraceEvent(flow::SevWarnAlways, "DiskQueueNotPreallocated")
            .detail("Queue", name)
            .detail("File", f.file->path());
      }
    }
    flow::sync_or_fail_stop(*f.file);
  };
  cut(files_[active_], act.end);
  if (other != older) cut(files_[other], 0);
  // The records no later record vouches for get their copy back, as a commit would have left it.
  // Also where the newest commit ends with its copies but one of its records was read from its
  // copy and its original could not be repaired (torn, not flipped): that record has one copy.
  bool single_copy = false;
  for (const Parsed& p : act.records) {
    if (newest == nullptr || p.sequence <= newest->durable_through || !p.copy) continue;
    single_copy =
        single_copy || std::none_of(act.repairs.begin(), act.repairs.end(), [&p](const Repair& r) {
          return !r.copy && r.source_at == p.offset;
        });
  }
  CODE_PROBE(single_copy && act.ends_with_copy,
             "disk queue restores the copies of a commit with a record left in one copy");
  bool copy_restored = false;
  if (newest != nullptr && (!act.ends_with_copy || single_copy)) {
    std::vector<uint8_t> copy;
    for (const Parsed& p : act.records) {
      if (p.sequence <= newest->durable_through) continue;
      const size_t at = copy.size();
      const uint8_t* r = bytes[active_].data() + p.offset;
      copy.insert(copy.end(), r, r + Header::record_bytes(p.payload_bytes));
      set_magic(copy.data() + at, kCopyMagic);
    }
    if (!copy.empty()) {
      try {
        flow::write_and_sync_or_fail_stop(*files_[active_].file, copy, act.end);
        files_[active_].size =
            std::max(files_[active_].size, act.end + static_cast<int64_t>(copy.size()));
        // The next commit goes after the copy, as after any commit's.
        files_[active_].end = act.end + static_cast<int64_t>(copy.size());
        copy_restored = true;
        CODE_PROBE(true, "disk queue restores the copy of a commit the crash tore");
      } catch (const Error& e) {
        if (e.code() != ErrorCode::disk_full) throw;
        CODE_PROBE(true, "disk queue cannot restore a torn commit's copy: the disk is full");
        // Only where the file was never preallocated: the log is whole, just not its copy.
        flow::TraceEvent(flow::SevWarnAlways, "DiskQueueCopyNotRestored")
            .detail("Queue", name)
            .error(e);
      }
    }
  }
  flow::TraceEvent(flow::SevInfo, "DiskQueueRecovered")
      .detail("Queue", name)
      .detail("Records", recovered_.size())
      .detail("NextSequence", next_sequence_)
      .detail("FirstUnpopped", first_unpopped_)
      .detail("Repaired", repaired)
      .detail("LeftoversScrubbed", scrubbed)
      .detail("CopyRestored", copy_restored);
}

void DiskQueue::check_usable() const {
  if (failed_) throw *failed_;
}

uint64_t DiskQueue::push(std::span<const uint8_t> payload) {
  check_usable();
  if (payload.size() > options_.max_record_bytes) throw Error(ErrorCode::value_too_large);
  ASSERT_LE(first_unpopped_, next_sequence_);
  ASSERT_LT(durable_through_, next_sequence_);
  const uint64_t sequence = next_sequence_++;
  const size_t at = buffer_.size();
  buffer_.resize(at + Header::record_bytes(payload.size()));  // zero padding
  uint8_t* r = buffer_.data() + at;
  Header h{kMagic,           static_cast<uint32_t>(payload.size()),
           sequence,         first_unpopped_,
           durable_through_, 0};
  h.encode(r);
  if (!payload.empty()) std::memcpy(r + Header::kBytes, payload.data(), payload.size());
  h.checksum = record_checksum(r, payload.size());
  h.encode(r);
  buffered_last_ = sequence;
  buffered_first_unpopped_ = first_unpopped_;
  return sequence;
}

void DiskQueue::pop(uint64_t up_to) {
  CODE_PROBE(up_to > first_unpopped_ && first_unpopped_ < next_sequence_,
             "disk queue pops records");
  first_unpopped_ = std::max(first_unpopped_, std::min(up_to, next_sequence_));
}

void DiskQueue::commit() {
  check_usable();
  std::vector<uint8_t> bytes = std::exchange(buffer_, std::move(spare_));
  spare_ = {};
  buffer_.clear();
  const uint64_t last = buffered_last_;
  const uint64_t first_unpopped = buffered_first_unpopped_;
  // Commits finish in order: each waits for the one before, then writes and syncs its own.
  flow::Promise<flow::Void> done;
  flow::Future<flow::Void> previous = std::exchange(last_commit_, done.get_future());
  try {
    flow::wait(previous);
    check_usable();
    write_and_sync(bytes, last, first_unpopped);
    if (bytes.capacity() <= kSpareBytesMax && bytes.capacity() > spare_.capacity()) {
      bytes.clear();
      spare_ = std::move(bytes);
    }
    done.send();
  } catch (const Error& e) {
    // A commit that failed or was cancelled part way leaves the files' state unknown: the queue
    // is unusable from here on (a failed sync has ended the process already; after a full disk,
    // reopening recovers it). Later callers get the disk's error, or io_error for a cancelled
    // commit (being cancelled is not their news).
    if (!failed_) {
      const bool cancelled = e.code() == ErrorCode::operation_cancelled;
      CODE_PROBE(cancelled, "a disk queue commit is cancelled part way");
      CODE_PROBE(!cancelled, "a disk queue commit fails and the queue becomes unusable");
      failed_ = cancelled ? Error(ErrorCode::io_error) : e;
      flow::TraceEvent(flow::SevWarnAlways, "DiskQueueCommitFailed")
          .detail("Cancelled", cancelled)
          .error(e);
    }
    done.send_error(*failed_);
    throw;
  }
}

void DiskQueue::write_and_sync(std::vector<uint8_t>& bytes, uint64_t last_sequence,
                               uint64_t first_unpopped) {
  if (bytes.empty()) return;
  File* target = &files_[active_];
  File& other = files_[1 - active_];
  // Lap to the other file once this one is big and the other's records are popped for good.
  if (target->end >= options_.file_bytes && other.last_sequence < durable_first_unpopped_) {
    CODE_PROBE(true, "disk queue laps to its other file");
    active_ = 1 - active_;
    target = &other;
    target->end = 0;
  }
  // The commit's records, then a copy of them (marked as such), in one write: if a bit of either
  // flips later, recovery reads the other.
  const size_t n = bytes.size();
  bytes.resize(2 * n);
  std::memcpy(bytes.data() + n, bytes.data(), n);
  for (size_t r = n; r < 2 * n;) {
    set_magic(bytes.data() + r, kCopyMagic);
    r += Header::record_bytes(Header::decode(bytes.data() + r).payload_bytes);
  }
  if (flow::Runtime::checked_current().simulated())
    check_commit_bytes(bytes, last_sequence, first_unpopped, options_.max_record_bytes);
  const int64_t at = target->end;
  target->end += static_cast<int64_t>(2 * n);
  target->size = std::max(target->size, target->end);
  flow::write_and_sync_or_fail_stop(*target->file, bytes, at);
  target->last_sequence = last_sequence;
  // What the newest durable record says is now the durable state.
  durable_through_ = std::max(durable_through_, last_sequence);
  durable_first_unpopped_ = std::max(durable_first_unpopped_, first_unpopped);
}

}  // namespace storage
