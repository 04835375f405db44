// ListAppend — Jepsen's list-append test, checked by Elle's method inside the simulator
// (workloads/checkers/list_append_checker.h). Clients run short transactions of random
// operations on a few keys: append a unique number to the list under a key (the atomic
// append_if_fits of its 8 bytes: blind, so a read after it in the same transaction shows it by
// read-your-writes) and read a whole list (a get, or a range read of the one key). Every attempt
// is recorded: its invocation and completion in simulated time, what its reads returned, and how
// it ended (committed; failed: not committed for sure; unknown: commit_unknown_result). After
// the faults heal, check() reads every key used, adds that read to the history and runs the
// checker: each anomaly it finds is a SevError event naming the transactions, the keys and the
// cycle.
//
// The keys in use slide: a key takes about 32 appends while it is among the `activeKeys` newest,
// then is left alone, so lists stay short (a read is cheap to compare) and orders stay dense.
//
// Options: testDuration (s, 10), clients (4), transactionsPerSecond (100, over all clients),
// activeKeys (5), operationsPerTransaction (4, at most: 1 to it), keyPrefix ("la/").

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "client/database.h"
#include "flow/actor.h"
#include "flow/combinators.h"
#include "flow/deterministic_random.h"
#include "flow/trace_event.h"
#include "roles/common/atomic.h"
#include "workloads/checkers/history.h"
#include "workloads/checkers/list_append_checker.h"
#include "workloads/database_cluster.h"
#include "workloads/paced_clients.h"
#include "workloads/workload.h"

namespace workloads {
namespace {

using checkers::MicroOp;
using checkers::Outcome;

constexpr int64_t kAppendsPerKey = 32;

constexpr size_t kViolationsReported = 10;  // SevError events; the count is reported whole

class ListAppendWorkload final : public Workload {
 public:
  explicit ListAppendWorkload(WorkloadOptions& o)
      : pacing_(o),
        active_keys_(o.get_int("activeKeys", 5)),
        ops_max_(o.get_int("operationsPerTransaction", 4)),
        prefix_(o.get_key_prefix("la/")) {
    o.require(active_keys_ >= 1 && active_keys_ <= 1000, "activeKeys", "must be in [1, 1000]");
    o.require(ops_max_ >= 1 && ops_max_ <= 100, "operationsPerTransaction", "must be in [1, 100]");
  }

  std::string name() const override { return "ListAppend"; }

  void start(WorkloadContext& ctx) override {
    client::Database& db = database(ctx);
    pacing_.run([this, &db](uint32_t client) { transaction(db, client); });
  }

  bool check(WorkloadContext& ctx) override {
    client::Database& db = database(ctx);
    waiting_ = Waiting{"check", "a read of every list", std::nullopt};
    // The final read: every key used, one transaction, recorded like the others.
    std::vector<MicroOp> ops;
    for (int64_t k = 0; k < keys_used(); ++k) ops.push_back({MicroOp::Kind::kReadList, key(k), 0, {}});
    client::Transaction t(db);
    for (;;) {
      const size_t index = history_.invoke(static_cast<uint32_t>(pacing_.clients()), now_ns(), ops);
      std::optional<flow::Error> failed;
      try {
        std::vector<MicroOp> done = ops;
        for (MicroOp& op : done) op.values = decode(t.get(op.key));
        const roles::Version read_version = t.get_read_version();
        t.commit();
        history_.complete(index, now_ns(), Outcome::kOk, std::move(done), read_version);
        break;
      } catch (const flow::Error& e) {
        if (e.code() == flow::ErrorCode::operation_cancelled) throw;
        history_.complete(index, now_ns(), Outcome::kFailed, ops);
        failed = e;
      }
      t.on_error(*failed);  // outside the catch: it waits
    }
    waiting_.reset();

    const checkers::ListAppendReport report = checkers::check_list_append(history_);
    committed_in_graph_ = static_cast<int64_t>(report.committed);
    edges_ = static_cast<int64_t>(report.edges);
    for (size_t i = 0; i < std::min(report.violations.size(), kViolationsReported); ++i) {
      const checkers::Violation& v = report.violations[i];
      flow::TraceEvent(flow::SevError, "ListAppendViolation")
          .detail("Anomaly", checkers::anomaly_name(v.anomaly))
          .detail("Explanation", v.explanation)
          .detail("Transactions", describe(v.transactions))
          .detail("Violations", report.violations.size());
    }
    return report.valid();
  }

  void metrics(std::vector<std::pair<std::string, double>>& out) const override {
    history_.add_metrics("ListAppend", out);
    out.emplace_back("ListAppendKeys", static_cast<double>(keys_used()));
    out.emplace_back("ListAppendGraphNodes", static_cast<double>(committed_in_graph_));
    out.emplace_back("ListAppendGraphEdges", static_cast<double>(edges_));
  }
  std::optional<Waiting> waiting_on() const override { return waiting_; }
  std::vector<std::string> key_hints() const override { return {prefix_}; }
  std::string history_edn() const override { return history_.to_edn(); }

