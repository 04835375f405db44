#pragma once
// The simulated database of a run: the first generation of the transaction system and its
// storage servers, started on the simulated cluster's processes the first time a workload asks
// for it, with role counts, placement, engine and shard and resolver boundaries drawn from the
// seed (traced as DatabaseSwarm). It lasts the whole run, across tests.
//
// Every role's endpoints are well known (by epoch, role and index), so a role restarted on its
// process, or a rebooted process, is reached where it was. The log and the storage servers
// restart in place after an error of their disk (they recover from it). Coordinators on distinct
// machines hold the cluster state (every process runs a coordinator, for a change of
// coordinators to choose); every process campaigns to lead the cluster controller
// (roles/cluster_controller/leader_election.h), and the leader watches the generation's roles
// and, when one fails, recovers the transaction system into a new generation on the workers
// registered with it (roles/cluster_controller/recovery.h, worker_registration.h). Clients, the workloads' database among them,
// know only the first description: they find the leader through the coordinators and the
// proxies through its controller (client/cluster_monitor.h). When the leader's process dies,
// another takes over after a lease.

#include <cstdint>
#include <vector>

#include "client/database.h"
#include "roles/common/cluster_description.h"
#include "roles/worker/start_generation.h"
#include "workloads/workload.h"

namespace workloads {

// How the run's database is configured (from the spec), and what its cluster controllers keep
// for the run's summary and for workloads that aim at the transaction system (Rollback).
struct ClusterRecord {
  // How many storage servers hold each shard (a team; on distinct machines where there are
  // enough): `replication` if set (redundancyMode), else drawn from [replication_min, 3]
  // (minimumReplication).
  int replication = 0;
  int replication_min = 1;
  // Whether the database is created as a real cluster's is (createWithConfigureNew): every
  // process runs what strata-server runs, and the first workload's client says "configure new",
  // so that the controller places the first generation on the registered workers
  // (server/bring_up.h); else the bring-up places and starts it itself.
  bool create_with_configure_new = false;
  int replication_running = 0;           // the bring-up's (set or drawn); 0: no database yet
  bool starting = false;                 // a workload has begun the bring-up
  roles::GenerationPlan current;         // where the current generation's roles are
  // Where the storage servers are: the bring-up's teams (a recovery recruits none, and nothing
  // moves them yet), which `current` keeps only until the first recovery.
  std::vector<roles::GenerationPlan::Team> storage_teams;
  roles::ClusterDescription cluster;     // the coordinators as of the newest change
  // Each recovery's, from the failure's detection to accepting commits. With single replication
  // a recovery after a log's machine died waits for its reboot: the summaries say the mode.
  std::vector<double> recovery_seconds;
  // Each recovery's longest wait (over its attempts) for the first of the old logs to answer
  // its lock: long when every log of the ending generation was down or cut off.
  std::vector<double> recovery_old_log_waits;
};

// Whether the run's database keeps every acknowledged commit and its cluster state if machine
// `m` comes back wiped now: it holds none of the coordinators and no storage server (a wiped
// one is not refilled yet: data distribution is a later issue), and the current generation's
// logs, if one is on it, have another on a live machine. True while no database runs. (Attrition asks before it wipes; the atlas's allowWipe alone does not know.)
bool database_survives_wipe(WorkloadContext& ctx, const sim::Simulator::Machine& m);

// The run's database, started now if it is not yet (by the first workload to ask; the others wait
// for it). May suspend.
client::Database& database(WorkloadContext& ctx);

}  // namespace workloads
