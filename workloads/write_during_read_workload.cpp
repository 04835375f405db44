// WriteDuringRead — the client's read-your-writes checked against a model. Each client owns a
// stretch of keys (its prefix) that nobody else writes, fenced by sentinel keys on both sides so
// that no selector it uses can run out of it. It runs transactions of random operations — get,
// get_key, get_range (limits, reverse, snapshot), set, clear, clear_range and the atomic
// operations — and checks every read against a model: what the database held after its last
// commit, with the transaction's own writes applied. A commit updates the model; a
// commit_unknown_result is settled through a generation key that every transaction reads and
// advances (see client()), and the stretch must then hold the state before or after it. check()
// compares each stretch with its model.
//
// Options: testDuration (s, 10), nodeCount (keys per client, 40), clients (2),
// operationsPerTransaction (upper bound, 30), maxValueBytes (16), keyPrefix ("wdr/").

#include <fmt/format.h>

#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "client/database.h"
#include "flow/actor.h"
#include "flow/combinators.h"
#include "flow/deterministic_random.h"
#include "flow/trace_event.h"
#include "roles/common/atomic.h"
#include "roles/common/limits.h"
#include "workloads/database_cluster.h"
#include "workloads/workload.h"

namespace workloads {
namespace {

using Model = std::map<std::string, std::string>;
using client::KeySelector;
using client::RangeLimits;
using client::RangeResult;
using client::Transaction;

constexpr int kSentinels = 4;    // on each side of a client's keys
constexpr int kOffsetMax = 3;    // selectors move at most this far: they stay among the sentinels

// The key a selector names in `m` (every key of m lies between `low` and `high`).
std::string resolve_in(const Model& m, const KeySelector& s, const std::string& low, const std::string& high) {
  auto it = s.or_equal ? m.upper_bound(s.key) : m.lower_bound(s.key);  // the first key after the base
  int32_t offset = s.offset;
  if (offset > 0) {
    for (; offset > 1 && it != m.end(); --offset) ++it;
    return it == m.end() ? high : it->first;
  }
  for (; offset < 0 && it != m.begin(); ++offset) --it;
  if (it == m.begin()) return low;
  return std::prev(it)->first;
}

RangeResult range_in(const Model& m, const std::string& b, const std::string& e, RangeLimits limits) {
  RangeResult out;
  if (b >= e) return out;
  int64_t bytes = 0;
  const auto take = [&](const std::pair<const std::string, std::string>& kv) {
    if ((limits.rows > 0 && static_cast<int64_t>(out.rows.size()) >= limits.rows) ||
        (limits.bytes > 0 && bytes >= limits.bytes)) {
      out.more = true;
      return false;
    }
    bytes += static_cast<int64_t>(kv.first.size() + kv.second.size());
    out.rows.push_back({kv.first, kv.second});
    return true;
  };
  if (!limits.reverse) {
    for (auto it = m.lower_bound(b); it != m.end() && it->first < e; ++it)
      if (!take(*it)) return out;
  } else {
    for (auto it = m.lower_bound(e); it != m.begin();) {
      --it;
      if (it->first < b) break;
      if (!take(*it)) return out;
    }
  }
  // Full after the last row: the client cannot tell there is nothing more.
  if ((limits.rows > 0 && static_cast<int64_t>(out.rows.size()) >= limits.rows) ||
      (limits.bytes > 0 && bytes >= limits.bytes))
    out.more = true;
  return out;
}

std::string printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) out += (c >= 32 && c < 127) ? std::string(1, static_cast<char>(c)) : fmt::format("\\x{:02x}", c);
  return out;
}

std::string describe(const RangeResult& r) {
  std::string out = "[";
  for (const auto& kv : r.rows) out += printable(kv.key) + "=" + printable(kv.value) + " ";
  return out + (r.more ? "] more" : "]");
}

