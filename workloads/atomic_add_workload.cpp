// SimpleAtomicAdd and Increment — atomic adds counted exactly. SimpleAtomicAdd (FoundationDB's
// options) adds addValue to one key `iterations` times, one transaction after another, starting
// from initialValue. Increment has `clients` actors add 1 to random keys of `nodeCount` for
// testDuration seconds. Every transaction records itself under a key of its own (exactly_once.h),
// so a commit_unknown_result is retried without counting twice; check() compares the sums with
// the number of records, which must equal the transactions the workload saw commit.
//
// SimpleAtomicAdd options: initialize (true), initialValue (0), iterations (100), addValue (1),
// keyPrefix ("SimpleAtomicAdd/"). Increment options: testDuration (s, 10), nodeCount (10),
// clients (4), transactionsPerSecond (200), keyPrefix ("Increment/").
// Values are 8-byte little-endian integers, as the add operation takes them.

#include <fmt/format.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "client/database.h"
#include "flow/actor.h"
#include "flow/combinators.h"
#include "flow/deterministic_random.h"
#include "flow/trace_event.h"
#include "roles/common/atomic.h"
#include "workloads/database_cluster.h"
#include "workloads/exactly_once.h"
#include "workloads/workload.h"

namespace workloads {
namespace {

std::string le64(int64_t v) {
  std::string out(8, '\0');
  for (size_t i = 0; i < 8; ++i) out[i] = static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff);
  return out;
}

// An 8-byte little-endian integer (shorter values are zero-extended, as the add operation does).
std::optional<int64_t> from_le64(const std::optional<std::string>& v) {
  if (!v || v->size() > 8) return std::nullopt;
  uint64_t out = 0;
  for (size_t i = 0; i < v->size(); ++i) out |= static_cast<uint64_t>(static_cast<uint8_t>((*v)[i])) << (8 * i);
  return static_cast<int64_t>(out);
}

class AtomicAddWorkload final : public Workload {
 public:
  // `simple`: SimpleAtomicAdd (one key, sequential); otherwise Increment.
  AtomicAddWorkload(WorkloadOptions& o, bool simple)
      : simple_(simple),
        initialize_(simple ? o.get_bool("initialize", true) : true),
        initial_(simple ? o.get_int("initialValue", 0) : 0),
        iterations_(simple ? o.get_int("iterations", 100) : 0),
        add_(simple ? o.get_int("addValue", 1) : 1),
        duration_(simple ? flow::Duration(0) : o.get_seconds("testDuration", 10.0)),
        nodes_(simple ? 1 : o.get_int("nodeCount", 10)),
        clients_(simple ? 1 : o.get_int("clients", 4)),
        rate_(simple ? 1.0 : o.get_double("transactionsPerSecond", 200.0)),
        prefix_(o.get_key_prefix(simple ? "SimpleAtomicAdd/" : "Increment/")) {
    o.require(iterations_ >= 0 && iterations_ <= 1'000'000, "iterations", "must be in [0, 1000000]");
    o.require(nodes_ >= 1 && nodes_ <= 100'000, "nodeCount", "must be in [1, 100000]");
    o.require(clients_ >= 1 && clients_ <= 1000, "clients", "must be in [1, 1000]");
    o.require(rate_ > 0 && rate_ <= 1e6, "transactionsPerSecond", "must be in (0, 1e6]");
  }

  std::string name() const override { return simple_ ? "SimpleAtomicAdd" : "Increment"; }

  void setup(WorkloadContext& ctx) override {
    client::Database& db = database(ctx);
    if (!initialize_) {
      // Counting from whatever the key holds (nothing: 0); earlier records stay and are counted.
      base_ = db.run([&](client::Transaction& t) {
        const std::optional<std::string> v = t.get(counter(0));
        const int64_t records = static_cast<int64_t>(t.get_range(prefix_ + "done/", prefix_ + "done0").rows.size());
        return from_le64(v).value_or(0) - records * add_;
      });
      committed_before_ = db.run([&](client::Transaction& t) {
        return static_cast<int64_t>(t.get_range(prefix_ + "done/", prefix_ + "done0").rows.size());
      });
      return;
    }
    db.run([&](client::Transaction& t) {
      t.clear_range(prefix_, prefix_ + "\xff");
      for (int64_t i = 0; i < nodes_; ++i) t.set(counter(i), le64(initial_));
    });
  }

  void start(WorkloadContext& ctx) override {
    client::Database& db = database(ctx);
    if (simple_) {
      for (int64_t i = 0; i < iterations_; ++i) add_once(db, 0, i, 0);
      return;
    }
    const flow::Time end = flow::now() + duration_;
    std::vector<flow::Future<flow::Void>> actors;
    for (int64_t c = 0; c < clients_; ++c)
      actors.push_back(flow::spawn([this, &db, c, end] {
        auto& rng = flow::deterministic_random();
        const flow::Duration gap = flow::from_seconds(static_cast<double>(clients_) / rate_);
        for (int64_t n = 0; flow::now() < end; ++n) {
          flow::wait(flow::delay(rng.random_duration(flow::Duration(0), 2 * gap)));
          add_once(db, c, n, rng.random_int(0, nodes_));
        }
      }));
    flow::wait(flow::wait_all(actors));
  }

  bool check(WorkloadContext& ctx) override {
    client::Database& db = database(ctx);
    waiting_ = Waiting{"check", "a read of the counters and the records", std::nullopt};
    return db.run([&](client::Transaction& t) {
      int64_t sum = 0;
      for (int64_t i = 0; i < nodes_; ++i) {
        const std::optional<std::string> v = t.get(counter(i));
        const std::optional<int64_t> n = initialize_ ? from_le64(v) : from_le64(v ? v : std::optional<std::string>(""));
        if (!n) {
          flow::TraceEvent(flow::SevError, "AtomicAddBadValue").detail("Key", counter(i)).detail("Present", v.has_value());
          return false;
        }
        sum += *n - base_;
      }
      const auto records = t.get_range(prefix_ + "done/", prefix_ + "done0").rows;
      const int64_t recorded = static_cast<int64_t>(records.size());
      if (sum != recorded * add_ || recorded != committed_before_ + committed_) {
        flow::TraceEvent(flow::SevError, "AtomicAddMiscounted")
            .detail("Workload", name())
            .detail("Added", sum)
            .detail("Records", recorded)
            .detail("Committed", committed_)
            .detail("AddValue", add_);
        return false;
      }
      return true;
    });
  }

  void metrics(std::vector<std::pair<std::string, double>>& out) const override {
    out.emplace_back(name() + "Transactions", static_cast<double>(committed_));
  }
  std::optional<Waiting> waiting_on() const override { return waiting_; }
  std::vector<std::string> key_hints() const override { return {prefix_}; }

 private:
  std::string counter(int64_t i) const { return fmt::format("{}c{:06}", prefix_, i); }

  // Adds to counter k, recorded as client c's n-th transaction. May suspend.
  void add_once(client::Database& db, int64_t c, int64_t n, int64_t k) {
    const std::string marker = fmt::format("{}done/{:04}/{:08}", prefix_, c, n);
    if (run_once(db, marker, [&](client::Transaction& t) {
          t.atomic_op(roles::MutationType::kAdd, counter(k), le64(add_));
          return std::optional(counter(k));
        }))
      ++committed_;
  }

  bool simple_;
  bool initialize_;
  int64_t initial_;
  int64_t iterations_;
  int64_t add_;
  flow::Duration duration_;
  int64_t nodes_;
  int64_t clients_;
  double rate_;
  std::string prefix_;
  int64_t base_ = initial_;           // what each counter held before the first add counted
  int64_t committed_before_ = 0;      // records found at setup (initialize = false)
  int64_t committed_ = 0;
  std::optional<Waiting> waiting_;
};

}  // namespace

std::unique_ptr<Workload> make_simple_atomic_add_workload(WorkloadOptions& options) {
  return std::make_unique<AtomicAddWorkload>(options, true);
}

std::unique_ptr<Workload> make_increment_workload(WorkloadOptions& options) {
  return std::make_unique<AtomicAddWorkload>(options, false);
}

}  // namespace workloads
