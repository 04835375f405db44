#pragma once
// What one process of a real cluster runs (strata-server, and a node embedded in an application:
// embed/node.h): a worker, a coordinator, its registration with the controller, and a candidate
// for the controller's leadership whose leader creates the database when a client asks.

#include <vector>

#include "flow/future.h"
#include "roles/cluster_controller/worker_registration.h"
#include "roles/common/cluster_description.h"

namespace server {

// Starts them in the current process, whose address must be `me.address`; they run until the
// returned futures are dropped. `*known` starts as `cluster` and follows the cluster when its
// coordinators move (a cluster file's writer reads it); it must outlive the futures.
std::vector<flow::Future<flow::Void>> serve_process(const roles::ClusterDescription& cluster,
                                                    const roles::WorkerRegistration& me,
                                                    roles::ClusterDescription* known);

}  // namespace server
