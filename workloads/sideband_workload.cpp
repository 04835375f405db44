// Sideband — strict serializability seen from outside the database. A mutator commits a key and,
// once its commit returned, tells a checker so through a channel the database knows nothing of
// (a stream between the two actors, with a random delay). The checker then starts a new
// transaction: it must see the key. A read version that misses an acknowledged commit — a proxy
// that answers before the master knows the version is committed, a GRV proxy that serves an old
// version — fails the check at once.
//
// Options: testDuration (s, 10), operationsPerSecond (50), keyPrefix ("sideband/").

#include <fmt/format.h>

#include <optional>
#include <string>

#include "client/database.h"
#include "flow/actor.h"
#include "flow/combinators.h"
#include "flow/deterministic_random.h"
#include "flow/stream.h"
#include "flow/trace_event.h"
#include "workloads/database_cluster.h"
#include "workloads/exactly_once.h"
#include "workloads/workload.h"

namespace workloads {
namespace {

class SidebandWorkload final : public Workload {
 public:
  explicit SidebandWorkload(WorkloadOptions& o)
      : duration_(o.get_seconds("testDuration", 10.0)),
        rate_(o.get_double("operationsPerSecond", 50.0)),
        prefix_(o.get_key_prefix("sideband/")) {
    o.require(rate_ > 0 && rate_ <= 1e6, "operationsPerSecond", "must be in (0, 1e6]");
  }

  std::string name() const override { return "Sideband"; }

  void start(WorkloadContext& ctx) override {
    client::Database& db = database(ctx);
    const flow::Time end = flow::now() + duration_;
    flow::PromiseStream<int64_t> side;
    flow::Future<flow::Void> checker = flow::spawn([this, &db, stream = side.get_future()] { check_each(db, stream); });
    auto& rng = flow::deterministic_random();
    const flow::Duration gap = flow::from_seconds(1.0 / rate_);
    for (int64_t n = 0;; ++n) {
      flow::wait(flow::delay(rng.random_duration(flow::Duration(0), 2 * gap)));
      if (flow::now() >= end) break;
      run_once(db, key(n), [](client::Transaction&) { return std::optional<std::string>("committed"); });
      ++sent_;
      side.send(n);
    }
    side.send(-1);  // the end
    flow::wait(checker);
  }

  bool check(WorkloadContext&) override { return !missed_ && checked_ == sent_; }

  void metrics(std::vector<std::pair<std::string, double>>& out) const override {
    out.emplace_back("SidebandChecked", static_cast<double>(checked_));
  }
  std::vector<std::string> key_hints() const override { return {prefix_}; }

 private:
  std::string key(int64_t n) const { return fmt::format("{}{:08}", prefix_, n); }

  // Reads each key it hears of in a new transaction. May suspend.
  void check_each(client::Database& db, flow::FutureStream<int64_t> stream) {
    auto& rng = flow::deterministic_random();
    for (;;) {
      const int64_t n = flow::wait_next(stream);
      if (n < 0) return;
      // The message takes a while, as another channel would (possibly no time at all).
      if (rng.coinflip()) flow::wait(flow::delay(rng.random_duration(flow::Duration(0), std::chrono::milliseconds(5))));
      const bool seen = db.run([&](client::Transaction& t) { return t.get(key(n)).has_value(); });
      ++checked_;
      if (!seen) {
        missed_ = true;
        flow::TraceEvent(flow::SevError, "SidebandMissedCommit").detail("Key", key(n));
      }
    }
  }

  flow::Duration duration_;
  double rate_;
  std::string prefix_;
  int64_t sent_ = 0;
  int64_t checked_ = 0;
  bool missed_ = false;
};

}  // namespace

std::unique_ptr<Workload> make_sideband_workload(WorkloadOptions& options) {
  return std::make_unique<SidebandWorkload>(options);
}

}  // namespace workloads
