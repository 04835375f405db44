// Cycle — FoundationDB's classic serializability check on the database. Keys 0..N-1 hold a
// permutation that is one cycle (key i names the next key). Each transaction reads three steps
// of the cycle from a random key, a -> b -> c -> d, and swaps b and c: a -> c -> b -> d. Any
// interleaving of such transactions that is serializable keeps one cycle of length N; a lost
// write, a read of a stale or torn state, or two conflicting transactions both committing breaks
// it. Each read is, at random, a get, a one-row range read (forward or back) or a key selector
// and a get: each must add the right read conflict range. check() walks the cycle at one read
// version.
//
// Options: testDuration (s, 10), nodeCount (100), clients (4), transactionsPerSecond (100, over
// all clients), keyPrefix ("cycle/").

#include <fmt/format.h>

#include <charconv>
#include <optional>
#include <string>
#include <vector>

#include "client/database.h"
#include "flow/actor.h"
#include "flow/combinators.h"
#include "flow/deterministic_random.h"
#include "flow/trace_event.h"
#include "workloads/database_cluster.h"
#include "workloads/workload.h"

namespace workloads {
namespace {

class CycleWorkload final : public Workload {
 public:
  explicit CycleWorkload(WorkloadOptions& o)
      : duration_(o.get_seconds("testDuration", 10.0)),
        nodes_(o.get_int("nodeCount", 100)),
        clients_(o.get_int("clients", 4)),
        rate_(o.get_double("transactionsPerSecond", 100.0)),
        prefix_(o.get_key_prefix("cycle/")) {
    o.require(nodes_ >= 4 && nodes_ <= 1'000'000, "nodeCount", "must be in [4, 1000000]");
    o.require(clients_ >= 1 && clients_ <= 1000, "clients", "must be in [1, 1000]");
    o.require(rate_ > 0 && rate_ <= 1e6, "transactionsPerSecond", "must be in (0, 1e6]");
  }

  std::string name() const override { return "Cycle"; }

  void setup(WorkloadContext& ctx) override {
    client::Database& db = database(ctx);
    // The first cycle: i -> i + 1, written in batches of 100 keys.
    for (int64_t first = 0; first < nodes_; first += 100) {
      db.run([&](client::Transaction& t) {
        for (int64_t i = first; i < std::min(nodes_, first + 100); ++i)
          t.set(key(i), value((i + 1) % nodes_));
      });
    }
  }

  void start(WorkloadContext& ctx) override {
    client::Database& db = database(ctx);
    const flow::Time end = flow::now() + duration_;
    std::vector<flow::Future<flow::Void>> clients;
    for (int64_t c = 0; c < clients_; ++c)
      clients.push_back(flow::spawn([this, &db, end] { client(db, end); }));
    flow::wait(flow::wait_all(clients));
  }

  bool check(WorkloadContext& ctx) override {
    client::Database& db = database(ctx);
    waiting_ = Waiting{"check", "a read of the whole cycle", std::nullopt};
    return db.run([&](client::Transaction& t) {
      std::vector<int64_t> next(static_cast<size_t>(nodes_));
      for (int64_t i = 0; i < nodes_; ++i) {
        const std::optional<int64_t> n = read(t, i);
        if (!n) return false;
        next[static_cast<size_t>(i)] = *n;
      }
      int64_t at = 0;
      for (int64_t step = 1; step <= nodes_; ++step) {
        at = next[static_cast<size_t>(at)];
        if (at == 0 && step != nodes_) {
          flow::TraceEvent(flow::SevError, "CycleBroken")
              .detail("CycleLength", step)
              .detail("Nodes", nodes_)
              .detail("ReadVersion", t.get_read_version());
          return false;
        }
      }
      if (at != 0) {
        flow::TraceEvent(flow::SevError, "CycleBroken").detail("Why", "no way back to 0");
        return false;
      }
      return true;
    });
  }

