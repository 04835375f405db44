// The simulated database's bring-up (workloads/database_cluster.h): its first transaction writes
// the shard map to the system keyspace even when no workload commits anything (regressions
// sideband 238, report_conflicting_keys 435: the first transaction was read-only), and the
// consistency check that runs after the test finds it there.
#include <doctest/doctest.h>

#include <string>

#include "workloads/sim_runner.h"
#include "workloads/spec.h"

TEST_CASE("database bring-up: the shard map is in \\xff/keyServers/ though no workload commits") {
  // Sideband for a moment too short to commit anything: only the bring-up writes.
  auto load = workloads::parse_spec(R"(
[configuration]
minMachines = 3
maxMachines = 6
[[test]]
testTitle = 'OnlyBringUp'
    [[test.workload]]
    testName = 'Sideband'
    testDuration = 0.000001
)",
                                    "bring_up.toml");
  REQUIRE_MESSAGE(load.spec, load.error);
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    CAPTURE(seed);
    workloads::RunConfig config;
    config.seed = seed;
    const workloads::RunResult r = workloads::run_spec(*load.spec, config);
    CHECK_MESSAGE(r.passed, r.failure);
  }
}

TEST_CASE("database workloads: a keyPrefix over 100 bytes is a named error, no assertion") {
  // (TOML strings are UTF-8: a prefix starting with the byte \xff cannot be written in a spec.)
  for (const char* workload : {"Cycle", "Ledger", "WriteDuringRead", "AtomicOps", "Increment", "Sideband",
                               "ReportConflictingKeys", "SimpleAtomicAdd"}) {
    CAPTURE(workload);
    auto load = workloads::parse_spec(std::string("[[test]]\ntestTitle = 'Bad'\n    [[test.workload]]\n    testName = '") +
                                          workload + "'\n    keyPrefix = \"" + std::string(101, 'k') + "\"\n",
                                      "bad_prefix.toml");
    REQUIRE_MESSAGE(load.spec, load.error);
    workloads::RunConfig config;
    config.seed = 1;
    const workloads::RunResult r = workloads::run_spec(*load.spec, config);
    CHECK_FALSE(r.passed);
    CHECK_MESSAGE(r.failure.find("keyPrefix") != std::string::npos, r.failure);
  }
}
