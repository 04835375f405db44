#pragma once
// The controller's side of a client finding the database (docs/database.md, "Finding the
// cluster"): it answers OpenDatabase with the proxies of the generation it publishes.

#include "flow/async_var.h"
#include "roles/cluster_controller/cluster_controller_interface.h"

namespace roles {

// Answers the requests of `stream` with `*published` until cancelled: at once for a request
// that knows another epoch; one that knows this epoch is held until `*published` changes, or
// for kOpenDatabasePollMax. `*published` outlives this. May suspend.
void serve_open_database(const OpenDatabaseStream& stream, const flow::AsyncVar<ClientGeneration>* published);

}  // namespace roles
