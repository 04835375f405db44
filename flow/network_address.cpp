#include <charconv>

#include <fmt/format.h>

#include "flow/network_address.h"

namespace flow {

ErrorOr<NetworkAddress> NetworkAddress::parse(std::string_view text) {
  const Error bad(ErrorCode::invalid_option_value);
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return bad;
  NetworkAddress a;
  std::string_view host = text.substr(0, colon);
  for (int i = 0; i < 4; ++i) {
    unsigned octet = 0;
    auto [end, ec] = std::from_chars(host.data(), host.data() + host.size(), octet);
    if (ec != std::errc() || octet > 255 || end == host.data()) return bad;
    a.ip = (a.ip << 8) | octet;
    host.remove_prefix(static_cast<size_t>(end - host.data()));
    if (i < 3) {
      if (host.empty() || host.front() != '.') return bad;
      host.remove_prefix(1);
    }
  }
  if (!host.empty()) return bad;
  const std::string_view port = text.substr(colon + 1);
  unsigned p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || end != port.data() + port.size() || port.empty() || p > 65535) {
    return bad;
  }
  a.port = static_cast<uint16_t>(p);
  return a;
}

std::string NetworkAddress::to_string() const {
  return fmt::format("{}.{}.{}.{}:{}", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255, port);
}

}  // namespace flow
