#include "roles/common/atomic.h"

#include <algorithm>

#include "flow/assert.h"

namespace roles {

namespace {

// `existing` made the operand's length: truncated, or extended with zero bytes.
std::string fitted(std::optional<std::string_view> existing, size_t length) {
  std::string v(existing.value_or(std::string_view()).substr(0, length));
  v.resize(length, '\0');
  return v;
}

// -1, 0 or 1 as the little-endian unsigned integer `a` is below, equal to or above `b` (same
// length).
int compare_little_endian(std::string_view a, std::string_view b) {
  for (size_t i = a.size(); i-- > 0;) {
    const auto x = static_cast<uint8_t>(a[i]), y = static_cast<uint8_t>(b[i]);
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

}  // namespace

bool is_atomic_operation(MutationType type) {
  switch (type) {
    case MutationType::kAdd:
    case MutationType::kBitAnd:
    case MutationType::kBitOr:
    case MutationType::kBitXor:
    case MutationType::kAppendIfFits:
    case MutationType::kMax:
    case MutationType::kMin:
    case MutationType::kByteMin:
    case MutationType::kByteMax:
    case MutationType::kCompareAndClear:
      return true;
    case MutationType::kSet:
    case MutationType::kClearRange:
    case MutationType::kSetVersionstampedKey:
    case MutationType::kSetVersionstampedValue:
      return false;
  }
  return false;
}

std::optional<std::string> apply_atomic(MutationType type, std::optional<std::string_view> existing,
                                        std::string_view operand, size_t value_bytes_max) {
  ASSERT(is_atomic_operation(type));
  const size_t n = operand.size();
  switch (type) {
    case MutationType::kAdd: {
      std::string v = fitted(existing, n);
      unsigned carry = 0;
      for (size_t i = 0; i < n; ++i) {
        const unsigned sum =
            static_cast<uint8_t>(v[i]) + static_cast<unsigned>(static_cast<uint8_t>(operand[i])) +
            carry;
        v[i] = static_cast<char>(sum & 0xff);
        carry = sum >> 8;
      }
      return v;
    }
    case MutationType::kBitAnd:
    case MutationType::kBitOr:
    case MutationType::kBitXor: {
      if (!existing && type == MutationType::kBitAnd) return std::string(operand);
      std::string v = fitted(existing, n);
      for (size_t i = 0; i < n; ++i) {
        const char o = operand[i];
        v[i] = type == MutationType::kBitAnd  ? static_cast<char>(v[i] & o)
               : type == MutationType::kBitOr ? static_cast<char>(v[i] | o)
                                              : static_cast<char>(v[i] ^ o);
      }
      return v;
    }
    case MutationType::kMax:
    case MutationType::kMin: {
      if (!existing) return std::string(operand);
      std::string v = fitted(existing, n);
      const int c = compare_little_endian(v, operand);
      const bool keep = type == MutationType::kMax ? c > 0 : c < 0;
      return keep ? v : std::string(operand);
    }
    case MutationType::kByteMax:
    case MutationType::kByteMin: {
      if (!existing) return std::string(operand);
      const bool keep = type == MutationType::kByteMax ? *existing > operand : *existing < operand;
      return std::string(keep ? *existing : operand);
    }
    case MutationType::kAppendIfFits: {
      if (!existing) return std::string(operand);
      if (existing->size() + n > value_bytes_max) return std::string(*existing);
      std::string v(*existing);
      v.append(operand);
      return v;
    }
    case MutationType::kCompareAndClear:
      if (existing && *existing == operand) return std::nullopt;
      return existing ? std::optional<std::string>(std::string(*existing)) : std::nullopt;
    default:
      UNREACHABLE();
  }
}

}  // namespace roles
