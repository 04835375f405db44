// The first generation of a new database (server/bring_up.h): "configure new" read as FoundationDB
// writes it, and the roles placed among the registered workers: copies of a shard on distinct
// machines, or a refusal that says why.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "flow/flow.h"
#include "roles/cluster_controller/cluster_controller_interface.h"
#include "server/bring_up.h"

using roles::NewDatabase;
using roles::ProcessClass;
using roles::WorkerRegistration;

TEST_CASE("configure new: redundancy, engine and counts in any order, defaults single memory") {
  CHECK(roles::is_new_database("new"));
  CHECK(roles::is_new_database("  new single"));
  CHECK(!roles::is_new_database("logs=2"));
  CHECK(!roles::is_new_database("newer"));
  const flow::ErrorOr<NewDatabase> d = roles::parse_new_database("new");
  REQUIRE(d.ok());
  CHECK(d.get().replication == 1);
  CHECK(d.get().engine == "memory");
  const flow::ErrorOr<NewDatabase> t =
      roles::parse_new_database("new ssd  triple logs=4 grv_proxies=2");
  REQUIRE(t.ok());
  CHECK(t.get().replication == 3);
  CHECK(t.get().engine == "ssd");
  CHECK(t.get().counts.logs == 4);
  CHECK(t.get().counts.grv_proxies == 2);
  CHECK(roles::parse_new_database("new double memory-2").get().replication == 2);
}

TEST_CASE("configure new: other words, a mode twice, bad counts are refused with why") {
  for (const char* bad : {"new single double", "new memory ssd", "new quadruple", "new logs=0",
                          "new logs=99", "new new", "single", "new logs=2 logs=3"}) {
    std::string why;
    const flow::ErrorOr<NewDatabase> r = roles::parse_new_database(bad, &why);
    INFO(bad);
    CHECK(!r.ok());
    CHECK(r.error().code() == flow::ErrorCode::invalid_option_value);
    CHECK(!why.empty());
  }
}

namespace {

flow::NetworkAddress at(int n) {
  return flow::NetworkAddress::parse("10.0.0." + std::to_string(n) + ":4500").get();
}

std::vector<flow::NetworkAddress> addresses(const std::vector<WorkerRegistration>& w) {
  std::vector<flow::NetworkAddress> out;
  for (const WorkerRegistration& r : w)
    out.push_back(r.address);
  return out;
}

std::string machine_of(const std::vector<WorkerRegistration>& w, const flow::NetworkAddress& a) {
  for (const WorkerRegistration& r : w)
    if (r.address == a) return r.machine;
  FAIL("no worker at " << a.to_string());
  return "";
}

// Runs `fn` in an actor (the placement draws from the run's random).
template <class Fn>
void in_runtime(Fn fn, uint64_t seed = 7) {
  flow::Runtime rt({.seed = seed});
  rt.run([&] { fn(); });
}

}  // namespace

TEST_CASE(
    "first generation: each team on distinct machines, logs spread, on the classes asked for") {
  for (uint64_t seed = 1; seed <= 100; ++seed) {
    INFO("seed " << seed);
    in_runtime(
        [] {
          std::vector<WorkerRegistration> w;
          // Six storage workers on three machines, two log workers, two stateless workers.
          for (int i = 1; i <= 6; ++i)
            w.push_back({at(i), "m" + std::to_string(i % 3), ProcessClass::storage});
          w.push_back({at(7), "m7", ProcessClass::log});
          w.push_back({at(8), "m8", ProcessClass::log});
          w.push_back({at(9), "m9", ProcessClass::stateless});
          w.push_back({at(10), "m10", ProcessClass::stateless});
          NewDatabase wanted;
          wanted.replication = 2;
          const flow::ErrorOr<roles::GenerationPlan> plan =
              server::plan_first_generation(w, addresses(w), wanted, 1);
          REQUIRE(plan.ok());
          CHECK(plan.get().storage_teams.size() == 3);  // six storage servers, two copies each
          for (const auto& team : plan.get().storage_teams) {
            REQUIRE(team.at.size() == 2);
            CHECK(machine_of(w, team.at[0]) != machine_of(w, team.at[1]));
            for (const auto& a : team.at)
              CHECK(a.ip <= at(6).ip);  // storage workers only
          }
          CHECK(plan.get().storage_teams.front().keys.begin == "");
          CHECK(plan.get().storage_teams.back().keys.end == std::string(roles::kKeyspaceEnd));
          REQUIRE(plan.get().logs.size() == 2);
          CHECK(std::set<flow::NetworkAddress>(plan.get().logs.begin(), plan.get().logs.end()) ==
                std::set<flow::NetworkAddress>{at(7), at(8)});
          for (const auto& a : {plan.get().master, plan.get().grv_proxies.at(0),
                                plan.get().commit_proxies.at(0), plan.get().resolvers.at(0).at})
            CHECK((a == at(9) || a == at(10)));
        },
        seed);
  }
}

