#pragma once
// The memory engine's log operations, as they lie in its DiskQueue records (docs/storage.md is the
// prose). Only storage/memory_key_value_store.cpp and the storage tests include this.
//
// A record is a run of operations, each this 9-byte header and then its two byte strings a and b,
// with no padding. All integers are little-endian on the disk; encode()/decode() convert, field by
// field, so the struct is the layout's one statement and no code reads a field at a raw offset.

#include <cstddef>
#include <cstdint>

#include "flow/little_endian.h"

namespace storage::detail {

enum class MemoryOpType : uint8_t {
  kSet = 1,        // a = key, b = value (also a snapshot item)
  kClear = 2,      // a = begin, b = end
  kCommit = 3,     // the operations since the last commit or rollback mark are one commit
  kRollback = 4,   // the operations since the last mark never committed: drop them
  kPassStart = 5,  // a snapshot pass starts here; always the first operation of its record
};
inline constexpr uint8_t kMemoryOpTypeMin = static_cast<uint8_t>(MemoryOpType::kSet);
inline constexpr uint8_t kMemoryOpTypeMax = static_cast<uint8_t>(MemoryOpType::kPassStart);

// Packed: the on-disk operation has no padding, and offsetof() below names each field's place.
struct [[gnu::packed]] MemoryOpHeader {
  uint8_t type;      // a MemoryOpType
  uint32_t a_bytes;  // the length of a, which follows the header
  uint32_t b_bytes;  // the length of b, which follows a

  static constexpr size_t kBytes = 9;

  // The whole operation's bytes: header, a and b.
  size_t op_bytes() const { return kBytes + size_t{a_bytes} + size_t{b_bytes}; }

  void encode(uint8_t* out) const {
    flow::put_le(out + offsetof(MemoryOpHeader, type), type, 1);
    flow::put_le(out + offsetof(MemoryOpHeader, a_bytes), a_bytes, 4);
    flow::put_le(out + offsetof(MemoryOpHeader, b_bytes), b_bytes, 4);
  }
  static MemoryOpHeader decode(const uint8_t* in) {
    using H = MemoryOpHeader;
    return {static_cast<uint8_t>(flow::get_le(in + offsetof(H, type), 1)),
            static_cast<uint32_t>(flow::get_le(in + offsetof(H, a_bytes), 4)),
            static_cast<uint32_t>(flow::get_le(in + offsetof(H, b_bytes), 4))};
  }
};

static_assert(sizeof(MemoryOpHeader) == MemoryOpHeader::kBytes);
static_assert(offsetof(MemoryOpHeader, type) == 0);
static_assert(offsetof(MemoryOpHeader, a_bytes) == 1);
static_assert(offsetof(MemoryOpHeader, b_bytes) == 5);

}  // namespace storage::detail