  void metrics(std::vector<std::pair<std::string, double>>& out) const override {
    out.emplace_back("CycleTransactions", static_cast<double>(committed_));
    out.emplace_back("CycleRetries", static_cast<double>(retries_));
  }
  std::optional<Waiting> waiting_on() const override { return waiting_; }
  std::vector<std::string> key_hints() const override { return {prefix_ + "0000"}; }

 private:
  std::string key(int64_t i) const { return fmt::format("{}{:08}", prefix_, i); }
  static std::string value(int64_t i) { return std::to_string(i); }

  // Node i's value, read one of four ways (the seed picks): a get; a range read limited to one
  // row, forward from the key or backward to it; a key selector, then a get. Each must make the
  // transaction conflict with a write of that key, or the cycle breaks. May suspend.
  std::optional<std::string> read_value(client::Transaction& t, int64_t i) {
    auto& rng = flow::deterministic_random();
    const std::string k = key(i);
    switch (rng.random_int(0, 4)) {
      case 0:
        return t.get(k);
      case 1: {
        const auto rows = t.get_range(k, prefix_ + "\xff", {.rows = 1}).rows;
        if (rows.empty() || rows[0].key != k) return std::nullopt;
        return rows[0].value;
      }
      case 2: {
        const auto rows = t.get_range(prefix_, k + '\0', {.rows = 1, .reverse = true}).rows;
        if (rows.empty() || rows[0].key != k) return std::nullopt;
        return rows[0].value;
      }
      default: {
        // The key after the one before it: k itself.
        const std::string found = t.get_key(i == 0 ? client::KeySelector::first_greater_or_equal(prefix_)
                                                   : client::KeySelector::first_greater_than(key(i - 1)));
        if (found != k) return std::nullopt;
        return t.get(k);
      }
    }
  }

  // Node i's successor, or nullopt (after a SevError event) if the database lost it. May suspend.
  std::optional<int64_t> read(client::Transaction& t, int64_t i) {
    const std::optional<std::string> v = read_value(t, i);
    int64_t n = -1;
    if (v) std::from_chars(v->data(), v->data() + v->size(), n);
    if (!v || n < 0 || n >= nodes_) {
      flow::TraceEvent(flow::SevError, "CycleBadValue")
          .detail("Key", key(i))
          .detail("Value", v ? *v : std::string("(absent)"))
          .detail("ReadVersion", t.get_read_version());
      return std::nullopt;
    }
    return n;
  }

  // Swaps steps of the cycle at the workload's rate until `end`. May suspend.
  void client(client::Database& db, flow::Time end) {
    auto& rng = flow::deterministic_random();
    const flow::Duration gap = flow::from_seconds(static_cast<double>(clients_) / rate_);
    while (flow::now() < end) {
      flow::wait(flow::delay(rng.random_duration(flow::Duration(0), 2 * gap)));
      int attempts = 0;
      const bool ok = db.run([&](client::Transaction& t) {
        ++attempts;
        const int64_t a = rng.random_int(0, nodes_);
        const std::optional<int64_t> b = read(t, a);
        if (!b) return false;
        const std::optional<int64_t> c = read(t, *b);
        if (!c) return false;
        const std::optional<int64_t> d = read(t, *c);
        if (!d) return false;
        t.set(key(a), value(*c));
        t.set(key(*c), value(*b));
        t.set(key(*b), value(*d));
        return true;
      });
      if (!ok) throw flow::Error(flow::ErrorCode::operation_failed);  // the SevError says why
      ++committed_;
      retries_ += attempts - 1;
    }
  }

  flow::Duration duration_;
  int64_t nodes_;
  int64_t clients_;
  double rate_;
  std::string prefix_;
  int64_t committed_ = 0;
  int64_t retries_ = 0;
  std::optional<Waiting> waiting_;
};

}  // namespace

std::unique_ptr<Workload> make_cycle_workload(WorkloadOptions& options) {
  return std::make_unique<CycleWorkload>(options);
}

}  // namespace workloads
