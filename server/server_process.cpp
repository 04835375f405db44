#include "server/server_process.h"

#include "flow/actor.h"
#include "roles/cluster_controller/leader_election.h"
#include "roles/coordinator/coordinator_interface.h"
#include "roles/worker/worker_interface.h"
#include "server/cluster_controller.h"

namespace server {

std::vector<flow::Future<flow::Void>> serve_process(const roles::ClusterDescription& cluster,
                                                    const roles::WorkerRegistration& me,
                                                    roles::ClusterDescription* known) {
  *known = cluster;
  std::vector<flow::Future<flow::Void>> running;
  running.push_back(flow::spawn([] { roles::run_worker(); }));
  running.push_back(flow::spawn([] { roles::run_coordinator(); }));
  running.push_back(flow::spawn([cluster, me] { roles::register_worker(cluster, me); }));
  running.push_back(flow::spawn([known, self = me.address] {
    roles::WorkerRegistry registry;  // across this process's leaderships
    ControllerWatcher watcher;
    roles::campaign(known, self, [&] { lead(Placement{}, known, &watcher, registry); });
  }));
  return running;
}

}  // namespace server
