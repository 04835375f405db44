#pragma once
// A quiet simulated cluster for the roles' tests: one datacenter, a few single-process machines,
// short steady latencies, no faults. Roles run where a test starts them; the test's own actor
// (`client`) runs in process 0.

#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <string>
#include <utility>

#include "flow/flow.h"
#include "sim/simulator.h"

namespace roles_testing {

struct RoleCluster {
  explicit RoleCluster(uint64_t seed, int machines = 2) : rt({.seed = seed}), sim(rt, quiet(machines)) {}

  static sim::SwarmConfig quiet(int machines) {
    using namespace std::chrono_literals;
    sim::SwarmConfig c;
    c.datacenters = 1;
    c.machines_per_datacenter = machines;
    c.processes_per_machine = 1;
    c.network.min_latency = 100us;
    c.network.max_latency = 200us;
    return c;
  }

  // A role's interface made in process `p` (its streams are that process's endpoints).
  template <class Interface>
  Interface make_interface(int p) {
    auto made = flow::spawn_in(*sim.process(p).process, [] { return Interface{}; });
    REQUIRE(rt.run_until(made));
    return made.get();
  }

  // Runs `body` as role `name` of process `p`.
  void start(int p, std::string name, std::function<void()> body) {
    sim.add_role(sim.process(p), std::move(name), std::move(body));
  }

  // Runs `fn` in process 0 until it returns; fails the test if it throws or takes more than ten
  // simulated minutes (a hang: the cluster's own traffic would keep the run going forever).
  template <class Fn>
  auto client(Fn fn) {
    using namespace std::chrono_literals;
    auto f = flow::spawn_in(*sim.process(0).process,
                            [fn] { return flow::wait(flow::timeout_error(flow::spawn(fn), 600s)); });
    REQUIRE(rt.run_until(f));
    if (f.is_error()) FAIL("the client ended with " << f.get_error().name());
    return f.get();
  }

  flow::Runtime rt;
  sim::Simulator sim;
};

// What `f` ends with: success, or its error's code. May suspend.
template <class T>
flow::ErrorCode outcome(flow::Future<T> f) {
  try {
    flow::wait(f);
    return flow::ErrorCode::success;
  } catch (const flow::Error& e) {
    if (e.code() == flow::ErrorCode::operation_cancelled) throw;
    return e.code();
  }
}

}  // namespace roles_testing
