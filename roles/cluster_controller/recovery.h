#pragma once
// Recovery — how a new generation of the transaction system takes over from the old one
// (docs/database.md, "Recovery"; FoundationDB's master recovery states), and the watch on a
// generation's roles that decides when one is needed.
//
// A recovery of epoch e:
//   reading_cstate     the cluster state: the log system, the shard map, the resolvers' ranges;
//   locking_cstate     locks the current logs with e: from then on the old generation can no
//                      longer commit (a commit needs every log) nor hand out read versions (a
//                      read version needs every log's confirmation); each locked log answers
//                      with how far its versions reach. One answer is enough, since every
//                      acknowledged commit is on every log; the recovery version is the nearest
//                      end among the answers: it keeps every acknowledged commit, and every
//                      log that answered holds every version up to it;
//   recruiting         a master, logs, resolvers and proxies of epoch e, starting after the
//                      recovery version (plus a jump, so that every read version of the old
//                      generation is too old for the new resolvers);
//   writing_cstate     the new log system: the old generations a storage server may still need,
//                      the locked logs that reach the recovery version, and the new logs;
//   accepting_commits  the new proxies are published;
//   fully_recovered    every storage server has taken up the new log system (rolling back what
//                      it applied past the recovery version).
// Each state is traced (RecoveryState) with its epoch and the seconds since the recovery began.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "flow/network_address.h"
#include "roles/cluster_controller/cluster_state.h"
#include "roles/common/shard_map.h"
#include "roles/coordinator/coordinated_state.h"
#include "roles/common/types.h"
#include "roles/tlog/log_system.h"
#include "roles/worker/start_generation.h"

