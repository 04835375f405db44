// RandomClogging — network faults, as FoundationDB's workload of that name.
//
// Plain mode (swizzle = 0): for testDuration it clogs random processes (sending, receiving, or one
// pair) for random times and cuts random partitions (symmetric or one way; reset or silent, see
// sim/sim_network.h), each for a while.
//
// Swizzled mode (swizzle != 0), FoundationDB's swizzleClog: round after round until testDuration
// ends, it picks a random subset of the processes (each with probability 1/2), clogs them one by
// one (sending and receiving, until further notice) with random pauses between, then unclogs them
// one by one in a *different* random order. So for a while the cluster is cut into pieces that
// shrink and grow in an order unrelated to the one they were cut in, which finds bugs in code
// that assumes the network heals the way it broke.
//
// Protected processes (testers) are spared in both modes. Every clog ends by the end of start().
//
// Options: testDuration (s, 10), scale (1.0: multiplies clog durations and pauses; > 0),
// swizzle (0: plain; any other integer: swizzled).

#include <algorithm>

#include "flow/actor.h"
#include "flow/combinators.h"
#include "flow/deterministic_random.h"
#include "flow/trace_event.h"
#include "workloads/workload.h"

namespace workloads {
namespace {

class RandomCloggingWorkload final : public Workload {
 public:
  explicit RandomCloggingWorkload(WorkloadOptions& o)
      : duration_(o.get_seconds("testDuration", 10.0)),
        scale_(o.get_double("scale", 1.0)),
        swizzle_(o.get_int("swizzle", 0)) {
    o.require(scale_ > 0 && scale_ <= 1000, "scale", "must be in (0, 1000]");
    o.require(duration_ >= flow::Duration(0), "testDuration", "must not be negative");
  }

  std::string name() const override { return "RandomClogging"; }

  void start(WorkloadContext& ctx) override {
    std::vector<uint32_t> ips;
    for (size_t i = 0; i < ctx.sim.process_count(); ++i)
      if (ctx.sim.can_cut_off(ctx.sim.process(i))) ips.push_back(ctx.sim.process(i).address.ip);
    if (ips.empty()) return;
    if (swizzle_ != 0) {
      swizzle(ctx, ips);
    } else {
      clog(ctx, ips);
    }
  }

  void metrics(std::vector<std::pair<std::string, double>>& out) const override {
    out.emplace_back("CloggingFaults", static_cast<double>(faults_));
    if (swizzle_ != 0) out.emplace_back("SwizzleRounds", static_cast<double>(swizzle_rounds_));
  }

 private:
  flow::Duration scaled(flow::Duration d) const {
    return flow::Duration(static_cast<int64_t>(static_cast<double>(d.count()) * scale_));
  }

  // Plain clogging. May suspend.
  void clog(WorkloadContext& ctx, const std::vector<uint32_t>& ips) {
    auto& rng = flow::deterministic_random();
    auto pick = [&] {
      return ips[static_cast<size_t>(rng.random_int(0, static_cast<int64_t>(ips.size())))];
    };
    const flow::Time end = flow::now() + duration_;
    while (flow::now() < end) {
      flow::wait(flow::delay(
          rng.random_duration(std::chrono::milliseconds(10), std::chrono::milliseconds(500))));
      const flow::Duration length =
          scaled(rng.random_duration(std::chrono::milliseconds(1), std::chrono::seconds(2)));
      const uint32_t a = pick();
      const uint32_t b = pick();
      const int64_t kind = rng.random_int(0, 5);
      flow::TraceEvent(flow::SevDebug, "SimClog")
          .detail("Kind", kind)
          .detail("A", flow::NetworkAddress{a, 0}.to_string())
          .detail("B", flow::NetworkAddress{b, 0}.to_string())
          .detail("Length", length);
      switch (kind) {
        case 0:
          ctx.sim.network().clog_send(a, length);
          break;
        case 1:
          ctx.sim.network().clog_receive(a, length);
          break;
        case 2:
          ctx.sim.network().clog_pair(a, b, length);
          break;
        default: {
          if (a == b) break;
          const bool symmetric = rng.coinflip();
          const sim::PartitionKind cut =
              rng.coinflip() ? sim::PartitionKind::kSilent : sim::PartitionKind::kReset;
          partitions_.push_back(
              flow::spawn([&net = ctx.sim.network(), a, b, length, symmetric, cut] {
                net.partition(a, b, symmetric, cut);
                flow::wait(flow::delay(length));
                net.unpartition(a, b, symmetric);
              }));
          break;
        }
      }
      ++faults_;
    }
    for (auto& p : partitions_)
      (void)flow::wait(p);
    partitions_.clear();
  }

  // Swizzled clogging; see the header comment. May suspend.
  void swizzle(WorkloadContext& ctx, const std::vector<uint32_t>& ips) {
    auto& rng = flow::deterministic_random();
    auto& net = ctx.sim.network();
    // Longer than any round: the clogs end by unclog(), never by themselves.
    const flow::Duration forever = std::chrono::hours(24);
    const flow::Time end = flow::now() + duration_;
    while (flow::now() < end) {
      flow::wait(flow::delay(scaled(
          rng.random_duration(std::chrono::milliseconds(100), std::chrono::seconds(1)))));
      std::vector<uint32_t> chosen;
      for (uint32_t ip : ips)
        if (rng.coinflip()) chosen.push_back(ip);
      if (chosen.empty()) continue;
      shuffle(rng, chosen);
      const std::vector<uint32_t> clogged_order = chosen;
      for (uint32_t ip : chosen) {
        flow::TraceEvent(flow::SevDebug, "SimSwizzleClog")
            .detail("Round", swizzle_rounds_)
            .detail("Address", flow::NetworkAddress{ip, 0}.to_string());
        net.clog_send(ip, forever);
        net.clog_receive(ip, forever);
        ++faults_;
        flow::wait(flow::delay(
            scaled(rng.random_duration(std::chrono::milliseconds(1), std::chrono::seconds(1)))));
      }
      // Another random order: the same one only when there is no other (one process).
      shuffle(rng, chosen);
      if (chosen == clogged_order) std::reverse(chosen.begin(), chosen.end());
      for (uint32_t ip : chosen) {
        flow::wait(flow::delay(
            scaled(rng.random_duration(std::chrono::milliseconds(1), std::chrono::seconds(1)))));
        flow::TraceEvent(flow::SevDebug, "SimSwizzleUnclog")
            .detail("Round", swizzle_rounds_)
            .detail("Address", flow::NetworkAddress{ip, 0}.to_string());
        net.unclog(ip);
      }
      ++swizzle_rounds_;
    }
  }

  // Fisher-Yates, from the run's generator.
  static void shuffle(flow::DeterministicRandom& rng, std::vector<uint32_t>& v) {
    for (size_t i = v.size(); i > 1; --i)
      std::swap(v[i - 1], v[static_cast<size_t>(rng.random_int(0, static_cast<int64_t>(i)))]);
  }

  flow::Duration duration_;
  double scale_;
  int64_t swizzle_;
  std::vector<flow::Future<flow::Void>> partitions_;
  uint64_t faults_ = 0;
  uint64_t swizzle_rounds_ = 0;
};

}  // namespace

std::unique_ptr<Workload> make_random_clogging_workload(WorkloadOptions& options) {
  return std::make_unique<RandomCloggingWorkload>(options);
}

}  // namespace workloads
