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

}  // namespace roles
