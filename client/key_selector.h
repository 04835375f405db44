#pragma once
// KeySelector — FoundationDB's way of naming a key by its place among the keys that exist: the
// last key before `key` (at or before it with `or_equal`), then `offset` keys on from there
// (offset 1: the key after that one, 0: that one, -1: the one before it).

#include <cstdint>
#include <string>
#include <string_view>

namespace client {

struct KeySelector {
  std::string key;
  bool or_equal = false;
  int32_t offset = 1;

  static KeySelector first_greater_or_equal(std::string_view k) { return {std::string(k), false, 1}; }
  static KeySelector first_greater_than(std::string_view k) { return {std::string(k), true, 1}; }
  static KeySelector last_less_or_equal(std::string_view k) { return {std::string(k), true, 0}; }
  static KeySelector last_less_than(std::string_view k) { return {std::string(k), false, 0}; }
};

}  // namespace client
