#pragma once
// Leader election through the coordinators (docs/database.md, "Cluster controller"): who runs
// the cluster controller. The coordinators' register `leader` names the leader and a heartbeat
// it raises every kLeaderHeartbeat while it leads. A candidate that sees the register stand still
// for kLeaderLease takes it over with a coordinated-state write, so of candidates that try at
// once at most one wins. A leader that has not raised its heartbeat within three quarters of a
// lease of sending its last raise steps down (its work is cancelled): a candidate saw that raise
// no sooner than it was sent and waits a whole lease, so by then the leader has stopped.
//
// The lease keeps leaders from overlapping when clocks and messages behave; what a leader
// changes that matters goes through the coordinators itself (the cluster state, whose writes
// refuse a writer another has read past), so two overlapping leaders cannot both act on it.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flow/network_address.h"
#include "flow/time.h"
#include "roles/cluster_controller/leader_record.h"
#include "roles/coordinator/coordinated_state.h"

namespace roles {

inline constexpr flow::Duration kLeaderHeartbeat = std::chrono::milliseconds(250);
inline constexpr flow::Duration kLeaderLease = std::chrono::seconds(2);

// Campaigns for leadership among the coordinators of `*cluster` as `self`, for ever: each time
// it is elected it runs `lead` until `lead` returns or ends with an error, or leadership is lost
// (then `lead` is cancelled), and campaigns again. When the coordinators say the cluster has
// moved (coordinators_changed), it sets `*cluster` to where and campaigns there; `lead` may set
// `*cluster` itself (it moved the state, or learned of a move) before it ends. May suspend.
void campaign(ClusterDescription* cluster, flow::NetworkAddress self, const std::function<void()>& lead);
// The same among `coordinators`, outside any cluster (an empty id), for ever.
void campaign(const std::vector<flow::NetworkAddress>& coordinators, flow::NetworkAddress self,
              const std::function<void()>& lead);

}  // namespace roles
