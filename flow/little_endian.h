#pragma once
// Little-endian integers in byte buffers: how every on-disk and on-wire header stores them.

#include <bit>
#include <cstdint>
#include <cstring>

namespace flow {

// Stores the low `bytes` bytes of `v` at `out`, least significant first.
inline void put_le(uint8_t* out, uint64_t v, int bytes) {
  // The common widths as one store on a little-endian host (the loop is not unrolled by -O2,
  // and recovery scans and frame parsing run it per slot and per field).
  if constexpr (std::endian::native == std::endian::little) {
    if (bytes == 8) return std::memcpy(out, &v, 8), void();
    if (bytes == 4) {
      const auto w = static_cast<uint32_t>(v);
      return std::memcpy(out, &w, 4), void();
    }
  }
  for (int i = 0; i < bytes; ++i)
    out[i] = static_cast<uint8_t>(v >> (8 * i));
}

// Loads `bytes` bytes from `in`, least significant first.
inline uint64_t get_le(const uint8_t* in, int bytes) {
  if constexpr (std::endian::native == std::endian::little) {
    if (bytes == 8) {
      uint64_t v;
      std::memcpy(&v, in, 8);
      return v;
    }
    if (bytes == 4) {
      uint32_t v;
      std::memcpy(&v, in, 4);
      return v;
    }
  }
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v |= static_cast<uint64_t>(in[i]) << (8 * i);
  return v;
}

}  // namespace flow
