#pragma once
// The leader register's record (docs/database.md, "Cluster controller"): which process leads
// the cluster controller, as the coordinators' register `leader` holds it. Candidates write it
// (leader_election.h); clients read it to find the controller (client/cluster_monitor.h).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "flow/network_address.h"
#include "roles/coordinator/coordinated_state.h"

namespace roles {

inline constexpr std::string_view kLeaderKey = "leader";

struct LeaderInfo {
  flow::NetworkAddress address;
  uint64_t nonce = 0;  // drawn by each campaign: tells one leadership from the next
  uint64_t heartbeat = 0;
  friend bool operator==(const LeaderInfo&, const LeaderInfo&) = default;
};

std::string encode_leader(const LeaderInfo& leader);
// nullopt unless `bytes` is a leader record: what the coordinators hold came over the network.
std::optional<LeaderInfo> decode_leader(std::string_view bytes);

// The leader the coordinators name now (nullopt: none yet, or not readable), looked at without
// disturbing it. Throws what CoordinatedState::peek throws (coordinators_changed once the
// cluster has moved). May suspend.
std::optional<LeaderInfo> current_leader(CoordinatedState& leader_register);

// Forwards look_for_leader follows in one look: a chain of changes is a few long.
inline constexpr int kForwardsPerLook = 8;

// What a process that is not a candidate (a client, a worker registering) does to find the
// leader: reads the leader register of the coordinators `*cluster` names (through `*reg`, made
// or remade for it), following the cluster to where they say it moved (`*cluster` is set to it)
// up to kForwardsPerLook times, so that coordinators forwarding in a circle cost a look, nothing
// more. nullopt: no leader named, or none readable now (traced as `who`LeaderUnread). May
// suspend.
std::optional<LeaderInfo> look_for_leader(ClusterDescription* cluster, std::optional<CoordinatedState>* reg,
                                          std::string_view who);

}  // namespace roles
