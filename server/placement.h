#pragma once
// Where the cluster controller puts a generation's roles among the workers registered with it
// (roles/cluster_controller/worker_registration.h), and `spread`, which puts copies (logs, a
// shard's team) on as many machines as there are.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "flow/deterministic_random.h"
#include "flow/network_address.h"
#include "roles/cluster_controller/worker_registration.h"
#include "roles/common/shard_map.h"
#include "roles/worker/start_generation.h"

namespace server {

using roles::GenerationPlan;
using roles::KeyRange;
using roles::ProcessClass;
using roles::Version;
using roles::WorkerRegistration;

// `n` of `from` (not empty), on as many machines as there are (`machine_of` names an element's):
// for the logs (each log holds every version, so one that survives a machine's death saves the
// generation) and for a shard's team (each server holds the whole shard).
template <class T, class MachineOf>
std::vector<T> spread(flow::DeterministicRandom& rng, std::vector<T> from, size_t n,
                      MachineOf machine_of) {
  for (size_t i = from.size(); i > 1; --i)
    std::swap(from[i - 1], from[static_cast<size_t>(rng.random_int(0, static_cast<int64_t>(i)))]);
  // A stable order by machine, each machine's first first: machines before doubling up.
  std::vector<size_t> ordered;  // indices into `from`
  using Machine = std::decay_t<decltype(machine_of(from.front()))>;
  std::vector<Machine> machines;
  while (ordered.size() < from.size()) {
    machines.clear();
    for (size_t i = 0; i < from.size(); ++i) {
      if (std::find(ordered.begin(), ordered.end(), i) != ordered.end()) continue;
      const Machine m = machine_of(from[i]);
      if (std::find(machines.begin(), machines.end(), m) != machines.end()) continue;
      machines.push_back(m);
      ordered.push_back(i);
    }
  }
  std::vector<T> out;
  for (size_t i = 0; i < n; ++i)
    out.push_back(from[ordered[i % ordered.size()]]);
  return out;
}

// Where a recovery puts the next generation's roles: as many of each as the counts say, among
// the workers registered with the controller lately (roles/cluster_controller/
// worker_registration.h) that answered just before: the stateless roles on stateless workers,
// the logs on log workers (or stateless ones), each kind falling back to any worker that
// answered when none of its class did, and to the registered ones when none answered at all
// (the recruitment then waits for them, or times out and starts over).
struct Placement {
  std::vector<WorkerRegistration> workers;       // registered lately, by address
  std::vector<flow::NetworkAddress> responsive;  // asked just before a recovery; empty: not asked
  size_t grv_count = 0, proxy_count = 0, log_count = 0;
  GenerationPlan shape;  // engine and file options

  // The next generation `epoch`, from `start_version`, with a resolver for each of
  // `resolver_ranges`. Throws operation_failed when no worker is registered (tried again later).
  GenerationPlan place(uint64_t epoch, Version start_version,
                       const std::vector<KeyRange>& resolver_ranges) const;
};

}  // namespace server
