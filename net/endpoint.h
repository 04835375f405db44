#pragma once
// Token and Endpoint — how a message names its receiver.
//
// An endpoint is a process's network address and a token that picks one receiver inside it. Most
// tokens are drawn at random when a receiver is made; well-known tokens are fixed, so a process
// can reach a service it was told nothing about but the address (bootstrapping).

#include <compare>
#include <cstdint>
#include <string>

#include "flow/network_address.h"

namespace net {

struct Token {
  uint64_t first = 0;
  uint64_t second = 0;

  bool is_zero() const { return first == 0 && second == 0; }
  std::string to_string() const;
  friend auto operator<=>(const Token&, const Token&) = default;
};

// The well-known token `index`. Random tokens never collide with these (their first half is
// never kWellKnownFirst).
inline constexpr uint64_t kWellKnownFirst = 0xffff'ffff'ffff'fffeULL;
constexpr Token well_known_token(uint64_t index) { return Token{kWellKnownFirst, index}; }

struct Endpoint {
  flow::NetworkAddress address;
  Token token;

  std::string to_string() const;
  friend auto operator<=>(const Endpoint&, const Endpoint&) = default;
};

}  // namespace net
