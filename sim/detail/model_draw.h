#pragma once
// Draws from the simulated world's models: closed ranges, so that a model whose bounds are equal
// (a fixed latency, min == max) is a valid model, not an empty range.
//
// flow::DeterministicRandom::random_duration(lo, hi) is half-open and requires lo < hi; a model
// is a pair of bounds a test or the swarm chose, and min == max is a legitimate choice (the swarm
// draws max = min + U[0, 5000) us, which is min == max once in 5,000 seeds). So every model draw
// in sim/ goes through here: lo <= hi is required (a model with min > max is a bug in whoever
// built it), lo == hi returns lo without drawing.

#include "flow/assert.h"
#include "flow/deterministic_random.h"
#include "flow/time.h"

namespace sim::detail {

// REQUIRES: lo <= hi. Uniform in [lo, hi]; lo itself, without a draw, when lo == hi.
inline flow::Duration draw_between(flow::DeterministicRandom& rng, flow::Duration lo,
                                   flow::Duration hi) {
  ASSERT_LE(lo.count(), hi.count());
  if (lo == hi) return lo;
  return flow::Duration(rng.random_int(lo.count(), hi.count() + 1));
}

}  // namespace sim::detail
