#include "storage/logged_page_file.h"

#include <xxhash.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <span>

#include "flow/assert.h"
#include "flow/buggify.h"
#include "flow/code_probe.h"
#include "flow/error.h"
#include "flow/little_endian.h"
#include "flow/trace_event.h"
#include "storage/detail/logged_page_file_format.h"

namespace storage {

using flow::Error;
using flow::ErrorCode;

namespace {

// Log records: storage/detail/logged_page_file_format.h (docs/storage.md is the prose).
using detail::PageCountRecord;
using detail::PageLogRecordType;
using detail::PageRecordHeader;
using detail::RollbackRecord;
constexpr size_t kPageRecordBytes = PageRecordHeader::kBytes + LoggedPageFile::kPageBytes;
constexpr size_t kChecksummed = LoggedPageFile::kPageBytes - LoggedPageFile::kChecksumBytes;

uint64_t page_checksum(const uint8_t* page, uint64_t number) {
  return XXH3_64bits_withSeed(page, kChecksummed, number);
}

void stamp(uint8_t* page, uint64_t number) {
  flow::put_le(page + kChecksummed, page_checksum(page, number), 8);
}

bool stamped(const uint8_t* page, uint64_t number) {
  return flow::get_le(page + kChecksummed, 8) == page_checksum(page, number);
}

constexpr uint8_t record_type(PageLogRecordType t) {
  return static_cast<uint8_t>(t);
}

// In simulation, the writer's half of a pair assertion: a page record about to be pushed parses
// back as page `number`, whose checksum holds, with `page`'s bytes. Recovery's parse is the
// reading half.
bool page_record_parses_back(std::span<const uint8_t> record, uint64_t number,
                             const uint8_t* page) {
  if (record.size() != kPageRecordBytes) return false;
  const PageRecordHeader h = PageRecordHeader::decode(record.data());
  const uint8_t* logged = record.data() + PageRecordHeader::kBytes;
  return h.type == record_type(PageLogRecordType::kPage) && h.page_number == number &&
         stamped(logged, number) && std::memcmp(logged, page, LoggedPageFile::kPageBytes) == 0;
}

// The same for a page-count record saying `pages`.
bool page_count_record_parses_back(std::span<const uint8_t> record, uint64_t pages) {
  if (record.size() != PageCountRecord::kBytes) return false;
  const PageCountRecord r = PageCountRecord::decode(record.data());
  return r.type == record_type(PageLogRecordType::kPageCount) && r.page_count == pages;
}

}  // namespace

std::unique_ptr<LoggedPageFile> LoggedPageFile::open(flow::IFileSystem& fs, const std::string& path,
                                                     int64_t checkpoint_bytes) {
  std::unique_ptr<LoggedPageFile> f(new LoggedPageFile());
  f->checkpoint_bytes_ = checkpoint_bytes;
  f->file_ = flow::wait(fs.open(path, flow::OpenMode::kReadWriteCreate));
  // As in the DiskQueue: bytes of a checkpoint whose sync failed may be cached but not durable.
  flow::sync_or_fail_stop(*f->file_);
  f->file_size_ = flow::wait(f->file_->size());
  f->pages_ = static_cast<uint64_t>(f->file_size_) / kPageBytes;
  DiskQueueOptions log_options;
  log_options.file_bytes = std::max<int64_t>(checkpoint_bytes, int64_t{1} << 20);
  f->log_ = DiskQueue::open(fs, path + "-log", log_options);
  f->recover(path);
  return f;
}

void LoggedPageFile::recover(const std::string& path) {
  std::vector<DiskQueueRecord>& records = log_->recovered();
  std::vector<const DiskQueueRecord*> pending;
  uint64_t commits = 0;
  auto corrupt = [&](const char* why) {
    CODE_PROBE(true, "page file recovery finds a malformed log record");
    flow::TraceEvent(flow::SevWarnAlways, "PageFileCorrupt")
        .detail("File", path)
        .detail("Reason", why);
    throw Error(ErrorCode::checksum_failed);
  };
  for (const DiskQueueRecord& r : records) {
    if (r.payload.empty()) corrupt("EmptyRecord");
    // The type is the first byte of every record.
    switch (static_cast<PageLogRecordType>(r.payload[offsetof(RollbackRecord, type)])) {
      case PageLogRecordType::kPage:
        if (r.payload.size() != kPageRecordBytes) corrupt("MalformedPageRecord");
        pending.push_back(&r);
        break;
      case PageLogRecordType::kPageCount: {
        if (r.payload.size() != PageCountRecord::kBytes) corrupt("MalformedCommitRecord");
        for (const DiskQueueRecord* p : pending) {
          const PageRecordHeader h = PageRecordHeader::decode(p->payload.data());
          overlay_[h.page_number].assign(p->payload.begin() + PageRecordHeader::kBytes,
                                         p->payload.end());
        }
        pending.clear();
        pages_ = PageCountRecord::decode(r.payload.data()).page_count;
        overlay_.erase(overlay_.lower_bound(pages_), overlay_.end());
        ++commits;
        break;
      }
      case PageLogRecordType::kRollback:
        if (r.payload.size() != RollbackRecord::kBytes) corrupt("MalformedRollbackRecord");
        pending.clear();
        break;
      default:
        corrupt("UnknownRecordType");
    }
  }
  CODE_PROBE(!pending.empty(), "page file drops uncommitted pages at its log's tail");
  CODE_PROBE(!overlay_.empty(), "page file replays committed pages from its log");
  if (!pending.empty()) {
    // Those pages never committed; mark them so no later commit mark can adopt them.
    uint8_t rollback[RollbackRecord::kBytes];
    RollbackRecord{record_type(PageLogRecordType::kRollback)}.encode(rollback);
    log_->push(rollback);
  }
  flow::TraceEvent(flow::SevInfo, "PageFileRecovered")
      .detail("File", path)
      .detail("Commits", commits)
      .detail("Pages", pages_)
      .detail("ReplayedPages", static_cast<int64_t>(overlay_.size()))
      .detail("DroppedPages", static_cast<int64_t>(pending.size()));
  records.clear();
  records.shrink_to_fit();
  try {
    checkpoint();
  } catch (const Error& e) {
    fail(e);
    throw;
  }
}

void LoggedPageFile::check_usable() const {
  if (failed_) throw *failed_;
}

void LoggedPageFile::fail(const Error& e) {
  CODE_PROBE(!failed_, "page file fails and becomes unusable");
  if (!failed_)
    failed_ = e.code() == ErrorCode::operation_cancelled ? Error(ErrorCode::io_error) : e;
}

const uint8_t* LoggedPageFile::page(uint64_t number, std::vector<uint8_t>& scratch) {
  auto it = overlay_.find(number);
  if (it != overlay_.end()) return it->second.data();
  scratch.assign(kPageBytes, 0);
  const int64_t offset = static_cast<int64_t>(number * kPageBytes);
  if (offset + static_cast<int64_t>(kPageBytes) > file_size_) return scratch.data();
  const size_t n = flow::wait(file_->read(scratch, offset));
  if (n != kPageBytes || !stamped(scratch.data(), number)) {
    CODE_PROBE(n == kPageBytes, "page file reads a page whose checksum fails");
    CODE_PROBE(n != kPageBytes, "page file reads a page cut short");
    flow::TraceEvent(flow::SevWarnAlways, "PageFileChecksumFailed")
        .detail("File", file_->path())
        .detail("Page", number)
        .detail("Read", static_cast<int64_t>(n));
    throw Error(ErrorCode::checksum_failed);
  }
  return scratch.data();
}

size_t LoggedPageFile::read(std::span<uint8_t> out, int64_t offset) {
  check_usable();
  std::fill(out.begin(), out.end(), 0);
  const int64_t end = std::min(size(), offset + static_cast<int64_t>(out.size()));
  std::vector<uint8_t> scratch;
  for (int64_t at = offset; at < end;) {
    const uint64_t number = static_cast<uint64_t>(at) / kPageBytes;
    const size_t in_page = static_cast<size_t>(at) % kPageBytes;
    const size_t n = std::min<size_t>(kPageBytes - in_page, static_cast<size_t>(end - at));
    const uint8_t* p = page(number, scratch);
    std::memcpy(out.data() + (at - offset), p + in_page, n);
    at += static_cast<int64_t>(n);
  }
  return end > offset ? static_cast<size_t>(end - offset) : 0;
}

void LoggedPageFile::write(std::span<const uint8_t> data, int64_t offset) {
  check_usable();
  std::vector<uint8_t> scratch;
  const int64_t end = offset + static_cast<int64_t>(data.size());
  for (int64_t at = offset; at < end;) {
    const uint64_t number = static_cast<uint64_t>(at) / kPageBytes;
    const size_t in_page = static_cast<size_t>(at) % kPageBytes;
    const size_t n = std::min<size_t>(kPageBytes - in_page, static_cast<size_t>(end - at));
    std::vector<uint8_t> updated;
    if (n == kPageBytes) {
      updated.assign(data.begin() + (at - offset), data.begin() + (at - offset) + kPageBytes);
    } else {
      const uint8_t* old = number < pages_ ? page(number, scratch) : nullptr;
      updated =
          old ? std::vector<uint8_t>(old, old + kPageBytes) : std::vector<uint8_t>(kPageBytes);
      std::memcpy(updated.data() + in_page, data.data() + (at - offset), n);
    }
    stamp(updated.data(), number);
    overlay_[number] = std::move(updated);
    written_.push_back(number);
    pages_ = std::max(pages_, number + 1);
    at += static_cast<int64_t>(n);
  }
}

void LoggedPageFile::truncate(int64_t bytes) {
  check_usable();
  pages_ = (static_cast<uint64_t>(bytes) + kPageBytes - 1) / kPageBytes;
  overlay_.erase(overlay_.lower_bound(pages_), overlay_.end());
  truncated_since_commit_ = true;
}

void LoggedPageFile::commit() {
  check_usable();
  if (written_.empty() && !truncated_since_commit_) return;
  try {
    std::sort(written_.begin(), written_.end());
    written_.erase(std::unique(written_.begin(), written_.end()), written_.end());
    std::vector<uint8_t> record(kPageRecordBytes);
    for (uint64_t number : written_) {
      auto it = overlay_.find(number);
      if (it == overlay_.end()) continue;  // truncated away since
      PageRecordHeader{record_type(PageLogRecordType::kPage), number}.encode(record.data());
      std::memcpy(record.data() + PageRecordHeader::kBytes, it->second.data(), kPageBytes);
      ASSERT_SIM(page_record_parses_back(record, number, it->second.data()));
      log_->push(record);
      logged_bytes_ += static_cast<int64_t>(kPageRecordBytes);
    }
    uint8_t mark[PageCountRecord::kBytes];
    PageCountRecord{record_type(PageLogRecordType::kPageCount), pages_}.encode(mark);
    ASSERT_SIM(page_count_record_parses_back(mark, pages_));
    log_->push(mark);
    written_.clear();
    truncated_since_commit_ = false;
    log_->commit();
    // Under buggify, checkpoints come after a commit or two: crashes then land in them often.
    if (logged_bytes_ >= checkpoint_bytes_ || flow::buggify(0.1)) checkpoint();
  } catch (const Error& e) {
    fail(e);
    throw;
  }
}

void LoggedPageFile::checkpoint() {
  const int64_t bytes = size();
  if (overlay_.empty() && bytes == file_size_) return;
  if (bytes < file_size_) flow::wait(file_->truncate(bytes));
  // Contiguous pages go out in one write.
  std::vector<uint8_t> run;
  uint64_t run_start = 0;
  auto flush = [&] {
    if (run.empty()) return;
    flow::wait(file_->write(run, static_cast<int64_t>(run_start * kPageBytes)));
    run.clear();
  };
  for (const auto& [number, bytes_of_page] : overlay_) {
    if (!run.empty() && number != run_start + run.size() / kPageBytes) flush();
    if (run.empty()) run_start = number;
    run.insert(run.end(), bytes_of_page.begin(), bytes_of_page.end());
    if (run.size() >= (size_t{1} << 20)) flush();
  }
  flush();
  flow::sync_or_fail_stop(*file_);
  CODE_PROBE(true, "page file checkpoints its log into the file");
  file_size_ = bytes;
  overlay_.clear();
  logged_bytes_ = 0;
  ++checkpoints_;
  // Everything logged is in the file now (durable with the next commit's records).
  log_->pop(log_->next_sequence());
}

}  // namespace storage
