// Rollback — FoundationDB's workload of that name: it makes storage servers roll back. Each round
// it picks a commit proxy and one log of the current generation and clogs the proxy's path to
// every other log for clogDuration, so the proxy's batches reach that one log, which runs ahead of
// the others (its storage servers pull versions no other log has). After clogDuration / 3 it
// kills the proxy's process (enableFailures; it comes back after a while) or clogs it, and clogs
// the log that ran ahead: the recovery that follows locks the logs left behind, chooses a
// recovery version below what the one ahead holds, and the storage servers that applied those
// versions roll them back.
//
// Options: testDuration (s, 10), meanDelay (s, 20: the mean time between rounds, the first
// included), clogDuration (s, 3), enableFailures (true), multiple (true: more than one round).

#include <chrono>
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

class RollbackWorkload final : public Workload {
 public:
  explicit RollbackWorkload(WorkloadOptions& o)
      : duration_(o.get_seconds("testDuration", 10.0)),
        mean_delay_(o.get_double("meanDelay", 20.0)),
        clog_(o.get_seconds("clogDuration", 3.0)),
        failures_(o.get_bool("enableFailures", true)),
        multiple_(o.get_bool("multiple", true)) {
    o.require(mean_delay_ > 0 && mean_delay_ <= 1e6, "meanDelay", "must be in (0, 1e6] seconds");
    o.require(clog_ > flow::Duration::zero(), "clogDuration", "must be above 0 seconds");
  }

  std::string name() const override { return "Rollback"; }

  void start(WorkloadContext& ctx) override {
    database(ctx);  // a round needs the generation's roles
    auto& rng = flow::deterministic_random();
    const flow::Time end = flow::now() + duration_;
    std::vector<flow::Future<flow::Void>> reboots;
    for (;;) {
      const double gap = -std::log(1.0 - rng.random01()) * mean_delay_;
      const flow::Time at = flow::now() + flow::from_seconds(gap);
      if (at >= end) break;
      flow::wait(flow::delay_until(at));
      round(ctx, rng, reboots);
      if (!multiple_) break;
    }
    flow::wait(flow::wait_all(reboots));
  }

  void metrics(std::vector<std::pair<std::string, double>>& out) const override {
    out.emplace_back("RollbackRounds", static_cast<double>(rounds_));
  }

 private:
  // May suspend.
  void round(WorkloadContext& ctx, flow::DeterministicRandom& rng,
             std::vector<flow::Future<flow::Void>>& reboots) {
    if (ctx.cluster == nullptr) return;
    const roles::GenerationPlan plan = ctx.cluster->current;
    if (plan.commit_proxies.empty() || plan.logs.size() < 2) return;
    const flow::NetworkAddress proxy = plan.commit_proxies[static_cast<size_t>(
        rng.random_int(0, static_cast<int64_t>(plan.commit_proxies.size())))];
    const flow::NetworkAddress ahead =
        plan.logs[static_cast<size_t>(rng.random_int(0, static_cast<int64_t>(plan.logs.size())))];
    sim::Simulator::SimProcess* proxy_process = find(ctx, proxy);
    if (proxy_process == nullptr || proxy_process->is_protected) return;
    ++rounds_;
    flow::TraceEvent(flow::SevInfo, "RollbackRound")
        .detail("Epoch", static_cast<int64_t>(plan.epoch))
        .detail("Proxy", proxy.to_string())
        .detail("LogAhead", ahead.to_string());
    for (const flow::NetworkAddress& log : plan.logs)
      if (log.ip != ahead.ip && log.ip != proxy.ip)
        ctx.sim().network().clog_pair(proxy.ip, log.ip, clog_);
    flow::wait(flow::delay(clog_ / 3));
    if (ahead.ip != proxy.ip) {
      ctx.sim().network().clog_send(ahead.ip, clog_);
      ctx.sim().network().clog_receive(ahead.ip, clog_);
    }
    if (failures_ && proxy_process->alive) {
      CODE_PROBE(true, "Rollback kills a commit proxy whose batches reached one log");
      ctx.sim().kill_process(*proxy_process);
      reboots.push_back(flow::spawn(
          [&sim = ctx.sim(), proxy_process,
           after = rng.random_duration(std::chrono::milliseconds(500), std::chrono::seconds(5))] {
            flow::wait(flow::delay(after));
            if (!proxy_process->alive) sim.reboot_process(*proxy_process);
          }));
    } else {
      ctx.sim().network().clog_send(proxy.ip, clog_);
      ctx.sim().network().clog_receive(proxy.ip, clog_);
    }
  }

  static sim::Simulator::SimProcess* find(WorkloadContext& ctx, const flow::NetworkAddress& a) {
    for (size_t i = 0; i < ctx.sim().process_count(); ++i)
      if (ctx.sim().process(i).address == a) return &ctx.sim().process(i);
    return nullptr;
  }

  flow::Duration duration_;
  double mean_delay_;
  flow::Duration clog_;
  bool failures_;
  bool multiple_;
  int64_t rounds_ = 0;
};

}  // namespace

std::unique_ptr<Workload> make_rollback_workload(WorkloadOptions& options) {
  return std::make_unique<RollbackWorkload>(options);
}

}  // namespace workloads
