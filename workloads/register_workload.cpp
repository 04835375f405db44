// Register — Jepsen's linearizable-register test, checked inside the simulator
// (workloads/checkers/register_checker.h). Clients run single-operation transactions on a few
// keys: write a unique number (a set) or read the key (a get, or a range read of the one key).
// Every attempt is recorded with its invocation, completion and outcome (ok; failed: surely not
// committed; unknown: commit_unknown_result). After the faults heal, check() runs the checker,
// key by key: a key whose operations no single register could have gone through is a SevError
// event naming it, the operation that could not be placed and the value the register held.
//
// Keys slide as in ListAppend: a key takes about 16 writes while among the `activeKeys` newest,
// which keeps each key's search small.
//
// Options: testDuration (s, 10), clients (4), transactionsPerSecond (100, over all clients),
// activeKeys (3), keyPrefix ("reg/").

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <string>
#include <vector>

#include "client/database.h"
#include "flow/actor.h"
#include "flow/combinators.h"
#include "flow/deterministic_random.h"
#include "flow/trace_event.h"
#include "workloads/checkers/history.h"
#include "workloads/checkers/register_checker.h"
#include "workloads/database_cluster.h"
#include "workloads/paced_clients.h"
#include "workloads/workload.h"

namespace workloads {
namespace {

using checkers::MicroOp;
using checkers::Outcome;

constexpr int64_t kWritesPerKey = 16;
constexpr size_t kViolationsReported = 10;


class RegisterWorkload final : public Workload {
 public:
  explicit RegisterWorkload(WorkloadOptions& o)
      : pacing_(o),
        active_keys_(o.get_int("activeKeys", 3)),
        prefix_(o.get_key_prefix("reg/")) {
    o.require(active_keys_ >= 1 && active_keys_ <= 1000, "activeKeys", "must be in [1, 1000]");
  }

  std::string name() const override { return "Register"; }

  void start(WorkloadContext& ctx) override {
    client::Database& db = database(ctx);
    pacing_.run([this, &db](uint32_t client) { transaction(db, client); });
  }

  bool check(WorkloadContext&) override {
    const checkers::RegisterReport report = checkers::check_registers(history_);
    keys_ = static_cast<int64_t>(report.keys);
    for (size_t i = 0; i < std::min(report.violations.size(), kViolationsReported); ++i) {
      flow::TraceEvent(flow::SevError, "RegisterViolation")
          .detail("Key", report.violations[i].key)
          .detail("Explanation", report.violations[i].explanation)
          .detail("Violations", report.violations.size());
    }
    for (const std::string& m : report.malformed)
      flow::TraceEvent(flow::SevError, "RegisterHistoryMalformed").detail("Why", m);
    // Undecided is no proof either way; with keys this small it means a checker that cannot do
    // its job, which a sweep must hear of.
    for (const std::string& key : report.undecided)
      flow::TraceEvent(flow::SevError, "RegisterCheckUndecided").detail("Key", key);
    return report.valid() && report.undecided.empty();
  }

  void metrics(std::vector<std::pair<std::string, double>>& out) const override {
    history_.add_metrics("Register", out);
    out.emplace_back("RegisterKeys", static_cast<double>(keys_));
  }
  std::vector<std::string> key_hints() const override { return {prefix_}; }
  std::string history_edn() const override { return history_.to_edn(); }

 private:
  std::string key(int64_t k) const { return fmt::format("{}{:08}", prefix_, k); }

  // A stored value as a number; a value no write makes is kept as one nobody wrote (-1), so the
  // checker reports the read.
  static std::vector<int64_t> parse(const std::optional<std::string>& stored) {
    if (!stored) return {};
    int64_t v = -1;
    const auto [end, error] = std::from_chars(stored->data(), stored->data() + stored->size(), v);
    if (error != std::errc() || end != stored->data() + stored->size() || v < 0) v = -1;
    return {v};
  }

  // Runs one single-operation transaction to its end, each attempt recorded (a retry is a new
  // operation, with a new value if it writes). May suspend.
  void transaction(client::Database& db, uint32_t id) {
    auto& rng = flow::deterministic_random();
    const std::string k = key(writes_ / kWritesPerKey + rng.random_int(0, active_keys_));
    const bool write = rng.coinflip();
    client::Transaction t(db);
    for (;;) {
      MicroOp op{write ? MicroOp::Kind::kWrite : MicroOp::Kind::kRead, k, 0, {}};
      if (write) {
        ++writes_;
        op.value = ++next_value_;
      }
      const size_t index = history_.invoke(id, now_ns(), {op});
      bool committing = false;
      std::optional<flow::Error> failed;
      try {
        if (write) {
          t.set(k, std::to_string(op.value));
        } else if (rng.coinflip()) {
          op.values = parse(t.get(k));
        } else {
          const auto rows = t.get_range(k, k + '\0').rows;
          op.values = parse(rows.empty() ? std::nullopt : std::optional(rows[0].value));
        }
        const roles::Version read_version = t.get_read_version();
        committing = true;
        t.commit();
        history_.complete(index, now_ns(), Outcome::kOk, {op}, read_version,
                          t.get_committed_version());
        break;
      } catch (const flow::Error& e) {
        if (e.code() == flow::ErrorCode::operation_cancelled) throw;
        const bool unknown = committing && e.code() == flow::ErrorCode::commit_unknown_result;
        op.values.clear();
        history_.complete(index, now_ns(), unknown ? Outcome::kUnknown : Outcome::kFailed, {op});
        failed = e;
      }
      t.on_error(*failed);  // outside the catch: it waits
    }
  }

  PacedClients pacing_;
  int64_t active_keys_;
  std::string prefix_;
  int64_t writes_ = 0;      // writes planned so far: slides the active keys
  int64_t next_value_ = 0;  // the last value written
  int64_t keys_ = 0;
  checkers::History history_;
};

}  // namespace

std::unique_ptr<Workload> make_register_workload(WorkloadOptions& options) {
  return std::make_unique<RegisterWorkload>(options);
}

}  // namespace workloads
