#pragma once
// TLogRecord — what the log writes to its DiskQueue for one version (docs/database_disk.md,
// "One DiskQueue record per version"). The structs below are the layout's one statement: every
// field is read and written through them, little-endian, never at a raw offset elsewhere.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "flow/error_or.h"
#include "roles/common/mutation.h"
#include "roles/common/types.h"

namespace roles {

inline constexpr uint32_t kTLogRecordFormat = 0x32564c54;  // "TLV2"
// A message's tags at most (its count is 2 bytes).
inline constexpr size_t kTLogTagsPerMessageMax = 0xffff;

// The record's header.
struct TLogRecordHeader {
  uint32_t format;        // kTLogRecordFormat
  uint32_t message_count;
  uint64_t epoch;
  int64_t version;
  int64_t prev_version;
  int64_t known_committed_version;  // the newest version the proxy knew committed

  static constexpr size_t kBytes = 40;
};

// Each message's header, then its tags (2 bytes each), param1, param2 and zero padding to a
// multiple of 8.
struct TLogMessageHeader {
  uint16_t tag_count;
  uint8_t type;      // MutationType
  uint8_t reserved;  // zero
  uint32_t param1_bytes;
  uint32_t param2_bytes;

  static constexpr size_t kBytes = 12;
};

struct TaggedMutation {
  std::vector<Tag> tags;
  Mutation mutation;
  friend bool operator==(const TaggedMutation&, const TaggedMutation&) = default;
};

struct TLogRecord {
  uint64_t epoch = 0;
  Version version = 0;
  Version prev_version = 0;
  Version known_committed_version = 0;
  std::vector<TaggedMutation> messages;
  // A lock marker's only (16 bytes after its header): the id of the recovery that locked the log,
  // and whether that recovery sealed it (its new generation's state is on the coordinators).
  uint64_t locked_by_recovery = 0;
  bool sealed = false;
  friend bool operator==(const TLogRecord&, const TLogRecord&) = default;
};

// Whether `r` marks the log locked by a recovery of epoch r.epoch (docs/database_disk.md, "Lock
// marker"): it repeats the log's version as both version and prev_version, and holds no message.
inline bool is_lock_marker(const TLogRecord& r) { return r.version == r.prev_version && r.messages.empty(); }

// REQUIRES: each message has at most kTLogTagsPerMessageMax tags, and parameters below 4 GiB.
std::vector<uint8_t> encode_tlog_record(const TLogRecord& record);
// The record in `bytes`; checksum_failed (with a TLogRecordMalformed trace event) if they do not
// parse: a wrong format, lengths past the end, a nonzero reserved or padding byte, an unknown
// mutation type, or bytes left over. The DiskQueue's checksum held, so that is corruption it did
// not catch (or a bug), never something to assert on.
flow::ErrorOr<TLogRecord> decode_tlog_record(std::span<const uint8_t> bytes);

}  // namespace roles

namespace roles {
static_assert(sizeof(TLogRecordHeader) == TLogRecordHeader::kBytes);
static_assert(offsetof(TLogRecordHeader, known_committed_version) == 32);
static_assert(sizeof(TLogMessageHeader) == TLogMessageHeader::kBytes);
static_assert(offsetof(TLogMessageHeader, param2_bytes) == 8);
}  // namespace roles
