// RandomClogging — network faults, as FoundationDB's workload of that name: for testDuration it
// clogs random processes (sending, receiving, or one pair) for random times and cuts random
// partitions (symmetric or one way), each for a while. Protected processes (testers) are spared.
//
// Options: testDuration (s, 10), scale (1.0: multiplies clog durations), swizzle (accepted; the
// swizzled clogging FoundationDB does here is not modelled yet, so it behaves like plain clogging).

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
        swizzle_(o.get_int("swizzle", 0)) {}

  std::string name() const override { return "RandomClogging"; }

  void start(WorkloadContext& ctx) override {
    auto& rng = flow::deterministic_random();
    std::vector<uint32_t> ips;
    for (size_t i = 0; i < ctx.sim.process_count(); ++i)
      if (ctx.sim.can_cut_off(ctx.sim.process(i))) ips.push_back(ctx.sim.process(i).address.ip);
    if (ips.empty()) return;
    auto pick = [&] {
      return ips[static_cast<size_t>(rng.random_int(0, static_cast<int64_t>(ips.size())))];
    };
    const flow::Time end = flow::now() + duration_;
    while (flow::now() < end) {
      flow::wait(flow::delay(
          rng.random_duration(std::chrono::milliseconds(10), std::chrono::milliseconds(500))));
      const auto length = flow::Duration(static_cast<int64_t>(
          static_cast<double>(
              rng.random_duration(std::chrono::milliseconds(1), std::chrono::seconds(2)).count()) *
          scale_));
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
        default:
          if (a == b) break;
          partitions_.push_back(
              flow::spawn([&net = ctx.sim.network(), a, b, length, symmetric = rng.coinflip()] {
                net.partition(a, b, symmetric);
                flow::wait(flow::delay(length));
                net.unpartition(a, b, symmetric);
              }));
          break;
      }
      ++faults_;
    }
    for (auto& p : partitions_)
      (void)flow::wait(p);
    partitions_.clear();
  }

  void metrics(std::vector<std::pair<std::string, double>>& out) const override {
    out.emplace_back("CloggingFaults", static_cast<double>(faults_));
  }

 private:
  flow::Duration duration_;
  double scale_;
  int64_t swizzle_;
  std::vector<flow::Future<flow::Void>> partitions_;
  uint64_t faults_ = 0;
};

}  // namespace

std::unique_ptr<Workload> make_random_clogging_workload(WorkloadOptions& options) {
  return std::make_unique<RandomCloggingWorkload>(options);
}

}  // namespace workloads
