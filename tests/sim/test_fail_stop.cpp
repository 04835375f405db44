// fail_stop() in a simulated process: the process is cut off at once and rebooted later, and the
// actor that called it unwinds through objects the process's other actors own before those are
// destroyed (a log's durability actor calls a sync inside a DiskQueue that the role's own actor
// owns; freeing the queue first was a use after free).
#include <doctest/doctest.h>

#include <chrono>
#include <memory>

#include "flow/flow.h"
#include "flow/process.h"
#include "sim/simulator.h"

using namespace std::chrono_literals;

namespace {

sim::SwarmConfig two_machines() {
  sim::SwarmConfig c;
  c.datacenters = 1;
  c.machines_per_datacenter = 2;
  c.processes_per_machine = 1;
  return c;
}

// Owned by one actor, used by another: says whether it is still alive when used.
struct Owned {
  bool* alive;
  explicit Owned(bool* a) : alive(a) { *alive = true; }
  ~Owned() { *alive = false; }
  // Fail-stops the process, then (unwinding) looks at itself. May suspend.
  void fail_then_touch(bool* touched_alive) {
    struct Touch {
      Owned& self;
      bool* out;
      ~Touch() { *out = *self.alive; }
    } touch{*this, touched_alive};
    flow::fail_stop("test");
  }
};

}  // namespace

TEST_CASE("fail_stop: the failing actor unwinds before the process's other actors are cancelled") {
  flow::Runtime rt({.seed = 1});
  sim::Simulator s(rt, two_machines());
  sim::Simulator::SimProcess& p = s.process(1);
  bool owned_alive = false;
  bool alive_while_unwinding = false;
  Owned* shared = nullptr;
  // The owner: holds the object and waits for ever (a role's actor).
  auto owner = flow::spawn_in(*p.process, [&] {
    auto o = std::make_unique<Owned>(&owned_alive);
    shared = o.get();
    flow::wait(flow::never<flow::Void>());
  });
  REQUIRE(shared != nullptr);
  // The user: fail-stops from inside the owner's object.
  auto user = flow::spawn_in(*p.process, [&] {
    flow::wait(flow::delay(10ms));
    shared->fail_then_touch(&alive_while_unwinding);
  });
  rt.run_until(flow::delay(1s));
  CHECK(alive_while_unwinding);  // the owner was not yet cancelled while the user unwound
  CHECK(!owned_alive);           // and it was, right after
  CHECK(s.fail_stops() == 1);
  CHECK(!p.alive);
  // It comes back within two seconds.
  rt.run_until(flow::delay(3s));
  CHECK(p.alive);
}
