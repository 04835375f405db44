#pragma once
// Moving the cluster state to other coordinators (docs/database.md, "Changing the
// coordinators"; FoundationDB's MovableCoordinatedState). Three steps, each safe to die in or
// after:
//   1. the old coordinators' copy of the state is rewritten with `moving_to` = the new
//      description, with the generation of the mover's read: from then on a writer that read
//      before is refused, and whoever reads the state finishes the move (writing the same record
//      under its own read first, since it may have seen it on a minority only; then steps 2, 3);
//   2. the new coordinators (a description of a new id, so registers of a coordinator in both
//      sets are kept apart) get the state, without `moving_to`, unless they hold one already
//      (a finisher got there first) or forward (they held it, and it has moved on since):
//      their registers order two finishers, and one that loses looks again until the state is
//      there;
//   3. a majority of the old coordinators is told to forward: from then on every request for the
//      old cluster is answered with the new description, so every process and client that knows
//      only the old set finds the new one (coordinators_changed, CoordinatedState::forwarded).
// The transaction system is not touched: the same generation, under the same epoch, goes on.

#include <string_view>
#include <vector>

#include "flow/error_or.h"
#include "flow/network_address.h"
#include "roles/cluster_controller/cluster_state.h"
#include "roles/common/cluster_description.h"
#include "roles/coordinator/coordinated_state.h"

namespace roles {

// Moves `state` — what the caller's last read of `from` (the cluster state's register) returned,
// with no write since — to the coordinators of `to` (another id). Throws
// coordinated_state_conflict if another writer got ahead of that read, invalid_option_value if
// a majority of `to` cannot keep a register (both before anything is recorded), else
// coordinators_changed once moved (from.forwarded() is `to`). May suspend.
[[noreturn]] void move_cluster_state(CoordinatedState& from, ClusterState state, const ClusterDescription& to);

// Finishes the move that `state` (as the caller's last read of `from` returned it, moving_to set,
// no write since) records: writes it back under that read, then steps 2 and 3, then throws
// coordinators_changed (from.forwarded() is the target); coordinated_state_conflict if another
// writer got ahead of the read (read again); malformed_message for a move to `from` itself (the
// record came from the coordinators' disks). May suspend.
[[noreturn]] void finish_move(CoordinatedState& from, ClusterState state);

// `current` with the coordinators at `coordinators` and a new id, drawn from the seed.
ClusterDescription next_cluster_description(const ClusterDescription& current,
                                            std::vector<flow::NetworkAddress> coordinators);

// How a change names the new coordinators when it does not list them.
enum class CoordinatorsChoice {
  automatic,  // "auto": keep them while all answer and their count suits the machines
  random,     // "random": a set drawn from the seed (a Strata addition, to exercise moves)
};
// "auto" or "random", else invalid_option_value.
flow::ErrorOr<CoordinatorsChoice> parse_coordinators_choice(std::string_view mode);

// A process that could be a coordinator: where, on which machine, whether it answered just now.
struct CoordinatorCandidate {
  flow::NetworkAddress address;
  uint64_t machine = 0;
  bool responsive = false;
};

// The coordinators `choice` makes of `current`, from the responsive `candidates`, one per
// machine: five if five machines or more answer, else three if three, else one. "auto" keeps
// `current` if each answers, on a machine of its own, and there are as many as that; else it
// keeps those that answer and adds others drawn from the seed. "random" draws them all (another
// set than `current` where the candidates allow). Empty if no candidate answers.
std::vector<flow::NetworkAddress> choose_coordinators(const std::vector<flow::NetworkAddress>& current,
                                                      const std::vector<CoordinatorCandidate>& candidates,
                                                      CoordinatorsChoice choice);

}  // namespace roles
