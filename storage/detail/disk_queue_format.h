#pragma once
// The DiskQueue's record header, as it lies on the disk (docs/disk_queue.md is the prose). Only
// storage/disk_queue.cpp and the storage tests include this.
//
// A record is this 40-byte header, then the payload, then zero padding to a multiple of 8. All
// integers are little-endian on the disk; encode()/decode() convert, field by field, so the struct
// is the layout's one statement and no code reads a field at a raw offset.

#include <cstddef>
#include <cstdint>

#include "flow/little_endian.h"

namespace storage::detail {

inline constexpr uint32_t kDiskQueueMagic = 0x31514453;      // "SDQ1": a record
inline constexpr uint32_t kDiskQueueCopyMagic = 0x43514453;  // "SDQC": its copy

struct DiskQueueRecordHeader {
  uint32_t magic;            // kDiskQueueMagic or kDiskQueueCopyMagic
  uint32_t payload_bytes;    // the payload's length, without padding
  uint64_t sequence;         // 1, 2, 3, ... across both files
  uint64_t first_unpopped;   // records below this were popped when this one was pushed
  uint64_t durable_through;  // the newest record known durable when this one was pushed
  uint64_t checksum;  // XXH3-64 of the payload, seeded with XXH3-64 of the bytes before this field

  static constexpr size_t kBytes = 40;
  // The bytes the checksum's seed covers: the header before the checksum field.
  static constexpr size_t kChecksummedBytes = 32;

  // The whole record's bytes for a payload of `n` bytes: header, payload, padding.
  static constexpr size_t record_bytes(size_t n) { return kBytes + (n + 7) / 8 * 8; }

  void encode(uint8_t* out) const {
    flow::put_le(out + offsetof(DiskQueueRecordHeader, magic), magic, 4);
    flow::put_le(out + offsetof(DiskQueueRecordHeader, payload_bytes), payload_bytes, 4);
    flow::put_le(out + offsetof(DiskQueueRecordHeader, sequence), sequence, 8);
    flow::put_le(out + offsetof(DiskQueueRecordHeader, first_unpopped), first_unpopped, 8);
    flow::put_le(out + offsetof(DiskQueueRecordHeader, durable_through), durable_through, 8);
    flow::put_le(out + offsetof(DiskQueueRecordHeader, checksum), checksum, 8);
  }
  static DiskQueueRecordHeader decode(const uint8_t* in) {
    using H = DiskQueueRecordHeader;
    return {static_cast<uint32_t>(flow::get_le(in + offsetof(H, magic), 4)),
            static_cast<uint32_t>(flow::get_le(in + offsetof(H, payload_bytes), 4)),
            flow::get_le(in + offsetof(H, sequence), 8),
            flow::get_le(in + offsetof(H, first_unpopped), 8),
            flow::get_le(in + offsetof(H, durable_through), 8),
            flow::get_le(in + offsetof(H, checksum), 8)};
  }
  // Just the magic and the sequence, for scans that skip most offsets.
  static uint32_t decode_magic(const uint8_t* in) {
    return static_cast<uint32_t>(flow::get_le(in + offsetof(DiskQueueRecordHeader, magic), 4));
  }
  static uint64_t decode_sequence(const uint8_t* in) {
    return flow::get_le(in + offsetof(DiskQueueRecordHeader, sequence), 8);
  }
};

static_assert(sizeof(DiskQueueRecordHeader) == DiskQueueRecordHeader::kBytes);
static_assert(offsetof(DiskQueueRecordHeader, magic) == 0);
static_assert(offsetof(DiskQueueRecordHeader, payload_bytes) == 4);
static_assert(offsetof(DiskQueueRecordHeader, sequence) == 8);
static_assert(offsetof(DiskQueueRecordHeader, first_unpopped) == 16);
static_assert(offsetof(DiskQueueRecordHeader, durable_through) == 24);
static_assert(offsetof(DiskQueueRecordHeader, checksum) ==
              DiskQueueRecordHeader::kChecksummedBytes);
static_assert(DiskQueueRecordHeader::kChecksummedBytes + 8 == DiskQueueRecordHeader::kBytes,
              "the checksum ends the header");
static_assert(DiskQueueRecordHeader::record_bytes(0) == 40 &&
              DiskQueueRecordHeader::record_bytes(1) == 48 &&
              DiskQueueRecordHeader::record_bytes(8) == 48);

}  // namespace storage::detail
