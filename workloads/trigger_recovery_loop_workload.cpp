// TriggerRecoveryLoop — FoundationDB's workload of that name: it makes the transaction system
// recover again and again. From startTime on, numRecoveries times: it kills the process of the
// current master (or, with probability killAllProportion, every process of the current
// generation's transaction system), brings it back after a while, and waits until the recovery
// controller has recovered before the next round (delayBetweenRecoveries later). With
// injectFailureAfterFirstRecovery, the master of the first recovery's generation is killed as soon
// as it accepts commits, so a second recovery follows at once. check() fails (a SevError,
// TriggerRecoveryLoopStuck) if a recovery did not complete within recoveryTimeout.
//
// Options: startTime (s, 0), numRecoveries (a draw in [1, 10)), delayBetweenRecoveries (s, 0),
// killAllProportion (0.1), injectFailureAfterFirstRecovery (false), recoveryTimeout (s, 60).

#include <chrono>
#include <set>

#include "flow/actor.h"
#include "flow/code_probe.h"
#include "flow/combinators.h"
#include "flow/deterministic_random.h"
#include "flow/trace_event.h"
#include "workloads/database_cluster.h"
#include "workloads/workload.h"

namespace workloads {
namespace {

using namespace std::chrono_literals;

class TriggerRecoveryLoopWorkload final : public Workload {
 public:
  explicit TriggerRecoveryLoopWorkload(WorkloadOptions& o)
      : start_time_(o.get_seconds("startTime", 0.0)),
        recoveries_(o.get_int("numRecoveries", flow::deterministic_random().random_int(1, 10))),
        between_(o.get_seconds("delayBetweenRecoveries", 0.0)),
        kill_all_(o.get_double("killAllProportion", 0.1)),
        inject_after_first_(o.get_bool("injectFailureAfterFirstRecovery", false)),
        timeout_(o.get_seconds("recoveryTimeout", 60.0)) {
    o.require(recoveries_ >= 0 && recoveries_ <= 1000, "numRecoveries", "must be in [0, 1000]");
    o.require(kill_all_ >= 0 && kill_all_ <= 1, "killAllProportion", "must be in [0, 1]");
    o.require(timeout_ > flow::Duration::zero(), "recoveryTimeout", "must be above 0 seconds");
  }

  std::string name() const override { return "TriggerRecoveryLoop"; }

  void start(WorkloadContext& ctx) override {
    const flow::Time began = flow::now();
    database(ctx);
    flow::wait(flow::delay_until(began + start_time_));
    auto& rng = flow::deterministic_random();
    for (int64_t round = 0; round < recoveries_; ++round) {
      const size_t before = ctx.cluster->recovery_seconds.size();
      if (!kill(ctx, rng, rng.random01() < kill_all_)) {
        flow::wait(flow::delay(100ms));  // the atlas forbids it now: try again in a moment
        --round;
        continue;
      }
      if (!wait_for_recovery(ctx, before)) return;
      ++triggered_;
      if (round == 0 && inject_after_first_) {
        CODE_PROBE(true, "TriggerRecoveryLoop kills a master the moment it accepts commits");
        const size_t after_first = ctx.cluster->recovery_seconds.size();
        if (kill(ctx, rng, false) && !wait_for_recovery(ctx, after_first)) return;
      }
      flow::wait(flow::delay(between_));
    }
  }

  bool check(WorkloadContext&) override { return !stuck_; }

  void metrics(std::vector<std::pair<std::string, double>>& out) const override {
    out.emplace_back("TriggeredRecoveries", static_cast<double>(triggered_));
  }

 private:
  // Kills the current master's process, or every process of the transaction system; each comes
  // back after a while. False if the fault atlas allows none of it now.
  bool kill(WorkloadContext& ctx, flow::DeterministicRandom& rng, bool all) {
    const roles::GenerationPlan& plan = ctx.cluster->current;
    std::set<flow::NetworkAddress> targets{plan.master};
    if (all) {
      for (const auto& a : plan.grv_proxies) targets.insert(a);
      for (const auto& a : plan.commit_proxies) targets.insert(a);
      for (const auto& r : plan.resolvers) targets.insert(r.at);
      for (const auto& a : plan.logs) targets.insert(a);
    }
    bool killed = false;
    for (size_t i = 0; i < ctx.sim().process_count(); ++i) {
      sim::Simulator::SimProcess& p = ctx.sim().process(i);
      if (!targets.contains(p.address) || p.is_protected || !p.alive) continue;
      if (!ctx.sim().can_kill_machine(*p.machine)) continue;
      flow::TraceEvent(flow::SevInfo, "TriggerRecoveryKill")
          .detail("Process", p.name)
          .detail("Epoch", static_cast<int64_t>(plan.epoch))
          .detail("All", all);
      ctx.sim().kill_process(p);
      killed = true;
      reboots_.push_back(flow::spawn([&sim = ctx.sim(), &p, after = rng.random_duration(500ms, 2s)] {
        flow::wait(flow::delay(after));
        if (!p.alive) sim.reboot_process(p);
      }));
    }
    return killed;
  }

  // Whether a recovery completed (after `before` of them) within the timeout. May suspend.
  bool wait_for_recovery(WorkloadContext& ctx, size_t before) {
    const flow::Time deadline = flow::now() + timeout_;
    while (ctx.cluster->recovery_seconds.size() <= before) {
      if (flow::now() >= deadline) {
        stuck_ = true;
        flow::TraceEvent(flow::SevError, "TriggerRecoveryLoopStuck")
            .detail("Recoveries", static_cast<int64_t>(before))
            .detail("TimeoutSeconds", flow::to_seconds(timeout_));
        return false;
      }
      flow::wait(flow::delay(50ms));
    }
    return true;
  }

  flow::Duration start_time_;
  int64_t recoveries_;
  flow::Duration between_;
  double kill_all_;
  bool inject_after_first_;
  flow::Duration timeout_;
  int64_t triggered_ = 0;
  bool stuck_ = false;
  std::vector<flow::Future<flow::Void>> reboots_;
};

}  // namespace

std::unique_ptr<Workload> make_trigger_recovery_loop_workload(WorkloadOptions& options) {
  return std::make_unique<TriggerRecoveryLoopWorkload>(options);
}

}  // namespace workloads
