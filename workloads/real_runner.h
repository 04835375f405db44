#pragma once
// Runs a spec's database workloads against a real cluster (strata-workload): the same workload
// code as in simulation, through a client::Database that found the cluster by its cluster file.
// Each test runs as in strata-sim: setup, then its workloads side by side, then their checks. The
// faults are whoever else acts on the cluster meanwhile (a test's kill -9s); the [configuration]
// and the simulator's own faults do not apply. A workload that needs the simulator is refused by
// name before anything runs.

#include <string>

#include "client/database.h"
#include "flow/time.h"
#include "workloads/spec.h"

namespace workloads {

// Whether the workload `test_name` runs without the simulator (it uses only the database).
bool runs_in_real_world(const std::string& test_name);

// Empty if `spec` has only workloads that run in the real world, else the first that does not.
std::string real_world_refusal(const Spec& spec);

// Runs every test of `spec` against `db`; each test's checks must finish within `liveness`.
// Returns empty on success, else what failed. May suspend.
std::string run_spec_on_cluster(const Spec& spec, client::Database& db, flow::Duration liveness,
                                std::vector<std::pair<std::string, double>>* metrics = nullptr);

}  // namespace workloads
