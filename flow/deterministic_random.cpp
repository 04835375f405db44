#include "flow/deterministic_random.h"

#include <algorithm>
#include <fstream>

#include "flow/assert.h"
#include "flow/little_endian.h"

namespace flow {
namespace {

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

constexpr uint64_t rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

}  // namespace

DeterministicRandom::DeterministicRandom(uint64_t seed) : seed_(seed) {
  uint64_t x = seed;
  for (uint64_t& word : s_)
    word = splitmix64(x);
}

uint64_t DeterministicRandom::random_uint64() {
  ++draws_;
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

int64_t DeterministicRandom::random_int(int64_t lo, int64_t hi) {
  ASSERT_LT(lo, hi);
  const uint64_t range = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
  // Lemire, "Fast Random Integer Generation in an Interval" (2019).
  unsigned __int128 m = static_cast<unsigned __int128>(random_uint64()) * range;
  uint64_t low = static_cast<uint64_t>(m);
  if (low < range) {
    const uint64_t threshold = (0 - range) % range;
    while (low < threshold) {
      m = static_cast<unsigned __int128>(random_uint64()) * range;
      low = static_cast<uint64_t>(m);
    }
  }
  return static_cast<int64_t>(static_cast<uint64_t>(lo) + static_cast<uint64_t>(m >> 64));
}

double DeterministicRandom::random01() {
  return static_cast<double>(random_uint64() >> 11) * 0x1.0p-53;
}

std::string DeterministicRandom::random_alphanumeric(size_t length) {
  static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string s(length, ' ');
  for (char& c : s)
    c = kChars[random_int(0, sizeof(kChars) - 1)];
  return s;
}

void DeterministicRandom::random_bytes(std::span<uint8_t> out) {
  for (size_t i = 0; i < out.size(); i += 8)
    put_le(out.data() + i, random_uint64(), static_cast<int>(std::min<size_t>(8, out.size() - i)));
}

DeterministicRandom& nondeterministic_random() {
  static DeterministicRandom r = [] {
    uint64_t seed = 0;
    std::ifstream urandom("/dev/urandom", std::ios::binary);
    urandom.read(reinterpret_cast<char*>(&seed), sizeof(seed));
    return DeterministicRandom(seed);
  }();
  return r;
}

}  // namespace flow
