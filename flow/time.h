#pragma once
// flow::Time and flow::Duration — int64 nanoseconds, never double.
//
// Time counts from the world's epoch: the start of a simulated run, or an arbitrary fixed point of
// the real steady clock. There is deliberately no now() here: the current time comes only from
// the scheduler (flow::now()), which asks the world.

#include <chrono>
#include <cstdint>
#include <limits>

namespace flow {

using Duration = std::chrono::nanoseconds;

// The clock tag of world time. It has no now(): ask flow::now().
struct WorldClock {
  using rep = int64_t;
  using period = std::nano;
  using duration = Duration;
  using time_point = std::chrono::time_point<WorldClock, Duration>;
  static constexpr bool is_steady = true;
};

using Time = WorldClock::time_point;

inline constexpr Time kTimeZero = Time(Duration(0));
inline constexpr Time kTimeMax = Time(Duration(std::numeric_limits<int64_t>::max()));

constexpr int64_t to_ns(Duration d) {
  return d.count();
}
constexpr int64_t to_ns(Time t) {
  return t.time_since_epoch().count();
}
constexpr Time time_from_ns(int64_t ns) {
  return Time(Duration(ns));
}
// Seconds (from a spec, a knob or a command line) as a Duration, truncated to the nanosecond and
// saturating at Duration's range; NaN is zero. Check the value's bounds first where they matter.
constexpr Duration from_seconds(double seconds) {
  if (seconds != seconds) return Duration(0);
  const double ns = seconds * 1e9;
  if (ns >= 9.2e18) return Duration::max();
  if (ns <= -9.2e18) return Duration::min();
  return Duration(static_cast<int64_t>(ns));
}
// Seconds as a double, for printing only.
constexpr double to_seconds(Duration d) {
  return static_cast<double>(d.count()) / 1e9;
}
constexpr double to_seconds(Time t) {
  return to_seconds(t.time_since_epoch());
}

}  // namespace flow
