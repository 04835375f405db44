#pragma once
// NetworkAddress — where a process can be reached: an IPv4 address and port.

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "flow/error_or.h"

namespace flow {

// An IPv4 address and port. Simulated processes get addresses too; no traffic leaves the run.
struct NetworkAddress {
  uint32_t ip = 0;
  uint16_t port = 0;

  // "a.b.c.d:port"; invalid_option_value for anything else.
  static ErrorOr<NetworkAddress> parse(std::string_view text);
  std::string to_string() const;
  // 0.0.0.0:0 means "none" (a process that does not listen).
  bool is_set() const { return ip != 0 || port != 0; }
  friend auto operator<=>(const NetworkAddress&, const NetworkAddress&) = default;
};

}  // namespace flow