namespace roles {

// Versions between a recovery version and the new generation's first: more than the resolvers'
// window, so a read version from before the recovery is too old for the new generation.
inline constexpr Version kRecoveryVersionJump = 2 * kMaxReadTransactionLifeVersions;

// The key space split among `n` (>= 1) resolvers, for a change of their count (configure
// "resolvers=N"): the system keys (from \xff) on one of their own when there are two or more, the
// rest cut evenly by first byte. (A resolver's load is not known: the cuts are blind to it.)
std::vector<KeyRange> split_among_resolvers(size_t n);

// Where the roles of a generation of `epoch` starting at `start_version` go: the master, proxies,
// resolvers (one for each of `resolver_ranges`, or for each range of another split of the key
// space: the new generation's resolvers are new, and the state keeps the plan's ranges) and
// logs, on processes believed alive. Called once the old generation is locked; it may suspend
// (to let workers register, to ping them).
using PlaceGeneration = std::function<GenerationPlan(uint64_t epoch, Version start_version,
                                                     const std::vector<KeyRange>& resolver_ranges)>;

struct Recovered {
  ClusterState state;
  GenerationPlan plan;  // where its roles went
  Generation generation;
  Version recovery_version = 0;
  double seconds = 0;  // from reading_cstate to accepting_commits, simulated or real
};

// How long recruiting a generation may take before the attempt is given up (timed_out), after
// `timed_out_attempts` attempts of the same recovery timed out: 1 s (a healthy cluster
// recruits in well under a second; one slow or clogged worker should cost little, because the
// next attempt recruits among the workers that answer a ping then), doubling with each timed-out
// attempt up to 12 s (a cluster whose every recruitment is slow, as on slow disks, still gets
// one through).
inline constexpr flow::Duration kRecruitWithin = std::chrono::milliseconds(1000);
inline constexpr flow::Duration kRecruitWithinMax = std::chrono::seconds(12);
flow::Duration recruit_within(int timed_out_attempts);

// Runs one recovery of epoch `epoch` (> old.epoch) from `old` (reading_cstate to
// accepting_commits). Throws timed_out if the recruited workers do not all answer within
// `recruit_timeout` (the caller starts again with a newer epoch, and a longer time:
// recruit_within); waits as long as it takes for one of the old logs (every one, from an
// unverified state) to answer its lock, and for one of those to be sealed (how long the lock
// took, in seconds, goes to `*old_log_wait` as soon as it is known, if given: a long wait means
// no log of the ending generation was up and reachable).
//
// With `cstate`, the coordinators hold the cluster state (and the recovery waits as long as it
// takes for a majority of them): reading_cstate reads it, whose epoch must be old.epoch;
// locking_cstate first writes `old` with `epoch` (and this recovery among its lockers), so that
// no later recovery uses the epoch again; writing_cstate writes the new state, before the new
// generation is published. Throws cluster_state_lost if a log fences it (above). Throws
// coordinated_state_conflict if another writer changed the state or got ahead (the caller goes
// on from what the coordinators hold: read_cluster_state), malformed_message if what they hold
// does not decode, value_too_large (before locking anything) if the new state might not fit in
// a coordinator's register (old generations pile up while a storage server cannot take up new
// log systems). May suspend.
//
// Recoveries from a stale state (beyond the atlas: a majority of the coordinators lost their
// disks, and the one that kept its state kept an older one) stop at locking_cstate with
// cluster_state_lost (docs/database.md, "A stale cluster state"):
//   - each log is locked with `recovery_id` (one id for every attempt of a leader; 0 in tests)
//     and the state's `lockers`, which this recovery's burn extends: a log already locked by a
//     recovery not among them answers `fenced`;
//   - once its new state is written, a recovery seals the old logs it locked (at least one
//     before it returns): a sealed log answers every later lock `fenced`;
//   - from an `unverified` state (read partly from coordinators that held nothing) the recovery
//     waits for every log of the current generation, not just the first and those within the
//     grace: the one that holds the evidence may be any.
Recovered recover(const ClusterState& old, uint64_t epoch, const PlaceGeneration& place,
                  CoordinatedState* cstate = nullptr, flow::Duration recruit_timeout = kRecruitWithin,
                  double* old_log_wait = nullptr, uint64_t recovery_id = 0);

// The cluster state the coordinators hold (nullopt: none written yet), marked `unverified` if
// the majority that answered held it only in part (CoordinatedState::last_read_partial). Throws
// malformed_message if it does not decode, coordinated_state_conflict as CoordinatedState::read,
// coordinators_changed if the state has moved to other coordinators (cstate.forwarded() says
// where; a move that was under way is finished first: coordinators_change.h). May suspend.
std::optional<ClusterState> read_cluster_state(CoordinatedState& cstate);

// Sends `state`'s log system to every storage server of its shard map until each has answered,
// then traces fully_recovered and returns the oldest durable version they reported. May suspend.
Version publish_log_system(const ClusterState& state, flow::Time recovery_began);

// Asks every worker at `workers` to end the roles of epochs `state` no longer needs (below its
// current epoch and not in its log system: ended generations, failed attempts, logs that did not
// answer a lock), with their files. Best effort: a worker that does not answer within a second
// is skipped, and asked again after the next recovery. May suspend.
void retire_old_roles(const std::vector<flow::NetworkAddress>& workers, const ClusterState& state);

// The processes that host a generation's transaction-system roles, and the names their workers
// report them by ("commit_proxy0.e3").
struct HostedRoles {
  flow::NetworkAddress address;
  std::vector<std::string> roles;
};
std::vector<HostedRoles> hosted_roles(const GenerationPlan& plan);

// The workers among `candidates` that answer within `within` — and, once half of them have
// (the caller's own worker, which answers at once, not counted), within three times as long as
// that took (at least 20 ms) — in the order given: a recovery recruits among them, so that a
// clogged or dying process does not hold up the new generation, and a dead one costs little
// time. May suspend.
std::vector<flow::NetworkAddress> responsive_workers(
    const std::vector<flow::NetworkAddress>& candidates, flow::Duration within);

// Returns once one of the roles fails: its worker reports it ended, the worker restarts (a
// reboot: roles held only in memory are gone), or the worker stops answering. May suspend.
void wait_for_failure(const std::vector<HostedRoles>& hosts);

}  // namespace roles
