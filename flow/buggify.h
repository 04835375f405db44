#pragma once
// buggify() — fault injection points in the code itself.
//
//   if (buggify()) co_delay_reply = true;        // fires with probability 0.25 where active
//   if (buggify(0.01)) throw Error(ErrorCode::io_error);
//
// In a simulated run with buggify on, each site (keyed by its std::source_location) is decided
// once per run, at its first evaluation: active with probability 0.25. An active site fires with
// probability p (default 0.25) each time it is evaluated. With buggify off, and always in the real
// world, buggify() is false and draws no randomness, so it cannot perturb a run.

#include <cstdint>
#include <map>
#include <source_location>
#include <string>
#include <tuple>

namespace flow {

class DeterministicRandom;

class Buggify {
 public:
  static constexpr double kActivationProbability = 0.25;
  static constexpr double kDefaultFireProbability = 0.25;

  Buggify(bool enabled, DeterministicRandom& random) : enabled_(enabled), random_(random) {}

  bool enabled() const { return enabled_; }
  bool evaluate(double fire_probability, const std::source_location& site);

  size_t sites_seen() const { return sites_.size(); }
  size_t sites_active() const;
  // How often buggify() was asked, how often it fired, and the log of the chance that an honest
  // buggify never fires over all the evaluations at active sites so far. With buggify on, every
  // evaluation decides its site, and a run that never fired though this is far below zero has
  // lost its fault injection (the simulator checks both at the end of a run).
  uint64_t evaluations() const { return evaluations_; }
  uint64_t fires() const { return fires_; }
  double log_chance_of_no_fire() const { return log_chance_of_no_fire_; }

 private:
  // Ordered by file, line, column: lookups only, and reports come out in source order.
  using SiteKey = std::tuple<std::string, uint32_t, uint32_t>;
  bool enabled_;
  DeterministicRandom& random_;
  std::map<SiteKey, bool> sites_;
  uint64_t evaluations_ = 0;
  uint64_t fires_ = 0;
  double log_chance_of_no_fire_ = 0;
};

// REQUIRES: a flow::Runtime exists.
bool buggify(double fire_probability = Buggify::kDefaultFireProbability,
             std::source_location site = std::source_location::current());

}  // namespace flow
