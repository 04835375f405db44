#include "roles/cluster_controller/coordinators_change.h"

#include <algorithm>
#include <optional>
#include <string>

#include "flow/assert.h"
#include "flow/code_probe.h"
#include "flow/deterministic_random.h"
#include "flow/trace_event.h"

namespace roles {

namespace {

constexpr size_t kClusterIdChars = 16;

// How many coordinators `machines` machines that answer should have: an odd number, so that a
// majority survives the loss of a minority.
size_t wanted_coordinators(size_t machines) { return machines >= 5 ? 5 : machines >= 3 ? 3 : machines >= 1 ? 1 : 0; }

template <class T>
void shuffle(std::vector<T>& v) {
  auto& rng = flow::deterministic_random();
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[static_cast<size_t>(rng.random_int(0, static_cast<int64_t>(i)))]);
}

}  // namespace

namespace {

// Steps 2 and 3 of a move whose first step `from` holds (moving_to set, written by this caller
// under its read): the new set gets the state unless it holds one, then the old set forwards.
// Throws coordinators_changed. May suspend.
[[noreturn]] void complete_move(CoordinatedState& from, ClusterState state) {
  const ClusterDescription to = *state.moving_to;
  state.moving_to.reset();
  for (;;) {
    // A conflict on the new set is no proof that the state is there (a finisher may have read
    // and died): look again, with a new reader, until it holds one.
    CoordinatedState target(to, std::string(kClusterStateKey));
    try {
      if (target.read().has_value()) {
        CODE_PROBE(true, "a move of the coordinators finds the new ones already hold the state");
      } else {
        target.write(encode_cluster_state(state));
      }
      break;
    } catch (const flow::Error& e) {
      // The new set forwards: it held the state, and it has moved on since (a later move).
      if (e.code() == flow::ErrorCode::coordinators_changed) {
        CODE_PROBE(true, "a finisher of a coordinators move finds the new ones have moved on");
        break;
      }
      if (e.code() != flow::ErrorCode::coordinated_state_conflict) throw;
      CODE_PROBE(true, "two finishers of a coordinators move race on the new coordinators");
    }
  }
  forward_cluster(from.cluster(), to);
  flow::TraceEvent(flow::SevInfo, "CoordinatorsMoved").detail("From", from.cluster().to_string()).detail("To", to.to_string());
  from.learn_forward(to);
}

}  // namespace

void move_cluster_state(CoordinatedState& from, ClusterState state, const ClusterDescription& to) {
  ASSERT(to.id != from.cluster().id);
  flow::TraceEvent(flow::SevInfo, "CoordinatorsMoving")
      .detail("From", from.cluster().to_string())
      .detail("To", to.to_string())
      .detail("Epoch", static_cast<int64_t>(state.epoch));
  // The new set can keep the state (it answers, and a majority has room for a register) before
  // anything is recorded: else the move fails here and nothing changed.
  CoordinatedState(to, std::string(kClusterStateKey)).read();
  state.moving_to = to;
  from.write(encode_cluster_state(state));  // coordinated_state_conflict: another got ahead
  complete_move(from, std::move(state));
}

void finish_move(CoordinatedState& from, ClusterState state) {
  ASSERT(state.moving_to.has_value());
  // The record came from the coordinators' disks: a move to the cluster itself is no move.
  if (state.moving_to->id == from.cluster().id) {
    flow::TraceEvent(flow::SevWarnAlways, "ClusterStateMoveToItself").detail("Cluster", from.cluster().id);
    throw flow::Error(flow::ErrorCode::malformed_message);
  }
  // The reader makes the move its own write on the old set first: it may have seen the first
  // step on a minority only, and a writer that reads a majority without it must find it (or be
  // refused) rather than write a state the move would then lose.
  from.write(encode_cluster_state(state));
  complete_move(from, std::move(state));
}

ClusterDescription next_cluster_description(const ClusterDescription& current,
                                            std::vector<flow::NetworkAddress> coordinators) {
  ClusterDescription next{current.name.empty() ? "strata" : current.name, current.id, std::move(coordinators)};
  while (next.id == current.id) next.id = flow::deterministic_random().random_alphanumeric(kClusterIdChars);
  return next;
}

flow::ErrorOr<CoordinatorsChoice> parse_coordinators_choice(std::string_view mode) {
  if (mode == "auto") return CoordinatorsChoice::automatic;
  if (mode == "random") return CoordinatorsChoice::random;
  return flow::Error(flow::ErrorCode::invalid_option_value);
}

std::vector<flow::NetworkAddress> choose_coordinators(const std::vector<flow::NetworkAddress>& current,
                                                      const std::vector<CoordinatorCandidate>& candidates,
                                                      CoordinatorsChoice choice) {
  std::vector<CoordinatorCandidate> answering;
  std::vector<uint64_t> machines;
  for (const CoordinatorCandidate& c : candidates) {
    if (!c.responsive) continue;
    answering.push_back(c);
    if (std::find(machines.begin(), machines.end(), c.machine) == machines.end()) machines.push_back(c.machine);
  }
  const size_t wanted = wanted_coordinators(machines.size());
  const auto candidate_at = [&answering](const flow::NetworkAddress& a) -> const CoordinatorCandidate* {
    for (const CoordinatorCandidate& c : answering)
      if (c.address == a) return &c;
    return nullptr;
  };
  std::vector<flow::NetworkAddress> out;
  std::vector<uint64_t> used;
  const auto take = [&](const CoordinatorCandidate& c) {
    if (out.size() >= wanted || std::find(used.begin(), used.end(), c.machine) != used.end()) return;
    out.push_back(c.address);
    used.push_back(c.machine);
  };
  if (choice == CoordinatorsChoice::automatic) {
    for (const flow::NetworkAddress& a : current)
      if (const CoordinatorCandidate* c = candidate_at(a)) take(*c);
    if (out.size() == current.size() && out.size() == wanted) {
      CODE_PROBE(true, "auto keeps coordinators that all answer");
      return out;
    }
  }
  std::vector<CoordinatorCandidate> others = answering;
  shuffle(others);
  if (choice == CoordinatorsChoice::random) {
    // Those outside the current set first, so that the draw moves the state where it can.
    std::stable_partition(others.begin(), others.end(), [&current](const CoordinatorCandidate& c) {
      return std::find(current.begin(), current.end(), c.address) == current.end();
    });
  }
  for (const CoordinatorCandidate& c : others) take(c);
  return out;
}

}  // namespace roles
