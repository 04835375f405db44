#pragma once
// SimClock — a simulated process's local clock: world time seen through a fixed skew and a drift.
//
//   local = world + skew + drift_ppm * 1e-6 * (world - kTimeZero) + jumps
//
// Jumps: a clock may step forward at once (jump(), as when NTP steps a clock that fell behind, or
// a VM resumes); the simulator injects them while faults are on. Only forward: IClock promises a
// clock that never goes backwards.
//
// Real machines' clocks disagree by milliseconds and run fast or slow by tens of parts per million;
// code that compares clocks across processes (leases, timeouts measured on one machine and acted on
// by another) must survive that. |drift_ppm| < 1e6, so local time never goes backwards. Timers
// still run on world time: a process that sleeps one second sleeps one world second.

#include "flow/clock.h"

namespace sim {

class SimClock final : public flow::IClock {
 public:
  // REQUIRES: -1e6 < drift_ppm < 1e6, and a flow::Runtime (whose world time it reads).
  SimClock(flow::Duration skew, double drift_ppm);

  flow::Time now() const override;
  // Steps the clock forward by `d`. REQUIRES: d >= 0.
  void jump(flow::Duration d);
  flow::Duration skew() const { return skew_; }
  double drift_ppm() const { return drift_ppm_; }

 private:
  flow::Duration skew_;
  double drift_ppm_;
  flow::Duration jumped_ = flow::Duration(0);
};

}  // namespace sim
