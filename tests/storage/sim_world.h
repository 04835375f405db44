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
  // Runs `fn` as an actor of the process until it ends; returns its result.
  template <class Fn>
  auto run(Fn fn) {
    auto f = flow::spawn_in(*p().process, fn);
    REQUIRE(rt.run_until(f));
    return f.get();
  }
  // The machine loses power (unsynced writes kept, lost or torn) and comes back.
  void power_loss() { sim.reboot_machine(*p().machine, false); }
};

}  // namespace storage_testing
