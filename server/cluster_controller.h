#pragma once
// The cluster controller's leadership (docs/database.md, "Recovery"): what a process does while
// it leads (roles/cluster_controller/leader_election.h). It sits above the client: it reads the
// database's lock through a client of its own, as FoundationDB's controller does.

#include "roles/cluster_controller/worker_registration.h"
#include "roles/common/cluster_description.h"
#include "roles/worker/start_generation.h"
#include "server/controller_watcher.h"
#include "server/placement.h"

namespace server {

// The cluster controller's work while this process leads: from the cluster state the
// coordinators of `*cluster` hold, it watches the generation's roles and recovers the
// transaction system whenever one fails, or when a client changes the database's lock through
// the controller interface it makes here, until cancelled (leadership lost), or when a client
// changes the role counts (they go into the state, and the recovery's placement uses them);
// answers clients' OpenDatabase with the generation's proxies (client/cluster_monitor.h finds
// them through the coordinators). A client's change of coordinators moves the state and ends the
// leadership (coordinators_changed, with `*cluster` the new description), as does finding the
// state moved. A new leader takes over the generation the state names as running
// (ClusterState::running) if no recovery has begun since it started, else it recovers at once.
// `placement` says the role counts and the generation's shape (engine, files); `registry` keeps
// the workers' registrations across this process's leaderships. While the coordinators hold no
// state, a leader that `create_databases` waits for a client to create the database
// (server/bring_up.h: create_when_asked); one that does not (the simulator's, whose bring-up
// writes the first state itself) reads again every 250 ms. May suspend.
void lead(Placement placement, roles::ClusterDescription* cluster, ControllerWatcher* watcher,
          roles::WorkerRegistry& registry, bool create_databases = true);

}  // namespace server
