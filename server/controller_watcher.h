#pragma once
// ControllerWatcher — what a leading cluster controller reports as it goes (server/
// cluster_controller.h), for whoever keeps a record of it.

#include "flow/time.h"
#include "roles/common/cluster_description.h"
#include "roles/worker/start_generation.h"

namespace server {

using roles::GenerationPlan;

// What a leading controller tells whoever watches it: the simulator keeps its run's record
// (workloads/database_cluster.cpp); a real server traces it only. Called on the leader's process,
// never suspending.
class ControllerWatcher {
 public:
  virtual ~ControllerWatcher() = default;
  // The coordinators are now `cluster`: the leader's own at its election, or after a change it
  // made or found made.
  virtual void cluster_known(const roles::ClusterDescription& /*cluster*/) {}
  // A new leader elected at `elected` took over `plan`, the generation the cluster state names
  // as running (its roles only: the storage teams are not in the state), and told clients of it.
  virtual void taken_over(const GenerationPlan& /*plan*/, flow::Time /*elected*/) {}
  // A recovery that began when a failure was detected at `detected` ended with `plan` accepting
  // commits; its attempts waited at most `old_log_wait` seconds for the first old log to answer.
  virtual void recovered(const GenerationPlan& /*plan*/, flow::Time /*detected*/,
                         double /*old_log_wait*/) {}
  // A client's "configure new" created the database: `plan` is its first generation, storage
  // teams included (server/bring_up.h).
  virtual void created(const GenerationPlan& /*plan*/) {}
};

}  // namespace server
