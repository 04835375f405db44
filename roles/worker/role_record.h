#pragma once
// A worker's record of a log or storage server it was asked to start (docs/database_disk.md,
// "Worker role records"): the file `<role>.role` holds the request, so that the worker brings
// the role back from its files after the process reboots. Written whole or not at all (a
// temporary file, synced, then renamed over the record).

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "flow/error_or.h"
#include "flow/file_system.h"

namespace roles {

enum class RoleRecordKind : uint32_t { kTLog = 1, kStorageServer = 2 };

struct RoleRecord {
  RoleRecordKind kind = RoleRecordKind::kTLog;
  std::vector<uint8_t> request;  // the Initialize request, as the wire encodes it
};

inline constexpr std::string_view kRoleRecordSuffix = ".role";

std::vector<uint8_t> encode_role_record(const RoleRecord& record);
// checksum_failed for bytes that are not one whole record of a known kind.
flow::ErrorOr<RoleRecord> decode_role_record(std::span<const uint8_t> bytes);

// Makes `<role>.role` hold `record`, durably. A failed sync ends the process (flow::fail_stop).
// May suspend.
void write_role_record(flow::IFileSystem& fs, const std::string& role, const RoleRecord& record);
// The record in `file`, read again (up to three times) while it fails its checksum, since a
// read may return corrupted bytes that the disk holds intact. May suspend.
flow::ErrorOr<RoleRecord> read_role_record(flow::IFileSystem& fs, const std::string& file);

}  // namespace roles
