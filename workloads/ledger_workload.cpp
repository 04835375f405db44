// Ledger — money moved between accounts and never made or lost. Each transfer reads two
// balances, moves an amount the payer holds, and records itself under a key of its own, in one
// transaction (exactly_once.h: a commit_unknown_result is settled by the record). check() reads
// everything at one version: the balances sum to what they started with, no balance is
// negative, each balance is its start plus what the records say it received minus what they say
// it paid, and the records are exactly the transfers the workload saw commit. A lost or doubled
// write, a read of a stale balance that commits anyway, or a torn transaction breaks one of them.
// The records are read with range reads, so those are checked too.
//
// Options: testDuration (s, 10), accounts (20), clients (4), transactionsPerSecond (100),
// startingBalance (1000), keyPrefix ("ledger/").

#include <fmt/format.h>

#include <charconv>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "client/database.h"
#include "flow/actor.h"
#include "flow/combinators.h"
#include "flow/deterministic_random.h"
#include "flow/trace_event.h"
#include "workloads/database_cluster.h"
#include "workloads/exactly_once.h"
#include "workloads/workload.h"

namespace workloads {
namespace {

std::optional<int64_t> parse_int(std::string_view s) {
  int64_t n = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return n;
}

class LedgerWorkload final : public Workload {
 public:
  explicit LedgerWorkload(WorkloadOptions& o)
      : duration_(o.get_seconds("testDuration", 10.0)),
        accounts_(o.get_int("accounts", 20)),
        clients_(o.get_int("clients", 4)),
        rate_(o.get_double("transactionsPerSecond", 100.0)),
        start_balance_(o.get_int("startingBalance", 1000)),
        prefix_(o.get_key_prefix("ledger/")) {
    o.require(accounts_ >= 2 && accounts_ <= 100'000, "accounts", "must be in [2, 100000]");
    o.require(clients_ >= 1 && clients_ <= 1000, "clients", "must be in [1, 1000]");
    o.require(rate_ > 0 && rate_ <= 1e6, "transactionsPerSecond", "must be in (0, 1e6]");
    o.require(start_balance_ >= 1 && start_balance_ <= 1'000'000'000, "startingBalance", "must be in [1, 1e9]");
  }

  std::string name() const override { return "Ledger"; }

  void setup(WorkloadContext& ctx) override {
    client::Database& db = database(ctx);
    for (int64_t first = 0; first < accounts_; first += 100) {
      db.run([&](client::Transaction& t) {
        if (first == 0) t.clear_range(prefix_, prefix_ + "\xff");
        for (int64_t i = first; i < std::min(accounts_, first + 100); ++i) t.set(account(i), std::to_string(start_balance_));
      });
    }
  }

  void start(WorkloadContext& ctx) override {
    client::Database& db = database(ctx);
    const flow::Time end = flow::now() + duration_;
    std::vector<flow::Future<flow::Void>> actors;
    for (int64_t c = 0; c < clients_; ++c) actors.push_back(flow::spawn([this, &db, c, end] { client(db, c, end); }));
    flow::wait(flow::wait_all(actors));
  }

  bool check(WorkloadContext& ctx) override {
    client::Database& db = database(ctx);
    waiting_ = Waiting{"check", "a read of every balance and record", std::nullopt};
    if (failed_) return false;
    return db.run([&](client::Transaction& t) {
      std::vector<int64_t> expected(static_cast<size_t>(accounts_), start_balance_);
      std::set<std::string> recorded;
      for (const client::KeyValue& r : t.get_range(prefix_ + "t/", prefix_ + "t0").rows) {
        int64_t from = -1, to = -1, amount = -1;
        if (!parse_transfer(r.value, from, to, amount)) return fail("LedgerBadRecord", r.key, r.value);
        expected[static_cast<size_t>(from)] -= amount;
        expected[static_cast<size_t>(to)] += amount;
        recorded.insert(r.key);
      }
      if (recorded != committed_) {
        flow::TraceEvent(flow::SevError, "LedgerRecordsDiffer")
            .detail("Records", static_cast<int64_t>(recorded.size()))
            .detail("Committed", static_cast<int64_t>(committed_.size()));
        return false;
      }
      int64_t total = 0;
      const auto rows = t.get_range(prefix_ + "a/", prefix_ + "a0").rows;
      if (static_cast<int64_t>(rows.size()) != accounts_)
        return fail("LedgerAccountsMissing", prefix_, std::to_string(rows.size()));
      for (int64_t i = 0; i < accounts_; ++i) {
        const client::KeyValue& row = rows[static_cast<size_t>(i)];
        const std::optional<int64_t> balance = parse_int(row.value);
        if (row.key != account(i) || !balance || *balance < 0 || *balance != expected[static_cast<size_t>(i)])
          return fail("LedgerBalanceWrong", row.key, row.value + " expected " + std::to_string(expected[static_cast<size_t>(i)]));
        total += *balance;
      }
      if (total != accounts_ * start_balance_) return fail("LedgerTotalChanged", prefix_, std::to_string(total));
      return true;
    });
  }

  void metrics(std::vector<std::pair<std::string, double>>& out) const override {
    out.emplace_back("LedgerTransfers", static_cast<double>(committed_.size()));
  }
  std::optional<Waiting> waiting_on() const override { return waiting_; }
  std::vector<std::string> key_hints() const override { return {prefix_ + "a/", prefix_ + "t/"}; }

 private:
  std::string account(int64_t i) const { return fmt::format("{}a/{:06}", prefix_, i); }

  bool parse_transfer(const std::string& v, int64_t& from, int64_t& to, int64_t& amount) const {
    const size_t a = v.find(','), b = a == std::string::npos ? a : v.find(',', a + 1);
    if (b == std::string::npos) return false;
    const auto f = parse_int(std::string_view(v).substr(0, a));
    const auto t = parse_int(std::string_view(v).substr(a + 1, b - a - 1));
    const auto m = parse_int(std::string_view(v).substr(b + 1));
    if (!f || !t || !m || *f < 0 || *f >= accounts_ || *t < 0 || *t >= accounts_ || *m <= 0) return false;
    from = *f, to = *t, amount = *m;
    return true;
  }

  static bool fail(const char* event, const std::string& key, const std::string& what) {
    flow::TraceEvent(flow::SevError, event).detail("Key", key).detail("What", what);
    return false;
  }

  // Moves money at the workload's rate until `end`. May suspend.
  void client(client::Database& db, int64_t c, flow::Time end) {
    auto& rng = flow::deterministic_random();
    const flow::Duration gap = flow::from_seconds(static_cast<double>(clients_) / rate_);
    for (int64_t n = 0; flow::now() < end; ++n) {
      flow::wait(flow::delay(rng.random_duration(flow::Duration(0), 2 * gap)));
      const int64_t from = rng.random_int(0, accounts_);
      const int64_t to = (from + rng.random_int(1, accounts_)) % accounts_;
      const int64_t want = rng.random_int(1, start_balance_ + 1);
      const std::string record_key = fmt::format("{}t/{:04}/{:08}", prefix_, c, n);
      const std::optional<std::string> record =
          run_once(db, record_key, [&](client::Transaction& t) -> std::optional<std::string> {
            const std::optional<int64_t> payer = parse_int(t.get(account(from)).value_or(""));
            const std::optional<int64_t> payee = parse_int(t.get(account(to)).value_or(""));
            if (!payer || !payee) {
              failed_ = true;
              flow::TraceEvent(flow::SevError, "LedgerAccountUnreadable").detail("From", from).detail("To", to);
              throw flow::Error(flow::ErrorCode::operation_failed);
            }
            const int64_t amount = std::min(want, *payer);
            if (amount <= 0) return std::nullopt;  // nothing to move: no transfer
            t.set(account(from), std::to_string(*payer - amount));
            t.set(account(to), std::to_string(*payee + amount));
            return fmt::format("{},{},{}", from, to, amount);
          });
      if (record) committed_.insert(record_key);
    }
  }

  flow::Duration duration_;
  int64_t accounts_;
  int64_t clients_;
  double rate_;
  int64_t start_balance_;
  std::string prefix_;
  std::set<std::string> committed_;  // the records of the transfers seen to commit
  bool failed_ = false;
  std::optional<Waiting> waiting_;
};

}  // namespace

std::unique_ptr<Workload> make_ledger_workload(WorkloadOptions& options) {
  return std::make_unique<LedgerWorkload>(options);
}

}  // namespace workloads
