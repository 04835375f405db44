#pragma once
// ClusterState — what a recovery reads and writes through the coordinators (docs/database.md,
// "Recovery"): the log system, the shard map, the resolvers' ranges, the lock, the newest epoch
// any recovery has used, and a move to other coordinators under way.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flow/error_or.h"
#include "roles/cluster_controller/cluster_controller_interface.h"
#include "roles/common/cluster_description.h"
#include "roles/common/shard_map.h"
#include "roles/common/types.h"
#include "roles/tlog/log_system.h"
#include "roles/worker/start_generation.h"

namespace roles {

// Where the roles of a generation run: what a new leader needs to watch it and to tell clients
// of its proxies, without recovering (docs/database.md, "Cluster controller").
struct RunningRoles {
  uint64_t epoch = 0;
  flow::NetworkAddress master;
  std::vector<flow::NetworkAddress> grv_proxies;
  std::vector<flow::NetworkAddress> commit_proxies;
  std::vector<flow::NetworkAddress> resolvers;  // one for each of the state's resolver ranges
  std::vector<flow::NetworkAddress> logs;
  friend bool operator==(const RunningRoles&, const RunningRoles&) = default;
};

// The epochs first_epoch..last_epoch, burned by the recovery `recovery`: an id a leader draws,
// for every attempt it makes.
struct EpochsOfRecovery {
  uint64_t first_epoch = 0;
  uint64_t last_epoch = 0;
  uint64_t recovery = 0;
  friend bool operator==(const EpochsOfRecovery&, const EpochsOfRecovery&) = default;
};

struct ClusterState {
  uint64_t epoch = 0;  // the newest epoch any recovery has used (a failed one's included)
  // Every recovery that has burned an epoch since the current generation's logs began, in order
  // (each burn is written here before any of its locks): one of them alone may have locked those
  // logs. A log locked by another shows that these coordinators lost a newer state
  // (docs/database.md, "Recovery": a stale cluster state).
  std::vector<EpochsOfRecovery> lockers;
  // Read from a majority in which some coordinator held no state while another did: a majority of
  // the coordinators may have lost theirs (beyond the atlas), so the state may be stale. A
  // recovery from it waits for every log of the current generation, any of which may hold the
  // evidence; the state it writes once recovered is verified again.
  bool unverified = false;
  LogSystem log_system;
  ShardMap shards;
  std::vector<KeyRange> resolver_ranges;  // sorted, tiling the keyspace
  // The oldest durable version among the storage servers, once all have answered a recovery:
  // an old generation ending at or below it is needed by none.
  Version storage_durable_min = 0;
  // The database's lock holder (docs/database.md, "Database lock"); empty: unlocked. A lock or
  // an unlock sets it and recovers, so that the new generation starts with it.
  std::string lock_uid;
  // Set (only in the old coordinators' copy) once a move of the state to these coordinators has
  // begun (roles/cluster_controller/coordinators_change.h): whoever reads it finishes the move.
  std::optional<ClusterDescription> moving_to;
  // How many GRV proxies, commit proxies and logs each new generation has (0: as brought up):
  // a change of configuration sets them and recovers.
  RoleCounts counts;
  // Where the generation the last successful recovery (or the bring-up) started runs. Its epoch
  // is below `epoch` once a recovery has begun (and locked the logs with the newer one).
  std::optional<RunningRoles> running;
};

// Where `plan`'s roles run.
RunningRoles running_roles(const GenerationPlan& plan);
// The plan of the generation `state` names as running, if it is the state's epoch (no recovery
// has begun since it started): its roles and their resolver ranges, nothing of the storage
// servers or the engine. nullopt otherwise: the caller recovers.
std::optional<GenerationPlan> running_plan(const ClusterState& state);

// The key of the coordinated state that holds it.
inline constexpr std::string_view kClusterStateKey = "cluster_state";

std::string encode_cluster_state(const ClusterState& state);
// malformed_message unless `bytes` is a whole, valid state (an epoch in 1 .. kEpochMax, a valid
// log system, a shard map and resolver ranges that tile the keyspace, a lock uid that can name a
// holder, a move's target that is a cluster description, role counts in 0..kRoleCountMax,
// running roles of an epoch in 1..epoch at processes' addresses, with a master, at least one of each
// proxy and log, at most kRoleIndexMax of each, and a resolver for each range; lockers whose epochs
// ascend, above the current logs' epoch and at most the state's): they come from
// the coordinators' disks, over the network.
flow::ErrorOr<ClusterState> decode_cluster_state(std::string_view bytes);

}  // namespace roles
