// LowLatency — FoundationDB's workload of that name: while faults happen (machine kills, hence
// recoveries), the database must keep answering quickly. Every checkDelay it gets a read version
// and, with testWrites, commits a write of testKey, each through the retry loop; one that takes
// longer than maxGRVLatency (or maxCommitLatency) is a SevError (LatencyTooLarge) and fails the
// check.
//
// Options: testDuration (s, 600), maxGRVLatency (s, 20), maxCommitLatency (s, 30), checkDelay (s,
// 1), testWrites (true), testKey ("testKey").

#include <algorithm>
#include <chrono>

#include "flow/actor.h"
#include "flow/combinators.h"
#include "flow/trace_event.h"
#include "workloads/database_cluster.h"
#include "workloads/workload.h"

namespace workloads {
namespace {

class LowLatencyWorkload final : public Workload {
 public:
  explicit LowLatencyWorkload(WorkloadOptions& o)
      : duration_(o.get_seconds("testDuration", 600.0)),
        max_grv_(o.get_seconds("maxGRVLatency", 20.0)),
        max_commit_(o.get_seconds("maxCommitLatency", 30.0)),
        check_delay_(o.get_seconds("checkDelay", 1.0)),
        writes_(o.get_bool("testWrites", true)),
        key_(o.get_key_prefix("testKey")) {
    o.require(check_delay_ > flow::Duration::zero(), "checkDelay", "must be above 0 seconds");
  }

  std::string name() const override { return "LowLatency"; }

  void start(WorkloadContext& ctx) override {
    client::Database& db = database(ctx);
    const flow::Time end = flow::now() + duration_;
    while (flow::now() < end) {
      flow::wait(flow::delay(check_delay_));
      flow::Time began = flow::now();
      db.run([](client::Transaction& t) { t.get_read_version(); });
      measure("GRV", flow::now() - began, max_grv_);
      if (writes_) {
        began = flow::now();
        db.run([this](client::Transaction& t) { t.set(key_, "ok"); });
        measure("Commit", flow::now() - began, max_commit_);
      }
      ++checks_;
    }
  }

  bool check(WorkloadContext&) override { return ok_; }

  void metrics(std::vector<std::pair<std::string, double>>& out) const override {
    out.emplace_back("LowLatencyChecks", static_cast<double>(checks_));
    out.emplace_back("LowLatencyWorstSeconds", worst_seconds_);
  }

 private:
  void measure(const char* what, flow::Duration took, flow::Duration bound) {
    worst_seconds_ = std::max(worst_seconds_, flow::to_seconds(took));
    if (took <= bound) return;
    ok_ = false;
    flow::TraceEvent(flow::SevError, "LatencyTooLarge")
        .detail("Operation", what)
        .detail("Seconds", flow::to_seconds(took))
        .detail("MaxSeconds", flow::to_seconds(bound));
  }

  flow::Duration duration_;
  flow::Duration max_grv_;
  flow::Duration max_commit_;
  flow::Duration check_delay_;
  bool writes_;
  std::string key_;
  int64_t checks_ = 0;
  double worst_seconds_ = 0;
  bool ok_ = true;
};

}  // namespace

std::unique_ptr<Workload> make_low_latency_workload(WorkloadOptions& options) {
  return std::make_unique<LowLatencyWorkload>(options);
}

}  // namespace workloads
