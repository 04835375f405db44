#include "roles/tlog/tlog_record.h"

#include "flow/assert.h"
#include "flow/little_endian.h"
#include "flow/trace_event.h"

namespace roles {

namespace {

constexpr size_t padded(size_t n) {
  return (n + 7) / 8 * 8;
}

flow::Error malformed(const char* why, size_t at) {
  flow::TraceEvent(flow::SevWarnAlways, "TLogRecordMalformed")
      .detail("Why", why)
      .detail("Offset", static_cast<int64_t>(at));
  return flow::Error(flow::ErrorCode::checksum_failed);
}

}  // namespace

std::vector<uint8_t> encode_tlog_record(const TLogRecord& record) {
  size_t bytes = TLogRecordHeader::kBytes;
  for (const TaggedMutation& m : record.messages) {
    ASSERT_LE(m.tags.size(), kTLogTagsPerMessageMax);
    ASSERT_LT(m.mutation.param1.size(), size_t{1} << 32);
    ASSERT_LT(m.mutation.param2.size(), size_t{1} << 32);
    bytes += padded(TLogMessageHeader::kBytes + 2 * m.tags.size() + m.mutation.param1.size() +
                    m.mutation.param2.size());
  }
  if (is_lock_marker(record)) bytes += 16;
  std::vector<uint8_t> out(bytes, 0);
  uint8_t* p = out.data();
  flow::put_le(p + offsetof(TLogRecordHeader, format), kTLogRecordFormat, 4);
  flow::put_le(p + offsetof(TLogRecordHeader, message_count), record.messages.size(), 4);
  flow::put_le(p + offsetof(TLogRecordHeader, epoch), record.epoch, 8);
  flow::put_le(p + offsetof(TLogRecordHeader, version), static_cast<uint64_t>(record.version), 8);
  flow::put_le(p + offsetof(TLogRecordHeader, prev_version),
               static_cast<uint64_t>(record.prev_version), 8);
  flow::put_le(p + offsetof(TLogRecordHeader, known_committed_version),
               static_cast<uint64_t>(record.known_committed_version), 8);
  size_t at = TLogRecordHeader::kBytes;
  for (const TaggedMutation& m : record.messages) {
    uint8_t* h = p + at;
    flow::put_le(h + offsetof(TLogMessageHeader, tag_count), m.tags.size(), 2);
    flow::put_le(h + offsetof(TLogMessageHeader, type), static_cast<uint8_t>(m.mutation.type), 1);
    flow::put_le(h + offsetof(TLogMessageHeader, param1_bytes), m.mutation.param1.size(), 4);
    flow::put_le(h + offsetof(TLogMessageHeader, param2_bytes), m.mutation.param2.size(), 4);
    size_t q = at + TLogMessageHeader::kBytes;
    for (Tag t : m.tags) {
      flow::put_le(p + q, t, 2);
      q += 2;
    }
    std::copy(m.mutation.param1.begin(), m.mutation.param1.end(), p + q);
    q += m.mutation.param1.size();
    std::copy(m.mutation.param2.begin(), m.mutation.param2.end(), p + q);
    q += m.mutation.param2.size();
    at += padded(q - at);
  }
  if (is_lock_marker(record)) {
    flow::put_le(p + at, record.locked_by_recovery, 8);
    flow::put_le(p + at + 8, record.sealed ? 1 : 0, 8);
  }
  return out;
}

flow::ErrorOr<TLogRecord> decode_tlog_record(std::span<const uint8_t> bytes) {
  if (bytes.size() < TLogRecordHeader::kBytes) return malformed("short header", 0);
  const uint8_t* p = bytes.data();
  if (flow::get_le(p + offsetof(TLogRecordHeader, format), 4) != kTLogRecordFormat)
    return malformed("format", 0);
  const uint64_t count = flow::get_le(p + offsetof(TLogRecordHeader, message_count), 4);
  TLogRecord r;
  r.epoch = flow::get_le(p + offsetof(TLogRecordHeader, epoch), 8);
  r.version = static_cast<Version>(flow::get_le(p + offsetof(TLogRecordHeader, version), 8));
  r.prev_version =
      static_cast<Version>(flow::get_le(p + offsetof(TLogRecordHeader, prev_version), 8));
  r.known_committed_version = static_cast<Version>(
      flow::get_le(p + offsetof(TLogRecordHeader, known_committed_version), 8));
  // A lock marker (docs/database_disk.md) repeats the version, and holds no message.
  if (r.version < r.prev_version || (r.version == r.prev_version && count != 0))
    return malformed("version not after prev_version", 0);
  // Each message takes at least its header: a count beyond what fits is corrupt, and is found
  // before anything is reserved for it.
  if (count > (bytes.size() - TLogRecordHeader::kBytes) / TLogMessageHeader::kBytes)
    return malformed("message count", 4);
  r.messages.reserve(count);
  size_t at = TLogRecordHeader::kBytes;
  for (uint64_t i = 0; i < count; ++i) {
    if (bytes.size() - at < TLogMessageHeader::kBytes) return malformed("short message", at);
    const uint8_t* h = p + at;
    const auto tags = static_cast<size_t>(flow::get_le(h + offsetof(TLogMessageHeader, tag_count), 2));
    const auto type = static_cast<uint8_t>(flow::get_le(h + offsetof(TLogMessageHeader, type), 1));
    const auto a = static_cast<size_t>(flow::get_le(h + offsetof(TLogMessageHeader, param1_bytes), 4));
    const auto b = static_cast<size_t>(flow::get_le(h + offsetof(TLogMessageHeader, param2_bytes), 4));
    if (h[offsetof(TLogMessageHeader, reserved)] != 0) return malformed("reserved byte", at);
    if (!is_known_mutation_type(type)) return malformed("mutation type", at);
    const size_t body = TLogMessageHeader::kBytes + 2 * tags + a + b;  // no overflow: each < 2^32
    if (padded(body) > bytes.size() - at) return malformed("message past the end", at);
    TaggedMutation m;
    size_t q = at + TLogMessageHeader::kBytes;
    m.tags.reserve(tags);
    for (size_t t = 0; t < tags; ++t, q += 2) m.tags.push_back(static_cast<Tag>(flow::get_le(p + q, 2)));
    m.mutation.type = static_cast<MutationType>(type);
    m.mutation.param1.assign(reinterpret_cast<const char*>(p + q), a);
    q += a;
    m.mutation.param2.assign(reinterpret_cast<const char*>(p + q), b);
    q += b;
    for (size_t z = at + body; z < at + padded(body); ++z)
      if (p[z] != 0) return malformed("padding", z);
    r.messages.push_back(std::move(m));
    at += padded(body);
  }
  if (is_lock_marker(r)) {
    if (bytes.size() - at < 16) return malformed("lock marker without its recovery", at);
    r.locked_by_recovery = flow::get_le(p + at, 8);
    const uint64_t sealed = flow::get_le(p + at + 8, 8);
    if (sealed > 1) return malformed("lock marker's seal", at + 8);
    r.sealed = sealed == 1;
    at += 16;
  }
  if (at != bytes.size()) return malformed("bytes left over", at);
  return r;
}

}  // namespace roles
