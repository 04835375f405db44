// Workers registering with the cluster controller (roles/cluster_controller/
// worker_registration.h): a worker finds the leader through the coordinators and registers
// every half second; after the leader's process dies it registers with the next; the registry
// counts a worker alive only while it hears from it, and refuses registrations that are not
// ones, and new ones past its bound while every one it keeps is alive (a flood that falls silent
// is forgotten).
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "flow/flow.h"
#include "roles/cluster_controller/leader_election.h"
#include "roles/cluster_controller/worker_registration.h"
#include "tests/roles/coordinators_testing.h"
#include "tests/roles/role_cluster.h"

using namespace std::chrono_literals;
using roles_testing::RoleCluster;

namespace {

roles::wire_cc::RegisterWorkerRequestT request(std::string address, std::string machine, std::string c) {
  roles::wire_cc::RegisterWorkerRequestT r;
  r.address = std::move(address);
  r.machine = std::move(machine);
  r.process_class = std::move(c);
  return r;
}

}  // namespace

TEST_CASE("worker registration: process classes parse from their names, and nothing else does") {
  for (const roles::ProcessClass c : {roles::ProcessClass::unset, roles::ProcessClass::stateless, roles::ProcessClass::log,
                                      roles::ProcessClass::storage}) {
    const flow::ErrorOr<roles::ProcessClass> back = roles::parse_process_class(roles::class_name(c));
    REQUIRE(back.ok());
    CHECK(back.get() == c);
  }
  CHECK_FALSE(roles::parse_process_class("").ok());
  CHECK_FALSE(roles::parse_process_class("Storage").ok());
  CHECK_FALSE(roles::parse_process_class("transaction").ok());
}

TEST_CASE("worker registration: the registry keeps whom it heard from lately, refuses what is not a registration, and is bounded without locking workers out") {
  RoleCluster c(81, 2);
  c.client([&] {
    roles::WorkerRegistry r;
    CHECK(r.record(request("10.0.0.1:1", "m1", "log")).ok());
    CHECK(r.record(request("10.0.0.2:1", "m2", "stateless")).ok());
    REQUIRE(r.alive().size() == 2);
    CHECK(r.alive()[0].address.to_string() == "10.0.0.1:1");  // by address
    CHECK(r.alive()[0].machine == "m1");
    CHECK(r.alive()[0].process_class == roles::ProcessClass::log);
    const auto refused = [&r](const roles::wire_cc::RegisterWorkerRequestT& q) {
      const flow::ErrorOr<flow::Void> e = r.record(q);
      return !e.ok() && e.error().code() == flow::ErrorCode::invalid_option_value;
    };
    CHECK(refused(request("10.0.0.3", "m3", "log")));
    CHECK(refused(request("10.0.0.3:1", "m3", "tlog")));
    CHECK(refused(request("10.0.0.3:1", std::string(roles::kMachineNameBytesMax + 1, 'm'), "log")));
    CHECK(r.size() == 2);
    // Heard from again: the newest word counts.
    flow::wait(flow::delay(1s));
    CHECK(r.record(request("10.0.0.2:1", "m2", "storage")).ok());
    flow::wait(flow::delay(1s));  // 10.0.0.1 last heard 2 s ago: past the lease
    REQUIRE(r.alive().size() == 1);
    CHECK(r.alive()[0].process_class == roles::ProcessClass::storage);
    CHECK(r.known().size() == 2);  // still known, for retiring its old roles
    // A flood of made-up addresses fills the table to its bound, and no further while every entry
    // is alive.
    CHECK(r.record(request("10.0.0.1:1", "m1", "log")).ok());
    for (size_t i = 0; r.size() < roles::kRegisteredWorkersMax; ++i)
      REQUIRE(r.record(request("10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1) + ":1", "x", "unset")).ok());
    CHECK(refused(request("10.9.9.9:1", "x", "unset")));
    CHECK(r.record(request("10.0.0.2:1", "m2", "storage")).ok());  // one it knows is still heard
    // The flood falls silent: past the lease its entries are forgotten, and a new worker gets in.
    flow::wait(flow::delay(2s));
    CHECK(r.record(request("10.0.0.1:1", "m1", "log")).ok());
    CHECK(r.record(request("10.9.9.9:1", "m9", "stateless")).ok());
    CHECK(r.size() == 2);
    CHECK(r.alive().size() == 2);
    return 0;
  });
}

TEST_CASE("worker registration: workers register with the leader, and with the next when its process dies") {
  RoleCluster c(82, 6);
  const roles::ClusterDescription d = roles_testing::at(c, "first", {1, 2, 3});
  for (int p = 1; p <= 5; ++p) c.start(p, "coordinator", [] { roles::run_coordinator(); });
  std::vector<roles::WorkerRegistry*> registries;  // each leadership's, while it leads
  int leaderships = 0;
  flow::NetworkAddress leader;
  for (int p = 1; p <= 5; ++p) {
    const flow::NetworkAddress self = c.sim.process(p).address;
    c.start(p, "candidate", [d, self, &leaderships, &leader, &registries] {
      roles::ClusterDescription known = d;
      roles::campaign(&known, self, [&leaderships, &leader, &registries, self] {
        ++leaderships;
        leader = self;
        roles::WorkerRegistry registry;
        registries.push_back(&registry);
        struct Gone {
          std::vector<roles::WorkerRegistry*>& v;
          ~Gone() { v.clear(); }
        } gone{registries};
        registry.serve(roles::cluster_controller_endpoints(nullptr).register_worker);
      });
    });
    const roles::WorkerRegistration me{self, "machine" + std::to_string(p), roles::ProcessClass::storage};
    c.start(p, "registration", [d, me] { roles::register_worker(d, me); });
  }
  c.client([&] {
    flow::wait(flow::delay(5s));
    REQUIRE(leaderships == 1);
    REQUIRE(registries.size() == 1);
    CHECK(registries[0]->alive().size() == 5);
    int victim = 0;
    for (int p = 1; p <= 5; ++p)
      if (c.sim.process(p).address == leader) victim = p;
    REQUIRE(victim != 0);
    c.sim.kill_process(c.sim.process(victim));
    // The lease, an election, then the workers' looks and registrations: well within 6 s.
    flow::wait(flow::delay(6s));
    REQUIRE(leaderships == 2);
    REQUIRE(registries.size() == 1);
    const std::vector<roles::WorkerRegistration> alive = registries[0]->alive();
    CHECK(alive.size() == 4);
    for (const roles::WorkerRegistration& w : alive) {
      CHECK(w.address != c.sim.process(victim).address);
      CHECK(w.machine.rfind("machine", 0) == 0);
    }
    return 0;
  });
}
