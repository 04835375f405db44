#pragma once
// How a client finds its database (docs/database.md, "Finding the cluster"): from the
// coordinators a description lists to the cluster controller, and from the controller to the
// proxies of the transaction system's current generation.

#include <chrono>

#include "flow/time.h"

namespace client {

class Database;

// How long the client waits before it looks for the leader again, after the coordinators named
// none, or the controller it asked stopped answering.
inline constexpr flow::Duration kLeaderLookAgain = std::chrono::milliseconds(100);

// Keeps `db` told of the cluster controller and of the current generation's proxies, for ever:
// reads which process leads from the coordinators of db.cluster() (following the cluster to
// new coordinators, db.set_cluster, when they say it moved, or when the controller it reached
// says it leads among others), asks that process's controller for
// the generation's proxies (OpenDatabase, a long poll) and asks again for each next generation.
// A controller that is gone, or silent for longer than the poll's bound, sends it back to the
// coordinators; so does a reply that is not whole (it is traced, never believed). Each leader's
// word is taken afresh: of its replies, one naming no newer generation than it named before is
// ignored, and the controller asked again after kLeaderLookAgain. Follows at most a few forwards
// per look (coordinators that forward in a circle cost a look's pace, nothing more). May suspend.
void monitor_cluster(Database& db);

}  // namespace client
