#include "sim/sim_clock.h"

#include <cmath>

#include "flow/assert.h"
#include "flow/combinators.h"

namespace sim {

SimClock::SimClock(flow::Duration skew, double drift_ppm) : skew_(skew), drift_ppm_(drift_ppm) {
  ASSERT_MSG(std::fabs(drift_ppm) < 1e6, "clock drift {} ppm would run time backwards", drift_ppm);
}

flow::Time SimClock::now() const {
  const flow::Time world = flow::now();
  const flow::Duration since_start = world - flow::kTimeZero;
  const auto drift = flow::Duration(static_cast<int64_t>(
      std::llround(static_cast<double>(since_start.count()) * drift_ppm_ * 1e-6)));
  return world + skew_ + drift + jumped_;
}

void SimClock::jump(flow::Duration d) {
  ASSERT_GE(d.count(), 0);
  jumped_ += d;
}

}  // namespace sim
