// RebootStorage — storage servers crash and come back while the database works (issue 16: the
// transaction system cannot recover from a loss until step 3, but a storage server can). During
// testDuration it picks, at random times, a process whose worker hosts storage servers only (as
// its GetRoles report says) and crashes it (its writes stay in the machine's cache) or, when the
// whole machine holds only storage servers, cuts the machine's power (its disk keeps, drops or tears what was not
// synced); each comes back after a while with its disk. A rebooted storage server recovers from
// its engine and catches up from the logs, which kept its versions until it popped them. Never
// a wipe: each shard has one storage server in step 1.
//
// Options: testDuration (s, 10), reboots (10: at most this many), meanDelay (s, testDuration /
// reboots), maxDowntime (s, 3).

#include <algorithm>
#include <cmath>
#include <set>

#include "flow/actor.h"
#include "flow/combinators.h"
#include "flow/deterministic_random.h"
#include "flow/trace_event.h"
#include "roles/worker/worker_interface.h"
#include "sim/simulator.h"
#include "workloads/workload.h"

namespace workloads {
namespace {

// The processes whose workers host storage servers and nothing else, as each worker reports
// (GetRoles); a worker that does not answer within a second is left out. May suspend.
std::set<int> storage_only_processes(sim::Simulator& sim) {
  std::vector<std::pair<int, flow::Future<std::optional<roles::wire_worker::GetRolesReplyT>>>> asked;
  for (size_t i = 0; i < sim.process_count(); ++i) {
    sim::Simulator::SimProcess& p = sim.process(i);
    if (p.is_protected || !p.alive || !p.machine->alive) continue;
    roles::wire_worker::GetRolesRequestT request;
    request.after_change = 0;
    asked.emplace_back(p.index, flow::timeout(roles::WorkerInterface::remote(p.address).get_roles.get_reply(request),
                                              std::chrono::seconds(1)));
  }
  std::set<int> out;
  for (auto& [index, reply] : asked) {
    std::optional<roles::wire_worker::GetRolesReplyT> roles;
    try {
      roles = flow::wait(reply);
    } catch (const flow::Error& e) {
      if (e.code() == flow::ErrorCode::operation_cancelled) throw;
      continue;  // its process went down while asked
    }
    if (roles && !roles->roles.empty() &&
        std::all_of(roles->roles.begin(), roles->roles.end(),
                    [](const auto& r) { return r && r->name.starts_with("storage"); }))
      out.insert(index);
  }
  return out;
}

class RebootStorageWorkload final : public Workload {
 public:
  explicit RebootStorageWorkload(WorkloadOptions& o)
      : duration_(o.get_seconds("testDuration", 10.0)),
        reboots_max_(o.get_int("reboots", 10)),
        mean_delay_s_(o.get_double("meanDelay", o.get_double("testDuration", 10.0) /
                                                    static_cast<double>(std::max<int64_t>(1, o.get_int("reboots", 10))))),
        downtime_max_(o.get_seconds("maxDowntime", 3.0)) {
    o.require(reboots_max_ >= 0 && reboots_max_ <= 100'000, "reboots", "must be in [0, 100000]");
    o.require(mean_delay_s_ > 0, "meanDelay", "must be positive");
    o.require(downtime_max_ > flow::Duration(0), "maxDowntime", "must be positive");
  }

  std::string name() const override { return "RebootStorage"; }

  void start(WorkloadContext& ctx) override {
    auto& rng = flow::deterministic_random();
    const flow::Time end = flow::now() + duration_;
    std::vector<flow::Future<flow::Void>> reboots;
    while (done_ < reboots_max_ && flow::now() < end) {
      const double gap_s = -std::log(1.0 - rng.random01()) * mean_delay_s_;
      flow::wait(flow::delay_until(std::min(end, flow::now() + flow::from_seconds(gap_s))));
      if (flow::now() >= end) break;
      const std::set<int> storage_only = storage_only_processes(ctx.sim());
      const auto only_storage = [&](const sim::Simulator::SimProcess& p) { return storage_only.contains(p.index); };
      std::vector<sim::Simulator::SimProcess*> candidates;
      for (size_t i = 0; i < ctx.sim().process_count(); ++i) {
        sim::Simulator::SimProcess& p = ctx.sim().process(i);
        if (p.alive && p.machine->alive && only_storage(p)) candidates.push_back(&p);
      }
      if (candidates.empty()) continue;
      sim::Simulator::SimProcess& victim =
          *candidates[static_cast<size_t>(rng.random_int(0, static_cast<int64_t>(candidates.size())))];
      sim::Simulator::Machine& machine = *victim.machine;
      const bool whole_machine = rng.coinflip() && ctx.sim().can_kill_machine(machine) &&
                                 std::all_of(machine.processes.begin(), machine.processes.end(),
                                             [&](const sim::Simulator::SimProcess* p) { return only_storage(*p); });
      flow::TraceEvent(flow::SevInfo, "RebootStorageKill")
          .detail("Process", victim.name)
          .detail("WholeMachine", whole_machine);
      if (whole_machine) {
        ctx.sim().kill_machine(machine);
        ++machine_kills_;
      } else {
        ctx.sim().kill_process(victim);
      }
      ++done_;
      reboots.push_back(flow::spawn([&sim = ctx.sim(), &victim, whole_machine,
                                     after = rng.random_duration(std::chrono::milliseconds(10), downtime_max_)] {
        flow::wait(flow::delay(after));
        if (whole_machine && !victim.machine->alive) sim.reboot_machine(*victim.machine, false);
        else if (!whole_machine && !victim.alive && victim.machine->alive) sim.reboot_process(victim);
      }));
    }
    flow::wait(flow::wait_all(reboots));
  }

  void metrics(std::vector<std::pair<std::string, double>>& out) const override {
    out.emplace_back("StorageReboots", static_cast<double>(done_));
    out.emplace_back("StorageMachineReboots", static_cast<double>(machine_kills_));
  }

 private:
  flow::Duration duration_;
  int64_t reboots_max_;
  double mean_delay_s_;
  flow::Duration downtime_max_;
  int64_t done_ = 0;
  int64_t machine_kills_ = 0;
};

}  // namespace

std::unique_ptr<Workload> make_reboot_storage_workload(WorkloadOptions& options) {
  return std::make_unique<RebootStorageWorkload>(options);
}

}  // namespace workloads
