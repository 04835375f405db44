#pragma once
// A quiet simulated cluster with a worker on every process but the test's own (process 0), and
// the requests and reports the worker's tests share.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "flow/flow.h"
#include "roles/worker/interface_wire.h"
#include "roles/worker/worker_interface.h"
#include "tests/roles/role_cluster.h"

namespace roles_testing {

namespace ww = strata::wire::worker;

struct WorkerCluster : RoleCluster {
  explicit WorkerCluster(uint64_t seed, int machines = 3) : RoleCluster(seed, machines) {
    for (int p = 1; p < machines; ++p) start(p, "worker", [] { roles::run_worker(); });
  }
  const flow::NetworkAddress& at(int p) { return sim.process(p).address; }
  roles::WorkerInterface worker(int p) { return roles::WorkerInterface::remote(at(p)); }
  sim::SimDisk& disk(int p) { return sim.process(p).machine->disk; }
};

// The worker's report once it has changed past `after` (of `incarnation`; 0: now). May suspend.
inline ww::GetRolesReplyT roles_of(const roles::WorkerInterface& w, uint64_t after = 0, uint64_t incarnation = 0) {
  ww::GetRolesRequestT r;
  r.after_change = after;
  r.incarnation = incarnation;
  return flow::wait(w.get_roles.get_reply(r));
}

// The names of the roles a report says run.
inline std::vector<std::string> running(const ww::GetRolesReplyT& reply) {
  std::vector<std::string> out;
  for (const auto& r : reply.roles)
    if (r->running) out.push_back(r->name);
  return out;
}

inline ww::InitializeTLogRequestT tlog_request(uint32_t index) {
  ww::InitializeTLogRequestT r;
  r.epoch = 1;
  r.index = index;
  r.queue_file_bytes = 1 << 20;
  return r;
}

// A memory-engine storage server of `tag` owning the whole keyspace, pulling from `log`.
inline ww::InitializeStorageServerRequestT storage_request(uint16_t tag, const roles::TLogInterface& log) {
  ww::InitializeStorageServerRequestT r;
  r.epoch = 1;
  r.tag = tag;
  r.shards.push_back(std::make_unique<strata::wire::KeyRangeT>(
      roles::to_wire(roles::KeyRange{"", std::string(roles::kKeyspaceEnd)})));
  r.logs.push_back(std::make_unique<roles::wire_tlog::TLogInterfaceT>(roles::to_wire(log)));
  r.engine = "memory";
  r.log_file_bytes = 1 << 20;
  return r;
}

}  // namespace roles_testing
