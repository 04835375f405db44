#pragma once
// DeterministicRandom — the run's one source of randomness, with a fixed, documented algorithm.
//
// Algorithm: xoshiro256** (Blackman and Vigna, 2018) over a 256-bit state. The seed is expanded
// into the state by four steps of splitmix64, so that nearby seeds give unrelated streams. Derived
// values never use std:: distributions (their output differs between standard libraries):
//   random_uint64()        the generator's next output
//   random_int(lo, hi)     uniform in [lo, hi), by Lemire's multiply-and-reject method (unbiased)
//   random01()             the top 53 bits of one output, scaled into [0, 1)
//   random_bool(p)         random01() < p
// So a given seed yields the same values on every platform and every build of the same commit.
//
// Single-threaded. One instance per run lives in flow::Runtime: reach it with
// deterministic_random(). nondeterministic_random() is seeded from the OS and is only for what must
// not affect a run.

#include <cstdint>
#include <span>
#include <string>

#include "flow/time.h"

namespace flow {

class DeterministicRandom {
 public:
  explicit DeterministicRandom(uint64_t seed);

  uint64_t random_uint64();
  // REQUIRES: lo < hi. Uniform in [lo, hi).
  int64_t random_int(int64_t lo, int64_t hi);
  // Uniform in [0, 1).
  double random01();
  // True with probability p.
  bool random_bool(double p) { return random01() < p; }
  bool coinflip() { return (random_uint64() >> 63) != 0; }
  // REQUIRES: lo < hi. Uniform in [lo, hi).
  Duration random_duration(Duration lo, Duration hi) {
    return Duration(random_int(lo.count(), hi.count()));
  }
  // Letters and digits only.
  std::string random_alphanumeric(size_t length);
  // Fills `out` with random bytes, eight to a draw.
  void random_bytes(std::span<uint8_t> out);

  // How many 64-bit outputs have been drawn: lets two runs of one seed find where they diverge.
  uint64_t draw_count() const { return draws_; }
  uint64_t seed() const { return seed_; }

 private:
  uint64_t seed_;
  uint64_t s_[4];
  uint64_t draws_ = 0;
};

// The active run's generator. REQUIRES: a flow::Runtime exists.
DeterministicRandom& deterministic_random();
// A generator seeded from the OS, for choices that must not change a run (e.g. temp file names).
DeterministicRandom& nondeterministic_random();

}  // namespace flow
