#include "roles/worker/role_record.h"

#include <xxhash.h>

#include "flow/actor.h"
#include "flow/little_endian.h"
#include "flow/trace_event.h"

namespace roles {

namespace {

// Header: magic, kind, payload bytes (u32 each), XXH3-64 of the kind and payload (u64).
constexpr uint32_t kMagic = 0x4c4f5253;  // "SROL"
constexpr size_t kHeaderBytes = 20;
constexpr size_t kPayloadMax = size_t{64} << 20;
constexpr int kReadAttempts = 3;

uint64_t checksum(uint32_t kind, std::span<const uint8_t> payload) {
  return XXH3_64bits_withSeed(payload.data(), payload.size(), kind);
}

}  // namespace

std::vector<uint8_t> encode_role_record(const RoleRecord& record) {
  std::vector<uint8_t> out(kHeaderBytes + record.request.size());
  const auto kind = static_cast<uint32_t>(record.kind);
  flow::put_le(out.data(), kMagic, 4);
  flow::put_le(out.data() + 4, kind, 4);
  flow::put_le(out.data() + 8, record.request.size(), 4);
  flow::put_le(out.data() + 12, checksum(kind, record.request), 8);
  std::copy(record.request.begin(), record.request.end(), out.begin() + kHeaderBytes);
  return out;
}

flow::ErrorOr<RoleRecord> decode_role_record(std::span<const uint8_t> bytes) {
  const flow::Error bad(flow::ErrorCode::checksum_failed);
  if (bytes.size() < kHeaderBytes) return bad;
  const auto magic = static_cast<uint32_t>(flow::get_le(bytes.data(), 4));
  const auto kind = static_cast<uint32_t>(flow::get_le(bytes.data() + 4, 4));
  const size_t payload = flow::get_le(bytes.data() + 8, 4);
  if (magic != kMagic || payload != bytes.size() - kHeaderBytes) return bad;
  if (kind != static_cast<uint32_t>(RoleRecordKind::kTLog) &&
      kind != static_cast<uint32_t>(RoleRecordKind::kStorageServer))
    return bad;
  const std::span<const uint8_t> request = bytes.subspan(kHeaderBytes);
  if (flow::get_le(bytes.data() + 12, 8) != checksum(kind, request)) return bad;
  return RoleRecord{static_cast<RoleRecordKind>(kind), {request.begin(), request.end()}};
}

void write_role_record(flow::IFileSystem& fs, const std::string& role, const RoleRecord& record) {
  const std::string file = role + std::string(kRoleRecordSuffix);
  const std::string temporary = file + ".tmp";
  const std::vector<uint8_t> bytes = encode_role_record(record);
  {
    std::shared_ptr<flow::IAsyncFile> f = flow::wait(fs.open(temporary, flow::OpenMode::kReadWriteCreate));
    flow::wait(f->truncate(0));
    flow::write_and_sync_or_fail_stop(*f, bytes, 0);
  }
  flow::wait(fs.rename(temporary, file));
}

flow::ErrorOr<RoleRecord> read_role_record(flow::IFileSystem& fs, const std::string& file) {
  std::shared_ptr<flow::IAsyncFile> f = flow::wait(fs.open(file, flow::OpenMode::kReadOnly));
  const int64_t size = flow::wait(f->size());
  if (size < 0 || static_cast<uint64_t>(size) > kHeaderBytes + kPayloadMax)
    return flow::Error(flow::ErrorCode::checksum_failed);
  for (int attempt = 0; attempt < kReadAttempts; ++attempt) {
    std::vector<uint8_t> bytes(static_cast<size_t>(size));
    const size_t got = flow::wait(f->read(bytes, 0));
    bytes.resize(got);
    if (flow::ErrorOr<RoleRecord> record = decode_role_record(bytes); record.ok()) return record;
    flow::TraceEvent(flow::SevWarn, "WorkerRoleRecordUnreadable").detail("File", file).detail("Attempt", attempt);
  }
  return flow::Error(flow::ErrorCode::checksum_failed);
}

}  // namespace roles
