#pragma once
// One simulated machine with one process, for the storage tests: run actors on it, cut its power.

#include <doctest/doctest.h>

#include <cstdint>

#include "flow/flow.h"
#include "sim/simulator.h"

namespace storage_testing {

inline sim::SwarmConfig one_machine() {
  sim::SwarmConfig c;
  c.datacenters = 1;
  c.machines_per_datacenter = 1;
  c.processes_per_machine = 1;
  return c;
}

struct SimMachine {
  explicit SimMachine(uint64_t seed) : rt({.seed = seed}), sim(rt, one_machine()) {}
  flow::Runtime rt;
  sim::Simulator sim;

  sim::Simulator::SimProcess& p() { return sim.process(0); }
  // Runs `fn` as an actor of the process until it ends; returns its result. REQUIRES the
  // process to be alive, and to stay so.
  template <class Fn>
  auto run(Fn fn) {
    REQUIRE(p().alive);
    auto f = flow::spawn_in(*p().process, fn);
    REQUIRE(rt.run_until(f));
    return f.get();
  }
  // Runs `fn` as an actor of the process, which must end it by flow::fail_stop() (the actor is
  // then cancelled); then waits until the simulator has rebooted the process.
  template <class Fn>
  void run_until_fail_stop(Fn fn) {
    REQUIRE(p().alive);
    const int64_t before = sim.fail_stops();
    auto f = flow::spawn_in(*p().process, fn);
    REQUIRE(rt.run_until(f));
    REQUIRE(f.is_error());
    CHECK(sim.fail_stops() == before + 1);
    REQUIRE(!p().alive);
    for (int i = 0; i < 100 && !p().alive; ++i)
      rt.run_until(flow::delay(std::chrono::milliseconds(100)));
    REQUIRE(p().alive);
  }
  // The machine loses power (unsynced writes kept, lost or torn) and comes back.
  void power_loss() { sim.reboot_machine(*p().machine, false); }
};

}  // namespace storage_testing
