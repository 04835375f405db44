#pragma once
// Atomic operations: what each leaves at a key, given what the key held (docs/database.md,
// "Shared types"). The storage servers apply them at each version; the client applies them to
// what it read, for read-your-writes. Both must give the same bytes, so both use this.
//
// The semantics are FoundationDB's. The numeric operations (add, bit_and, bit_or, bit_xor, max,
// min) treat the existing value as the operand's length: shorter ones are extended with zero
// bytes, longer ones truncated; integers are little-endian (add wraps; max and min compare
// unsigned). An absent value reads as empty, so it gives the operand for add, bit_or, bit_xor and
// max, and bit_and and min of an absent value give the operand too (FoundationDB's current
// versions of those two, not the zeros their first versions gave). byte_max and byte_min compare
// whole values lexicographically (absent: the operand). append_if_fits appends unless the result
// would pass the value size limit, then leaves the value as it was (absent: the operand).
// compare_and_clear clears the key if it holds exactly the operand.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace roles {

// A mutation's kind, numbered as FoundationDB numbers them.
enum class MutationType : uint8_t {
  kSet = 0,
  kClearRange = 1,
  kAdd = 2,
  kBitAnd = 6,
  kBitOr = 7,
  kBitXor = 8,
  kAppendIfFits = 9,
  kMax = 12,
  kMin = 13,
  kSetVersionstampedKey = 14,
  kSetVersionstampedValue = 15,
  kByteMin = 16,
  kByteMax = 17,
  kCompareAndClear = 20,
};

// Whether apply_atomic takes `type`: the operations applied to the value a key holds (not set,
// clear_range or the versionstamp operations, which the commit proxy turns into sets).
bool is_atomic_operation(MutationType type);

// What a key holds after the atomic operation `type` with `operand`, if it held `existing`
// (nullopt: nothing); nullopt if the operation clears it. REQUIRES: is_atomic_operation(type).
std::optional<std::string> apply_atomic(MutationType type, std::optional<std::string_view> existing,
                                        std::string_view operand, size_t value_bytes_max);

}  // namespace roles
