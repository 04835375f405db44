#pragma once
// The records of a LoggedPageFile's redo log, as they lie in its DiskQueue (docs/storage.md is the
// prose). Only storage/logged_page_file.cpp and the storage tests include this.
//
// Three records: a page record (its header, then the page's bytes), a page-count record (the
// commit mark), and a rollback record. The first byte of each is its type; there is no padding.
// All integers are little-endian on the disk; encode()/decode() convert, field by field, so the
// structs are the layout's one statement and no code reads a field at a raw offset.

#include <cstddef>
#include <cstdint>

#include "flow/little_endian.h"

namespace storage::detail {

enum class PageLogRecordType : uint8_t {
  kPage = 1,       // PageRecordHeader and a page
  kPageCount = 2,  // PageCountRecord: the pages before it are one commit
  kRollback = 3,   // RollbackRecord: the page records since the last mark never committed
};

// Packed: the on-disk records have no padding, and offsetof() below names each field's place.
struct [[gnu::packed]] PageRecordHeader {
  uint8_t type;          // PageLogRecordType::kPage
  uint64_t page_number;  // the page covers file bytes page_number * page size onwards

  static constexpr size_t kBytes = 9;

  void encode(uint8_t* out) const {
    flow::put_le(out + offsetof(PageRecordHeader, type), type, 1);
    flow::put_le(out + offsetof(PageRecordHeader, page_number), page_number, 8);
  }
  static PageRecordHeader decode(const uint8_t* in) {
    return {static_cast<uint8_t>(flow::get_le(in + offsetof(PageRecordHeader, type), 1)),
            flow::get_le(in + offsetof(PageRecordHeader, page_number), 8)};
  }
};

struct [[gnu::packed]] PageCountRecord {
  uint8_t type;         // PageLogRecordType::kPageCount
  uint64_t page_count;  // the file's size in pages as of this commit

  static constexpr size_t kBytes = 9;

  void encode(uint8_t* out) const {
    flow::put_le(out + offsetof(PageCountRecord, type), type, 1);
    flow::put_le(out + offsetof(PageCountRecord, page_count), page_count, 8);
  }
  static PageCountRecord decode(const uint8_t* in) {
    return {static_cast<uint8_t>(flow::get_le(in + offsetof(PageCountRecord, type), 1)),
            flow::get_le(in + offsetof(PageCountRecord, page_count), 8)};
  }
};

struct RollbackRecord {
  uint8_t type;  // PageLogRecordType::kRollback

  static constexpr size_t kBytes = 1;

  void encode(uint8_t* out) const { flow::put_le(out + offsetof(RollbackRecord, type), type, 1); }
};

static_assert(sizeof(PageRecordHeader) == PageRecordHeader::kBytes);
static_assert(offsetof(PageRecordHeader, type) == 0);
static_assert(offsetof(PageRecordHeader, page_number) == 1);
static_assert(sizeof(PageCountRecord) == PageCountRecord::kBytes);
static_assert(offsetof(PageCountRecord, type) == 0);
static_assert(offsetof(PageCountRecord, page_count) == 1);
static_assert(sizeof(RollbackRecord) == RollbackRecord::kBytes);
static_assert(offsetof(RollbackRecord, type) == 0);

}  // namespace storage::detail
