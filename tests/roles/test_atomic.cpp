// Atomic operations, byte for byte, against a table of cases (FoundationDB's semantics).
#include <doctest/doctest.h>

#include <optional>
#include <string>

#include "roles/common/atomic.h"

using roles::apply_atomic;
using roles::MutationType;

namespace {

constexpr size_t kLimit = 100'000;

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int x : b) s.push_back(static_cast<char>(x));
  return s;
}

std::optional<std::string> apply(MutationType t, std::optional<std::string> existing,
                                 const std::string& operand, size_t limit = kLimit) {
  return apply_atomic(t, existing ? std::optional<std::string_view>(*existing) : std::nullopt,
                      operand, limit);
}

}  // namespace

TEST_CASE("atomic: add is little-endian, at the operand's length, with carries and wrap") {
  using T = MutationType;
  CHECK(apply(T::kAdd, std::nullopt, bytes({5, 0})) == bytes({5, 0}));
  CHECK(apply(T::kAdd, bytes({0xff, 0x00}), bytes({1, 0})) == bytes({0, 1}));   // carry
  CHECK(apply(T::kAdd, bytes({0xff, 0xff}), bytes({1, 0})) == bytes({0, 0}));   // wraps
  CHECK(apply(T::kAdd, bytes({1}), bytes({1, 1, 1})) == bytes({2, 1, 1}));      // extended
  CHECK(apply(T::kAdd, bytes({1, 2, 3}), bytes({1})) == bytes({2}));            // truncated
  CHECK(apply(T::kAdd, bytes({0xff, 0xff, 0xff, 0xff}), bytes({0xff, 0xff, 0xff, 0xff})) ==
        bytes({0xfe, 0xff, 0xff, 0xff}));  // -1 + -1 = -2
  CHECK(apply(T::kAdd, bytes({7}), "") == "");
}

TEST_CASE("atomic: bit operations at the operand's length; and of nothing is the operand") {
  using T = MutationType;
  CHECK(apply(T::kBitAnd, std::nullopt, bytes({0x0f})) == bytes({0x0f}));
  CHECK(apply(T::kBitAnd, bytes({0x3c}), bytes({0x0f, 0xff})) == bytes({0x0c, 0x00}));
  CHECK(apply(T::kBitAnd, std::string(), bytes({0xff})) == bytes({0x00}));  // present, empty
  CHECK(apply(T::kBitOr, std::nullopt, bytes({0x0f})) == bytes({0x0f}));
  CHECK(apply(T::kBitOr, bytes({0x30, 0x01, 0x02}), bytes({0x0f})) == bytes({0x3f}));
  CHECK(apply(T::kBitXor, bytes({0xff}), bytes({0x0f, 0x01})) == bytes({0xf0, 0x01}));
}

TEST_CASE("atomic: max and min compare little-endian unsigned at the operand's length") {
  using T = MutationType;
  CHECK(apply(T::kMax, std::nullopt, bytes({3})) == bytes({3}));
  CHECK(apply(T::kMax, bytes({0x00, 0x01}), bytes({0xff, 0x00})) == bytes({0x00, 0x01}));  // 256 > 255
  CHECK(apply(T::kMax, bytes({0x05}), bytes({0x04, 0x00})) == bytes({0x05, 0x00}));        // extended
  CHECK(apply(T::kMax, bytes({0x05, 0x09}), bytes({0x06})) == bytes({0x06}));              // truncated
  CHECK(apply(T::kMin, std::nullopt, bytes({3})) == bytes({3}));
  CHECK(apply(T::kMin, bytes({0x00, 0x01}), bytes({0xff, 0x00})) == bytes({0xff, 0x00}));
  CHECK(apply(T::kMin, bytes({0x02}), bytes({0x03, 0x00})) == bytes({0x02, 0x00}));
  CHECK(apply(T::kMin, std::string(), bytes({0x03})) == bytes({0x00}));  // present, empty: zero
}

TEST_CASE("atomic: byte max and min compare whole values lexicographically") {
  using T = MutationType;
  CHECK(apply(T::kByteMax, std::nullopt, "b") == "b");
  CHECK(apply(T::kByteMax, "abc", "abd") == "abd");
  CHECK(apply(T::kByteMax, "abc", "ab") == "abc");
  CHECK(apply(T::kByteMin, "abc", "ab") == "ab");
  CHECK(apply(T::kByteMin, std::nullopt, "zz") == "zz");
  CHECK(apply(T::kByteMin, std::string("a\xff", 2), std::string("a\x01", 2)) ==
        std::string("a\x01", 2));  // bytes compare unsigned
}

TEST_CASE("atomic: append_if_fits appends only within the limit; compare_and_clear clears on a match") {
  using T = MutationType;
  CHECK(apply(T::kAppendIfFits, std::nullopt, "xy") == "xy");
  CHECK(apply(T::kAppendIfFits, "ab", "cd", 4) == "abcd");
  CHECK(apply(T::kAppendIfFits, "ab", "cde", 4) == "ab");  // would not fit: unchanged
  CHECK(apply(T::kCompareAndClear, "v", "v") == std::nullopt);
  CHECK(apply(T::kCompareAndClear, "v", "w") == "v");
  CHECK(apply(T::kCompareAndClear, std::nullopt, "") == std::nullopt);
  CHECK(apply(T::kCompareAndClear, std::string(), "") == std::nullopt);  // empty equals empty
}

TEST_CASE("atomic: which mutation types are applied to a value") {
  CHECK(roles::is_atomic_operation(MutationType::kAdd));
  CHECK(roles::is_atomic_operation(MutationType::kCompareAndClear));
  CHECK(!roles::is_atomic_operation(MutationType::kSet));
  CHECK(!roles::is_atomic_operation(MutationType::kClearRange));
  CHECK(!roles::is_atomic_operation(MutationType::kSetVersionstampedKey));
}
