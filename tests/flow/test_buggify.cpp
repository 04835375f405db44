// buggify(): per-site activation with probability 0.25, firing with probability p.
#include <doctest/doctest.h>

#include <cmath>

#include "flow/flow.h"

using namespace flow;

namespace {

// Eight distinct buggify sites: each call below has its own source location.
void evaluate_sites(int* hits) {
  hits[0] += buggify(0.5) ? 1 : 0;
  hits[1] += buggify(0.5) ? 1 : 0;
  hits[2] += buggify(0.5) ? 1 : 0;
  hits[3] += buggify(0.5) ? 1 : 0;
  hits[4] += buggify(0.5) ? 1 : 0;
  hits[5] += buggify(0.5) ? 1 : 0;
  hits[6] += buggify(0.5) ? 1 : 0;
  hits[7] += buggify(0.5) ? 1 : 0;
}

}  // namespace

TEST_CASE("each site is active in about a quarter of runs and fires at rate p when active") {
  // 8 sites x 2000 runs: activations ~ Binomial(16000, 0.25): mean 4000, sigma ~55. Bounds of
  // about 6 sigma: a correct implementation essentially never fails, a wrong rate always does.
  int activations = 0;
  long fires = 0;
  long evaluations_while_active = 0;
  for (uint64_t seed = 1; seed <= 2000; ++seed) {
    Runtime rt({.seed = seed, .buggify = true});
    int hits[8] = {};
    for (int rep = 0; rep < 20; ++rep)
      evaluate_sites(hits);
    REQUIRE(rt.buggify().sites_seen() == 8);
    activations += static_cast<int>(rt.buggify().sites_active());
    for (int h : hits) {
      fires += h;
      if (h > 0) evaluations_while_active += 20;
    }
  }
  CHECK(std::abs(activations - 4000) < 330);
  // Fire rate among sites that fired at least once (an active site with 20 evaluations at p=0.5
  // fails to fire only with probability 1e-6, so this is the active set).
  const double fire_rate =
      static_cast<double>(fires) / static_cast<double>(evaluations_while_active);
  CHECK(std::abs(fire_rate - 0.5) < 0.02);  // ~80,000 evaluations: sigma ~0.002
}

TEST_CASE("distinct source locations are distinct sites") {
  int active_total = 0;
  const int runs = 400;
  for (uint64_t seed = 1; seed <= runs; ++seed) {
    Runtime rt({.seed = seed, .buggify = true});
    (void)buggify();
    (void)buggify();
    (void)buggify();
    (void)buggify();
    CHECK(rt.buggify().sites_seen() == 4);
    active_total += static_cast<int>(rt.buggify().sites_active());
  }
  // 1600 sites: mean 400, sigma ~17.
  CHECK(std::abs(active_total - 400) < 90);
}

TEST_CASE("buggify off or outside simulation is false and draws no randomness") {
  for (bool simulated : {true, false}) {
    Runtime rt({.seed = 3, .simulated = simulated, .buggify = !simulated});
    const uint64_t draws = rt.random().draw_count();
    for (int i = 0; i < 100; ++i)
      CHECK_FALSE(buggify(1.0));
    CHECK(rt.random().draw_count() == draws);
    CHECK(rt.buggify().sites_seen() == 0);
  }
}
