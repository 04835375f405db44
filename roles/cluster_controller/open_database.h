#pragma once
// The controller's side of a client finding the database (docs/database.md, "Finding the
// cluster"): it answers OpenDatabase with the proxies of the generation it publishes.

#include <cstddef>

#include "flow/async_var.h"
#include "roles/cluster_controller/cluster_controller_interface.h"

namespace roles {

// Polls the controller holds at once, at most: past it a poll is answered at once with what is
// published (the client then asks again a little later), so a flood of them costs a bounded
// number of waiting actors.
inline constexpr size_t kOpenDatabaseHeldMax = 4096;

// Answers the requests of `stream` with `*published` until cancelled: at once for a request
// that knows an older epoch than the one published; one that knows this epoch or a newer one
// (a client that heard of a newer generation elsewhere, or a controller with none yet) is held
// until `*published` changes, or for kOpenDatabasePollMax. `*published` outlives this. May
// suspend.
void serve_open_database(const OpenDatabaseStream& stream, const flow::AsyncVar<ClientGeneration>* published);

}  // namespace roles
