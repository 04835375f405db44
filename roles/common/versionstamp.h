#pragma once
// Versionstamps (docs/database.md, "Shared types"): 10 bytes that order every committed
// transaction — its commit version (8 bytes, big-endian) and its index in its commit batch (2
// bytes, big-endian) — so that they sort as the transactions committed. A client writes a
// versionstamped key or value with a 10-byte placeholder and, in the last 4 bytes, the
// placeholder's offset (little-endian); the commit proxy, which knows both numbers, puts the
// versionstamp there and drops the 4 bytes. A client checks the offset before it sends; the proxy
// checks again and refuses a bad one, never asserting on it.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "roles/common/types.h"

namespace roles {

using Versionstamp = std::array<uint8_t, 10>;

Versionstamp make_versionstamp(Version version, uint16_t batch_index);

// Where the placeholder starts in a versionstamped key or value, if the offset in its last 4
// bytes leaves room for all 10 of it before them; nullopt otherwise.
std::optional<uint32_t> versionstamp_offset(std::string_view param);

// `param` with the versionstamp in place of its placeholder and without its last 4 bytes.
// REQUIRES: versionstamp_offset(param).
std::string place_versionstamp(std::string_view param, const Versionstamp& stamp);

}  // namespace roles