 private:
  std::string key(int64_t k) const { return fmt::format("{}{:08}", prefix_, k); }
  int64_t keys_used() const { return appends_ / kAppendsPerKey + active_keys_; }

  static std::string encode(int64_t value) {
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i)
      out[static_cast<size_t>(i)] = static_cast<char>(static_cast<uint64_t>(value) >> (56 - 8 * i));
    return out;
  }
  // A list as stored: 8-byte big-endian values, one after another. A stray tail (which no
  // append makes) is kept as a value of its own, so the checker reports it as nobody's.
  static std::vector<int64_t> decode(const std::optional<std::string>& stored) {
    std::vector<int64_t> out;
    if (!stored) return out;
    for (size_t at = 0; at < stored->size(); at += 8) {
      uint64_t v = 0;
      const size_t end = std::min(stored->size(), at + 8);
      for (size_t i = at; i < end; ++i) v = (v << 8) | static_cast<uint8_t>((*stored)[i]);
      out.push_back(end - at == 8 ? static_cast<int64_t>(v) : -1 - static_cast<int64_t>(at));
    }
    return out;
  }

  std::string describe(const std::vector<size_t>& transactions) const {
    std::string out;
    for (size_t i : transactions) {
      const checkers::Transaction& t = history_.transactions()[i];
      out += fmt::format("T{}: client {}, invoked {:.6f}s, {}, rv {}, cv {}; ", i, t.client,
                         static_cast<double>(t.invoked_ns) / 1e9,
                         t.outcome == Outcome::kOk       ? "ok"
                         : t.outcome == Outcome::kFailed ? "failed"
                                                         : "unknown",
                         t.read_version, t.commit_version);
    }
    return out;
  }

  // A random transaction's operations: appends of fresh values and reads, on the active keys.
  std::vector<MicroOp> plan(uint32_t client) {
    auto& rng = flow::deterministic_random();
    std::vector<MicroOp> ops;
    for (int64_t n = rng.random_int(1, ops_max_ + 1); n > 0; --n) {
      const int64_t base = appends_ / kAppendsPerKey;
      const std::string k = key(base + rng.random_int(0, active_keys_));
      if (rng.coinflip()) {
        ++appends_;
        // Unique across clients: the client in the high bits.
        ops.push_back({MicroOp::Kind::kAppend, k, fresh_value(client), {}});
      } else {
        ops.push_back({MicroOp::Kind::kReadList, k, 0, {}});
      }
    }
    return ops;
  }

  int64_t fresh_value(uint32_t client) { return (int64_t{client} << 40) | ++next_value_; }

  // Runs one random transaction to its end, each attempt recorded. May suspend.
  void transaction(client::Database& db, uint32_t id) {
    auto& rng = flow::deterministic_random();
    std::vector<MicroOp> ops = plan(id);
    client::Transaction t(db);
    for (;;) {
      const size_t index = history_.invoke(id, now_ns(), ops);
      std::vector<MicroOp> done = ops;
      bool committing = false;
      std::optional<flow::Error> failed;
      try {
        for (MicroOp& op : done) {
          if (op.kind == MicroOp::Kind::kAppend) {
            t.atomic_op(roles::MutationType::kAppendIfFits, op.key, encode(op.value));
          } else if (rng.coinflip()) {
            op.values = decode(t.get(op.key));
          } else {
            const auto rows = t.get_range(op.key, op.key + '\0').rows;
            op.values = decode(rows.empty() ? std::nullopt : std::optional(rows[0].value));
          }
        }
        const roles::Version read_version = t.get_read_version();
        committing = true;
        t.commit();
        history_.complete(index, now_ns(), Outcome::kOk, std::move(done), read_version,
                          t.get_committed_version());
        break;
      } catch (const flow::Error& e) {
        if (e.code() == flow::ErrorCode::operation_cancelled) throw;
        // Only a commit can leave its outcome unknown; the client names that case.
        const bool unknown = committing && e.code() == flow::ErrorCode::commit_unknown_result;
        history_.complete(index, now_ns(), unknown ? Outcome::kUnknown : Outcome::kFailed,
                          ops);
        failed = e;
      }
      t.on_error(*failed);  // outside the catch: it waits
      // The retry is another transaction: fresh values for its appends, so that it is told
      // apart from an attempt that may have committed after all.
      for (MicroOp& op : ops)
        if (op.kind == MicroOp::Kind::kAppend) op.value = fresh_value(id);
    }
  }

  PacedClients pacing_;
  int64_t active_keys_;
  int64_t ops_max_;
  std::string prefix_;
  int64_t appends_ = 0;     // appends planned so far: slides the active keys
  int64_t next_value_ = 0;  // the last value handed out
  checkers::History history_;
  int64_t committed_in_graph_ = 0;
  int64_t edges_ = 0;
  std::optional<Waiting> waiting_;
};

}  // namespace

std::unique_ptr<Workload> make_list_append_workload(WorkloadOptions& options) {
  return std::make_unique<ListAppendWorkload>(options);
}

}  // namespace workloads
