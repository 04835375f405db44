// Attrition — machine failures, as FoundationDB's workload of that name: during testDuration it
// kills up to machinesToKill machines at random times, never leaving fewer than machinesToLeave
// alive and never exceeding what the fault atlas allows; with reboot, each comes back after a
// while (with its disk, or wiped when the atlas allows wipes, a coin says so and the database
// keeps a copy of everything the machine holds elsewhere: database_survives_wipe).
//
// Options: testDuration (s, 10), machinesToKill (10), machinesToLeave (1), reboot (true),
// meanDelay (s: mean time between kills, testDuration / machinesToKill), killDatacenter (false:
// when true, one kill takes a whole datacenter if the atlas allows it).

#include <algorithm>
#include <cmath>

#include "flow/actor.h"
#include "flow/code_probe.h"
#include "flow/combinators.h"
#include "flow/deterministic_random.h"
#include "flow/trace_event.h"
#include "workloads/database_cluster.h"
#include "workloads/workload.h"

namespace workloads {
namespace {

class AttritionWorkload final : public Workload {
 public:
  explicit AttritionWorkload(WorkloadOptions& o)
      : duration_(o.get_seconds("testDuration", 10.0)),
        to_kill_(o.get_int("machinesToKill", 10)),
        to_leave_(o.get_int("machinesToLeave", 1)),
        reboot_(o.get_bool("reboot", true)),
        kill_datacenter_(o.get_bool("killDatacenter", false)),
        mean_delay_(o.get_double("meanDelay", o.get_double("testDuration", 10.0) /
                                                  static_cast<double>(std::max<int64_t>(
                                                      1, o.get_int("machinesToKill", 10))))) {}

  std::string name() const override { return "Attrition"; }

  void start(WorkloadContext& ctx) override {
    auto& rng = flow::deterministic_random();
    const flow::Time end = flow::now() + duration_;
    std::vector<flow::Future<flow::Void>> reboots;
    for (int64_t killed = 0; killed < to_kill_ && flow::now() < end;) {
      const double gap = -std::log(1.0 - rng.random01()) * mean_delay_;
      flow::wait(flow::delay_until(
          std::min(end, flow::now() + flow::from_seconds(gap))));
      if (flow::now() >= end) break;
      std::vector<sim::Simulator::Machine*> candidates;
      int64_t alive = 0;
      for (size_t i = 0; i < ctx.sim().machine_count(); ++i) {
        sim::Simulator::Machine& m = ctx.sim().machine(i);
        if (!m.alive) continue;
        if (m.processes.empty() || m.processes.front()->is_protected) continue;
        ++alive;
        if (ctx.sim().can_kill_machine(m)) candidates.push_back(&m);
      }
      if (candidates.empty() || alive <= to_leave_) continue;
      if (kill_datacenter_ && rng.random_bool(0.5) &&
          try_kill_datacenter(ctx, rng, alive, reboots)) {
        ++killed;
        continue;
      }
      sim::Simulator::Machine& victim = *candidates[static_cast<size_t>(
          rng.random_int(0, static_cast<int64_t>(candidates.size())))];
      ctx.sim().kill_machine(victim);
      ++killed;
      ++kills_;
      if (reboot_) {
        const bool wipe = ctx.sim().atlas().allow_wipe && rng.random_bool(0.1);
        reboots.push_back(flow::spawn(
            [&ctx, &victim, wipe,
             after = rng.random_duration(std::chrono::milliseconds(100), std::chrono::seconds(5))] {
              flow::wait(flow::delay(after));
              if (victim.alive) return;
              // A wipe the database would not survive (its last copy of something) waits for
              // another time: the atlas allows wipes only where the data lives elsewhere.
              const bool survivable = !wipe || database_survives_wipe(ctx, victim);
              CODE_PROBE(wipe && !survivable, "Attrition spares a machine's disk that holds a last copy");
              ctx.sim().reboot_machine(victim, wipe && survivable);
            }));
      }
    }
    flow::wait(flow::wait_all(reboots));
  }

  void metrics(std::vector<std::pair<std::string, double>>& out) const override {
    out.emplace_back("AttritionKills", static_cast<double>(kills_));
  }

 private:
  // Kills every machine of one random datacenter, if the atlas and machinesToLeave allow it.
  // May suspend (only in the reboot actors it spawns).
  bool try_kill_datacenter(WorkloadContext& ctx, flow::DeterministicRandom& rng, int64_t alive,
                           std::vector<flow::Future<flow::Void>>& reboots) {
    const int dc = static_cast<int>(rng.random_int(0, ctx.sim().datacenter_count()));
    std::vector<sim::Simulator::Machine*> victims;
    for (size_t i = 0; i < ctx.sim().machine_count(); ++i) {
      sim::Simulator::Machine& m = ctx.sim().machine(i);
      if (m.datacenter != dc || !m.alive) continue;
      if (m.processes.empty() || m.processes.front()->is_protected) return false;
      victims.push_back(&m);
    }
    const auto n = static_cast<int64_t>(victims.size());
    if (n == 0 || alive - n < to_leave_ ||
        ctx.sim().dead_machines() + n > ctx.sim().atlas().max_dead_machines) {
      return false;
    }
    ctx.sim().kill_datacenter(dc);
    kills_ += static_cast<uint64_t>(n);
    if (reboot_) {
      reboots.push_back(flow::spawn(
          [&sim = ctx.sim(), dc,
           after = rng.random_duration(std::chrono::milliseconds(100), std::chrono::seconds(5))] {
            flow::wait(flow::delay(after));
            sim.reboot_datacenter(dc, false);
          }));
    }
    return true;
  }

  flow::Duration duration_;
  int64_t to_kill_;
  int64_t to_leave_;
  bool reboot_;
  bool kill_datacenter_;
  double mean_delay_;
  uint64_t kills_ = 0;
};

}  // namespace

std::unique_ptr<Workload> make_attrition_workload(WorkloadOptions& options) {
  return std::make_unique<AttritionWorkload>(options);
}

}  // namespace workloads
