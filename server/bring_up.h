#pragma once
// Creating the database (strata-cli's "configure new"; docs/database.md, "Creating the
// database"): while the coordinators hold no cluster state, the elected controller waits for a
// client to ask for one, places the first generation on the workers registered with it, starts
// it, and writes the state that names it running. The simulator's bring-up draws its own
// (workloads/database_cluster.h).

#include <cstdint>
#include <string>
#include <vector>

#include "flow/error_or.h"
#include "flow/network_address.h"
#include "roles/cluster_controller/cluster_controller_interface.h"
#include "roles/cluster_controller/cluster_state.h"
#include "roles/cluster_controller/worker_registration.h"
#include "roles/coordinator/coordinated_state.h"
#include "roles/worker/start_generation.h"
#include "server/controller_watcher.h"

namespace server {

// Storage servers a new database starts with, at most (each shard's team has `replication`).
inline constexpr size_t kFirstStorageServersMax = 24;

// The first generation of `wanted`, epoch `epoch`, among `workers` (registered), preferring those
// that answered just now (`responsive`):
// - each shard's team on `replication` distinct machines, from storage workers first, then
//   unset ones, then any; as many shards as such workers allow (at most
//   kFirstStorageServersMax servers), the key space cut by first byte;
// - the logs (as many as asked, and at least as many as copies) spread over machines, from log
//   workers first, then unset, stateless, any;
// - the master, proxies and resolvers on stateless workers first, then unset, then any.
// The logs' queue file size and the engines' options come from `shape` (left at 0 and defaults,
// the roles' own). not_enough_workers, with `why` (if given), when the workers answering span
// fewer machines than copies are asked for, or none answers.
flow::ErrorOr<roles::GenerationPlan> plan_first_generation(
    const std::vector<roles::WorkerRegistration>& workers,
    const std::vector<flow::NetworkAddress>& responsive, const roles::NewDatabase& wanted,
    uint64_t epoch, std::string* why = nullptr, const roles::GenerationPlan& shape = {});

// The cluster state that names `plan`, started as `generation`, running: what the coordinators
// hold once the database exists.
roles::ClusterState first_cluster_state(const roles::GenerationPlan& plan,
                                        const roles::Generation& generation);

// Serves the controller's interface while the coordinators of `cstate` hold no cluster state:
// workers register with `registry`, clients learn there is no generation yet, and every request
// but a creation is answered database_not_created. A creation ("configure new") is placed
// (plan_first_generation), started, and written; answered with the error if any of that fails
// (the next creation tries again with a newer epoch). Returns once the state is written (and
// `watcher` told: created), or once it finds one written (another leader created the database).
// File options as in plan_first_generation, from `shape`. May suspend.
void create_when_asked(roles::CoordinatedState& cstate, roles::WorkerRegistry& registry,
                       ControllerWatcher* watcher, const roles::GenerationPlan& shape = {});

}  // namespace server
