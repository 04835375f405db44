#include "roles/common/versionstamp.h"

#include <algorithm>

#include "flow/assert.h"

namespace roles {

Versionstamp make_versionstamp(Version version, uint16_t batch_index) {
  ASSERT_GE(version, 0);
  Versionstamp s{};
  const auto v = static_cast<uint64_t>(version);
  for (int i = 0; i < 8; ++i)
    s[static_cast<size_t>(i)] = static_cast<uint8_t>(v >> (56 - 8 * i));
  s[8] = static_cast<uint8_t>(batch_index >> 8);
  s[9] = static_cast<uint8_t>(batch_index);
  return s;
}

std::optional<uint32_t> versionstamp_offset(std::string_view param) {
  if (param.size() < 4) return std::nullopt;
  uint32_t offset = 0;
  for (size_t i = 0; i < 4; ++i)
    offset |= static_cast<uint32_t>(static_cast<uint8_t>(param[param.size() - 4 + i])) << (8 * i);
  if (static_cast<uint64_t>(offset) + 10 > param.size() - 4) return std::nullopt;
  return offset;
}

std::string place_versionstamp(std::string_view param, const Versionstamp& stamp) {
  const std::optional<uint32_t> offset = versionstamp_offset(param);
  ASSERT(offset.has_value());
  std::string out(param.substr(0, param.size() - 4));
  std::copy(stamp.begin(), stamp.end(), out.begin() + *offset);
  return out;
}

}  // namespace roles