class WriteDuringReadWorkload final : public Workload {
 public:
  explicit WriteDuringReadWorkload(WorkloadOptions& o)
      : duration_(o.get_seconds("testDuration", 10.0)),
        nodes_(o.get_int("nodeCount", 40)),
        clients_(o.get_int("clients", 2)),
        ops_max_(o.get_int("operationsPerTransaction", 30)),
        value_max_(o.get_int("maxValueBytes", 16)),
        prefix_(o.get_key_prefix("wdr/")) {
    o.require(nodes_ >= 1 && nodes_ <= 10'000, "nodeCount", "must be in [1, 10000]");
    o.require(clients_ >= 1 && clients_ <= 100, "clients", "must be in [1, 100]");
    o.require(ops_max_ >= 1 && ops_max_ <= 1000, "operationsPerTransaction", "must be in [1, 1000]");
    o.require(value_max_ >= 1 && value_max_ <= 1000, "maxValueBytes", "must be in [1, 1000]");
  }

  std::string name() const override { return "WriteDuringRead"; }

  void setup(WorkloadContext& ctx) override {
    client::Database& db = database(ctx);
    models_.assign(static_cast<size_t>(clients_), {});
    generations_.assign(static_cast<size_t>(clients_), 0);
    for (int64_t c = 0; c < clients_; ++c) {
      Model& m = models_[static_cast<size_t>(c)];
      for (int i = 0; i < kSentinels; ++i) {
        m[low(c) + std::to_string(i)] = "sentinel";
        m[high(c) + std::to_string(i)] = "sentinel";
      }
      db.run([&](Transaction& t) {
        t.clear_range(base(c), base(c) + "\xff");
        for (const auto& [k, v] : m) t.set(k, v);
        t.set(generation_key(c), "0");
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
    if (failed_) return false;
    client::Database& db = database(ctx);
    for (int64_t c = 0; c < clients_; ++c) {
      waiting_ = Waiting{"check", fmt::format("a read of client {}'s keys", c), std::nullopt};
      const Model stored = read_all(db, c);
      if (stored != models_[static_cast<size_t>(c)]) {
        flow::TraceEvent(flow::SevError, "WriteDuringReadLostWrites")
            .detail("Client", c)
            .detail("Stored", static_cast<int64_t>(stored.size()))
            .detail("Model", static_cast<int64_t>(models_[static_cast<size_t>(c)].size()));
        return false;
      }
    }
    return true;
  }

  void metrics(std::vector<std::pair<std::string, double>>& out) const override {
    out.emplace_back("WriteDuringReadTransactions", static_cast<double>(committed_));
    out.emplace_back("WriteDuringReadReads", static_cast<double>(reads_checked_));
    out.emplace_back("WriteDuringReadRetries", static_cast<double>(retries_));
    out.emplace_back("WriteDuringReadUnknownResults", static_cast<double>(unknown_));
  }
  std::optional<Waiting> waiting_on() const override { return waiting_; }
  std::vector<std::string> key_hints() const override {
    std::vector<std::string> hints;
    for (int64_t c = 0; c < clients_; ++c) hints.push_back(base(c) + "k000");
    return hints;
  }

 private:
  std::string base(int64_t c) const { return fmt::format("{}{:03}/", prefix_, c); }
  std::string low(int64_t c) const { return base(c) + "a"; }
  std::string high(int64_t c) const { return base(c) + "z"; }
  // Outside every client's stretch: "gen" sorts after the stretches' numbers.
  std::string generation_key(int64_t c) const { return fmt::format("{}gen/{:03}", prefix_, c); }
  std::string node(int64_t c, int64_t i) const { return fmt::format("{}k{:05}", base(c), i); }

  // Client c's stretch as stored now. May suspend.
  Model read_all(client::Database& db, int64_t c) {
    return db.run([&](Transaction& t) {
      Model m;
      for (const auto& kv : t.get_range(base(c), base(c) + "\xff").rows) m[kv.key] = kv.value;
      return m;
    });
  }

  // A SevError naming the operation that saw something the model says it should not. Throws
  // operation_failed so that the client stops.
  [[noreturn]] void mismatch(const std::string& op, const std::string& got, const std::string& expected) {
    failed_ = true;
    flow::TraceEvent(flow::SevError, "WriteDuringReadMismatch")
        .detail("Operation", op)
        .detail("Got", got)
        .detail("Expected", expected);
    throw flow::Error(flow::ErrorCode::operation_failed);
  }

  std::string random_key(int64_t c) {
    auto& rng = flow::deterministic_random();
    return node(c, rng.random_int(0, nodes_)) + (rng.random_bool(0.2) ? "x" : "");
  }

  std::string random_value() {
    auto& rng = flow::deterministic_random();
    std::string v(static_cast<size_t>(rng.random_int(0, value_max_ + 1)), '\0');
    for (char& ch : v) ch = static_cast<char>(rng.random_int(0, 4) == 0 ? rng.random_int(0, 256) : 'a' + rng.random_int(0, 4));
    return v;
  }

  KeySelector random_selector(int64_t c) {
    auto& rng = flow::deterministic_random();
    return {random_key(c), rng.coinflip(), static_cast<int32_t>(rng.random_int(-kOffsetMax + 1, kOffsetMax + 1))};
  }

  // One operation on t, checked against `seen` (what t should see), which it updates. May suspend.
  void operate(Transaction& t, int64_t c, Model& seen) {
    auto& rng = flow::deterministic_random();
    const std::string lo = base(c), hi = base(c) + "\xff";
    const bool snapshot = rng.coinflip();
    switch (rng.random_int(0, 10)) {
      case 0: {
        const std::string k = random_key(c);
        const std::optional<std::string> got = t.get(k, snapshot);
        const auto it = seen.find(k);
        const std::optional<std::string> want = it == seen.end() ? std::nullopt : std::optional(it->second);
        ++reads_checked_;
        if (got != want) mismatch("get " + printable(k), got ? printable(*got) : "(absent)", want ? printable(*want) : "(absent)");
        return;
      }
      case 1: {
        const KeySelector s = random_selector(c);
        const std::string got = t.get_key(s, snapshot);
        const std::string want = resolve_in(seen, s, lo, hi);
        ++reads_checked_;
        if (got != want)
          mismatch(fmt::format("get_key ({}, {}, {})", printable(s.key), s.or_equal, s.offset), printable(got), printable(want));
        return;
      }
      case 2: {
        const KeySelector b = random_selector(c), e = random_selector(c);
        RangeLimits limits{.rows = rng.coinflip() ? 0 : rng.random_int(1, 8),
                           .bytes = rng.random_bool(0.2) ? rng.random_int(1, 60) : 0,
                           .reverse = rng.coinflip()};
        const RangeResult got = t.get_range(b, e, limits, snapshot);
        const RangeResult want = range_in(seen, resolve_in(seen, b, lo, hi), resolve_in(seen, e, lo, hi), limits);
        ++reads_checked_;
        if (got.rows != want.rows || got.more != want.more)
          mismatch(fmt::format("get_range ({}, {}, {}) .. ({}, {}, {}) rows {} bytes {} reverse {}", printable(b.key),
                               b.or_equal, b.offset, printable(e.key), e.or_equal, e.offset, limits.rows, limits.bytes,
                               limits.reverse),
                   describe(got), describe(want));
        return;
      }
      case 3:
      case 4: {
        const std::string k = random_key(c), v = random_value();
        t.set(k, v);
        seen[k] = v;
        return;
      }
      case 5: {
        const std::string k = random_key(c);
        t.clear(k);
        seen.erase(k);
        return;
      }
      case 6: {
        std::string b = random_key(c), e = random_key(c);
        if (e < b) std::swap(b, e);
        t.clear_range(b, e);
        seen.erase(seen.lower_bound(b), seen.lower_bound(e));
        return;
      }
      default: {
        static constexpr roles::MutationType kTypes[] = {
            roles::MutationType::kAdd,     roles::MutationType::kBitAnd,       roles::MutationType::kBitOr,
            roles::MutationType::kBitXor,  roles::MutationType::kAppendIfFits, roles::MutationType::kMax,
            roles::MutationType::kMin,     roles::MutationType::kByteMin,      roles::MutationType::kByteMax,
            roles::MutationType::kCompareAndClear};
        const roles::MutationType type = kTypes[rng.random_int(0, std::size(kTypes))];
        const std::string k = random_key(c), operand = random_value();
        t.atomic_op(type, k, operand);
        const auto it = seen.find(k);
        const std::optional<std::string> before = it == seen.end() ? std::nullopt : std::optional(it->second);
        const std::optional<std::string> after =
            roles::apply_atomic(type, before ? std::optional<std::string_view>(*before) : std::nullopt, operand,
                                roles::value_bytes_max);
        if (after) seen[k] = *after;
        else seen.erase(k);
        return;
      }
    }
  }

  // Runs transactions of random operations until `end`. Each also reads and advances the
  // client's generation key: a retry after commit_unknown_result is settled by a transaction
  // that reads and rewrites it, after which the unknown one can no longer commit (it read the
  // generation too, and this rewrote it after its read version). May suspend.
  void client(client::Database& db, int64_t c, flow::Time end) {
    auto& rng = flow::deterministic_random();
    Model& model = models_[static_cast<size_t>(c)];
    int64_t& generation = generations_[static_cast<size_t>(c)];
    while (flow::now() < end && !failed_) {
      Transaction t(db);
      for (;;) {
        Model seen = model;
        std::optional<flow::Error> failed;
        try {
          const int64_t ops = rng.random_int(1, ops_max_ + 1);
          for (int64_t i = 0; i < ops; ++i) operate(t, c, seen);
          // Last, so that the operations before it run in a transaction that has not written
          // yet (whose selectors the storage servers resolve) until its first write.
          const std::optional<std::string> g = t.get(generation_key(c));
          if (g != std::to_string(generation)) mismatch("generation", g.value_or("(absent)"), std::to_string(generation));
          t.set(generation_key(c), std::to_string(generation + 1));
          t.commit();
          model = std::move(seen);
          ++generation;
          ++committed_;
          break;
        } catch (const flow::Error& e) {
          if (e.code() == flow::ErrorCode::operation_cancelled || failed_) throw;
          failed = e;
        }
        if (failed->code() == flow::ErrorCode::commit_unknown_result) {
          ++unknown_;
          const auto [g, stored] = db.run([&](Transaction& s) {
            const std::optional<std::string> now = s.get(generation_key(c));
            s.set(generation_key(c), now.value_or(""));
            Model m;
            for (const auto& kv : s.get_range(base(c), base(c) + "\xff").rows) m[kv.key] = kv.value;
            return std::pair(now, m);
          });
          if (g == std::to_string(generation + 1)) {
            if (stored != seen) mismatch("commit_unknown_result settled as committed", "other keys", "its writes");
            model = std::move(seen);
            ++generation;
            ++committed_;
            break;
          }
          if (g != std::to_string(generation) || stored != model)
            mismatch("commit_unknown_result settled", g.value_or("(absent)"), "the generation before or after");
        }
        ++retries_;
        t.on_error(*failed);  // rethrows what is not retryable: the run fails with it
      }
      flow::wait(flow::delay(rng.random_duration(flow::Duration(0), std::chrono::milliseconds(20))));
    }
  }

  flow::Duration duration_;
  int64_t nodes_;
  int64_t clients_;
  int64_t ops_max_;
  int64_t value_max_;
  std::string prefix_;
  std::vector<Model> models_;
  std::vector<int64_t> generations_;
  bool failed_ = false;
  int64_t committed_ = 0;
  int64_t reads_checked_ = 0;
  int64_t retries_ = 0;
  int64_t unknown_ = 0;
  std::optional<Waiting> waiting_;
};

}  // namespace

std::unique_ptr<Workload> make_write_during_read_workload(WorkloadOptions& options) {
  return std::make_unique<WriteDuringReadWorkload>(options);
}

}  // namespace workloads
