#pragma once
// What the tests of the coordinators and of their change share: a small valid cluster state, a
// cluster description of simulated processes, and the register that holds the cluster state.

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "roles/cluster_controller/cluster_state.h"
#include "roles/coordinator/coordinated_state.h"
#include "tests/roles/role_cluster.h"

namespace roles_testing {

// A whole, valid cluster state of `epoch`: one log, one shard, one resolver.
inline roles::ClusterState sample_state(RoleCluster& c, uint64_t epoch) {
  roles::ClusterState s;
  s.epoch = epoch;
  const roles::TLogInterface log = c.make_interface<roles::TLogInterface>(1);
  s.log_system.generations = {{epoch, {log}, roles::kVersionMax}};
  auto map = roles::ShardMap::make({{{"", std::string(roles::kKeyspaceEnd)}, {{c.sim.process(1).address, 1}}}});
  REQUIRE(map.ok());
  s.shards = map.get();
  s.resolver_ranges = {{"", std::string(roles::kKeyspaceEnd)}};
  return s;
}

// The cluster `id` of the coordinators on processes `ps`.
inline roles::ClusterDescription at(RoleCluster& c, std::string id, std::vector<int> ps) {
  roles::ClusterDescription d{"test", std::move(id), {}};
  for (int p : ps) d.coordinators.push_back(c.sim.process(p).address);
  return d;
}

// The register of `d` that holds the cluster state.
inline roles::CoordinatedState state_register(const roles::ClusterDescription& d) {
  return roles::CoordinatedState(d, std::string(roles::kClusterStateKey));
}

// Writes `state` to the cluster-state register of `d`, as a writer that read first. May suspend.
inline void put_state(const roles::ClusterDescription& d, const roles::ClusterState& state) {
  roles::CoordinatedState s = state_register(d);
  s.read();
  s.write(roles::encode_cluster_state(state));
}

}  // namespace roles_testing
