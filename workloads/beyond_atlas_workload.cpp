// BeyondAtlas — injects the fault past the atlas that the spec's label names (its
// [configuration] beyondAtlas), where the database cannot be expected to stay available and must
// stop safely instead: unavailable, never wrong (docs/simulator.md, "Beyond the atlas"). The runner
// then passes a run whose checks are still waiting when their time runs out, but not one whose
// check fails or that raised a SevError.
//
//   coordinator_majority  after `after` seconds, kills the machines of a majority of the cluster's
//                         coordinators, and the process of the master, so that a recovery is
//                         needed and cannot read the cluster state; the machines come back after
//                         downFor seconds (wiped, with wipe = true and allowWipe);
//   team_wiped            after `after` seconds, kills every machine of one storage team (one
//                         without a coordinator where there is one) and brings them back wiped:
//                         the shard's only copies are gone.
//
// Options: after (s, 5), downFor (s, 10), wipe (false).
//
// A workload still waiting on the database when beyondAtlasSafetySeconds (120) have passed is
// cancelled, and the checks begin (workloads/sim_runner.cpp).

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "flow/actor.h"
#include "flow/code_probe.h"
#include "flow/combinators.h"
#include "flow/deterministic_random.h"
#include "flow/trace_event.h"
#include "workloads/database_cluster.h"
#include "workloads/workload.h"

namespace workloads {
namespace {

using Machine = sim::Simulator::Machine;

class BeyondAtlasWorkload final : public Workload {
 public:
  explicit BeyondAtlasWorkload(WorkloadOptions& o)
      : after_(o.get_seconds("after", 5.0)), down_for_(o.get_seconds("downFor", 10.0)), wipe_(o.get_bool("wipe", false)) {
    o.require(after_ >= flow::Duration::zero(), "after", "must be at least 0 seconds");
    o.require(down_for_ >= flow::Duration::zero(), "downFor", "must be at least 0 seconds");
  }

  std::string name() const override { return "BeyondAtlas"; }

  void start(WorkloadContext& ctx) override {
    const std::string scenario = ctx.sim().atlas().beyond;
    if (scenario.empty() || (wipe_ && !ctx.sim().atlas().allow_wipe)) {
      // A spec's mistake, said as one: it must label the scenario (and allow the wipe).
      flow::TraceEvent(flow::SevError, "BeyondAtlasNotLabelled")
          .detail("Why", scenario.empty() ? "the spec's [configuration] must say beyondAtlas = 'coordinator_majority' or 'team_wiped'"
                                          : "wipe = true needs allowWipe = true in [configuration]");
      return;
    }
    database(ctx);
    flow::wait(flow::delay(after_));
    std::vector<Machine*> victims;
    if (scenario == "coordinator_majority") {
      const std::vector<flow::NetworkAddress>& coordinators = ctx.cluster->cluster.coordinators;
      for (const flow::NetworkAddress& a : coordinators) {
        Machine* m = machine_of(ctx, a);
        if (m != nullptr && std::find(victims.begin(), victims.end(), m) == victims.end()) victims.push_back(m);
        if (victims.size() == coordinators.size() / 2 + 1) break;
      }
    } else {
      victims = team_machines(ctx);
    }
    std::string names;
    for (Machine* m : victims) names += (names.empty() ? "" : " ") + m->name;
    flow::TraceEvent(flow::SevInfo, "BeyondAtlasInjected").detail("Scenario", scenario).detail("Machines", names);
    for (Machine* m : victims) ctx.sim().kill_machine(*m);
    if (scenario == "coordinator_majority") {
      // A recovery is needed now, and cannot read the cluster state.
      for (size_t i = 0; i < ctx.sim().process_count(); ++i) {
        sim::Simulator::SimProcess& p = ctx.sim().process(i);
        if (p.address == ctx.cluster->current.master && !p.is_protected) ctx.sim().kill_process(p);
      }
      flow::wait(flow::delay(down_for_));
      for (Machine* m : victims) ctx.sim().reboot_machine(*m, wipe_);
      return;
    }
    CODE_PROBE(true, "BeyondAtlas wipes every replica of a storage team");
    flow::wait(flow::delay(std::chrono::seconds(1)));
    for (Machine* m : victims) ctx.sim().reboot_machine(*m, /*wipe=*/true);
  }

 private:
  static Machine* machine_of(WorkloadContext& ctx, const flow::NetworkAddress& a) {
    for (size_t i = 0; i < ctx.sim().process_count(); ++i)
      if (ctx.sim().process(i).address == a) return ctx.sim().process(i).machine;
    return nullptr;
  }

  // The machines of one storage team: of a team on no coordinator's machine if one is (so that
  // the scenario is the team's loss alone), else of the first.
  static std::vector<Machine*> team_machines(WorkloadContext& ctx) {
    std::vector<Machine*> coordinator_machines;
    for (const flow::NetworkAddress& a : ctx.cluster->cluster.coordinators)
      if (Machine* m = machine_of(ctx, a)) coordinator_machines.push_back(m);
    std::vector<Machine*> chosen;
    for (const roles::GenerationPlan::Team& team : ctx.cluster->storage_teams) {
      std::vector<Machine*> machines;
      bool has_coordinator = false;
      for (const flow::NetworkAddress& a : team.at) {
        Machine* m = machine_of(ctx, a);
        if (m == nullptr || std::find(machines.begin(), machines.end(), m) != machines.end()) continue;
        machines.push_back(m);
        has_coordinator |= std::find(coordinator_machines.begin(), coordinator_machines.end(), m) != coordinator_machines.end();
      }
      if (chosen.empty()) chosen = machines;
      if (!has_coordinator) return machines;
    }
    CODE_PROBE(true, "BeyondAtlas wipes a team that shares a machine with a coordinator");
    return chosen;
  }

  flow::Duration after_;
  flow::Duration down_for_;
  bool wipe_;
};

}  // namespace

std::unique_ptr<Workload> make_beyond_atlas_workload(WorkloadOptions& options) {
  return std::make_unique<BeyondAtlasWorkload>(options);
}

}  // namespace workloads