TEST_CASE("first generation: too few machines for the copies asked for is refused, saying why") {
  in_runtime([] {
    std::vector<WorkerRegistration> w{{at(1), "a", ProcessClass::unset},
                                      {at(2), "a", ProcessClass::unset},
                                      {at(3), "b", ProcessClass::unset}};
    NewDatabase wanted;
    wanted.replication = 3;
    std::string why;
    const flow::ErrorOr<roles::GenerationPlan> plan =
        server::plan_first_generation(w, addresses(w), wanted, 1, &why);
    REQUIRE(!plan.ok());
    CHECK(plan.error().code() == flow::ErrorCode::not_enough_workers);
    CHECK(why.find("3 machines") != std::string::npos);
    // Workers that did not answer do not count.
    wanted.replication = 2;
    CHECK(!server::plan_first_generation(w, {at(1), at(2)}, wanted, 1).ok());
    CHECK(server::plan_first_generation(w, {at(1), at(3)}, wanted, 1).ok());
    CHECK(!server::plan_first_generation(w, {}, wanted, 1).ok());
  });
}

TEST_CASE("first generation: the cluster state names it running, with its counts") {
  in_runtime([] {
    std::vector<WorkerRegistration> w{{at(1), "a", ProcessClass::unset},
                                      {at(2), "b", ProcessClass::unset}};
    NewDatabase wanted;
    wanted.counts.commit_proxies = 3;
    wanted.counts.resolvers = 2;
    const roles::GenerationPlan plan =
        server::plan_first_generation(w, addresses(w), wanted, 5).get();
    CHECK(plan.epoch == 5);
    CHECK(plan.commit_proxies.size() == 3);
    CHECK(plan.resolvers.size() == 2);
    CHECK(plan.logs.size() == 1);
    const roles::ClusterState s = server::first_cluster_state(plan, roles::Generation{});
    CHECK(s.epoch == 5);
    REQUIRE(s.running.has_value());
    CHECK(s.running->commit_proxies == plan.commit_proxies);
    CHECK(s.counts.commit_proxies == 3);
    CHECK(s.counts.resolvers == 2);
    CHECK(s.resolver_ranges.size() == 2);
  });
}

TEST_CASE("first generation: file sizes come from the controller's shape, else the roles' own") {
  in_runtime([] {
    std::vector<WorkerRegistration> w{{at(1), "a", ProcessClass::unset}};
    NewDatabase wanted;
    wanted.engine = "ssd";
    const roles::GenerationPlan defaults =
        server::plan_first_generation(w, addresses(w), wanted, 1).get();
    CHECK(defaults.queue_file_bytes == 0);
    CHECK(defaults.engine_options.log_file_bytes == storage::KeyValueStoreOptions{}.log_file_bytes);
    roles::GenerationPlan shape;
    shape.queue_file_bytes = int64_t{1} << 20;
    shape.engine_options.log_file_bytes = int64_t{2} << 20;
    shape.engine_options.cache_kib = 1024;
    shape.engine = "memory";  // not taken: the engine is the creation's
    const roles::GenerationPlan plan =
        server::plan_first_generation(w, addresses(w), wanted, 1, nullptr, shape).get();
    CHECK(plan.queue_file_bytes == int64_t{1} << 20);
    CHECK(plan.engine_options.log_file_bytes == int64_t{2} << 20);
    CHECK(plan.engine_options.cache_kib == 1024);
    CHECK(plan.engine == "ssd");
  });
}
