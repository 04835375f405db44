// Serializability — FoundationDB's workload of that name, in this project's terms: clients run
// random transactions of gets, range reads (limits, reverse), sets, clears, clear ranges and adds
// over a few keys, each attempt recorded with its read version, what its reads returned and, if
// it wrote and committed, its versionstamp. Every writing attempt also writes a marker key with
// its versionstamp (a versionstamped value), so that an attempt whose commit was unknown is
// settled at the end: committed where its marker says, or not at all. check() then runs the
// serial-order checker (workloads/checkers/serial_order_checker.h): each read against the
// database at its read version, each committed transaction's reads against the database just
// before its commit, and read versions against transactions completed before they began.
//
// Options: testDuration (s, 10), clients (4), transactionsPerSecond (100, over all clients),
// nodeCount (20), operationsPerTransaction (8, at most: 1 to it), keyPrefix ("ser/").

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/database.h"
#include "flow/actor.h"
#include "flow/combinators.h"
#include "flow/deterministic_random.h"
#include "flow/trace_event.h"
#include "roles/common/atomic.h"
#include "workloads/checkers/serial_order_checker.h"
#include "workloads/database_cluster.h"
#include "workloads/paced_clients.h"
#include "workloads/workload.h"

namespace workloads {
namespace {

using checkers::SerialOp;
using checkers::SerialTransaction;


// (commit version, batch index) from a versionstamp's 10 big-endian bytes.
std::pair<int64_t, uint16_t> stamp_order(const uint8_t* b) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | b[i];
  return {static_cast<int64_t>(v), static_cast<uint16_t>((b[8] << 8) | b[9])};
}

class SerializabilityWorkload final : public Workload {
 public:
  explicit SerializabilityWorkload(WorkloadOptions& o)
      : pacing_(o),
        nodes_(o.get_int("nodeCount", 20)),
        ops_max_(o.get_int("operationsPerTransaction", 8)),
        prefix_(o.get_key_prefix("ser/")) {
    o.require(nodes_ >= 1 && nodes_ <= 10'000, "nodeCount", "must be in [1, 10000]");
    o.require(ops_max_ >= 1 && ops_max_ <= 100, "operationsPerTransaction", "must be in [1, 100]");
  }

  std::string name() const override { return "Serializability"; }

  void start(WorkloadContext& ctx) override {
    client::Database& db = database(ctx);
    pacing_.run([this, &db](uint32_t client) { transaction(db, client); });
  }

  bool check(WorkloadContext& ctx) override {
    client::Database& db = database(ctx);
    // Settle the unknown commits by their markers.
    const std::vector<client::KeyValue> markers = db.run([&](client::Transaction& t) {
      return t.get_range(prefix_ + "m/", prefix_ + "m0").rows;
    });
    std::map<size_t, std::pair<int64_t, uint16_t>> marked;
    bool ok = true;
    for (const client::KeyValue& kv : markers) {
      // Read back from the database: a key or value no attempt wrote is reported, not trusted.
      const std::string_view id = std::string_view(kv.key).substr(prefix_.size() + 2);
      size_t index = 0;
      const auto [end, error] = std::from_chars(id.data(), id.data() + id.size(), index);
      if (error != std::errc() || end != id.data() + id.size() || kv.value.size() != 10 ||
          index >= attempts_.size()) {
        flow::TraceEvent(flow::SevError, "SerializabilityBadMarker").detail("Key", kv.key).detail("Bytes", kv.value.size());
        ok = false;
        continue;
      }
      marked[index] = stamp_order(reinterpret_cast<const uint8_t*>(kv.value.data()));
    }
    for (size_t i = 0; i < attempts_.size(); ++i) {
      SerialTransaction& t = attempts_[i];
      const auto m = marked.find(i);
      if (unknown_[i]) {
        if (m != marked.end()) t.committed_at = m->second;
        ++settled_;
      } else if (t.committed_at && (m == marked.end() || m->second != *t.committed_at)) {
        flow::TraceEvent(flow::SevError, "SerializabilityMarkerMismatch").detail("Attempt", i);
        ok = false;
      } else if (!t.committed_at && m != marked.end()) {
        flow::TraceEvent(flow::SevError, "SerializabilityFailedButMarked").detail("Attempt", i);
        ok = false;
      }
    }
    const checkers::SerialOrderReport report = checkers::check_serial_order(attempts_);
    reads_checked_ = static_cast<int64_t>(report.reads_checked);
    committed_ = static_cast<int64_t>(report.committed);
    for (const std::string& v : report.violations)
      flow::TraceEvent(flow::SevError, "SerializabilityViolation").detail("Explanation", v);
    return ok && report.valid();
  }

  void metrics(std::vector<std::pair<std::string, double>>& out) const override {
    out.emplace_back("SerializabilityAttempts", static_cast<double>(attempts_.size()));
    out.emplace_back("SerializabilityCommitted", static_cast<double>(committed_));
    out.emplace_back("SerializabilityReadsChecked", static_cast<double>(reads_checked_));
    out.emplace_back("SerializabilityUnknownSettled", static_cast<double>(settled_));
  }
  std::vector<std::string> key_hints() const override { return {prefix_ + "d/"}; }

 private:
  std::string key(int64_t k) const { return fmt::format("{}d/{:05}", prefix_, k); }
  std::string marker(size_t attempt) const { return fmt::format("{}m/{:010}", prefix_, attempt); }

  std::vector<SerialOp> plan() {
    auto& rng = flow::deterministic_random();
    std::vector<SerialOp> ops;
    const auto random_key = [&] { return key(rng.random_int(0, nodes_)); };
    const auto random_range = [&](SerialOp& op) {
      int64_t a = rng.random_int(0, nodes_ + 1), b = rng.random_int(0, nodes_ + 1);
      if (a > b) std::swap(a, b);
      op.key = key(a);
      op.end = key(b);
    };
    for (int64_t n = rng.random_int(1, ops_max_ + 1); n > 0; --n) {
      SerialOp op{};
      const int64_t pick = rng.random_int(0, 100);
      if (pick < 40) {
        op.kind = SerialOp::Kind::kGet;
        op.key = random_key();
      } else if (pick < 55) {
        op.kind = SerialOp::Kind::kGetRange;
        random_range(op);
        op.limit = rng.random_int(0, 6);
        op.reverse = rng.coinflip();
      } else if (pick < 75) {
        op.kind = SerialOp::Kind::kSet;
        op.key = random_key();
        op.value = fmt::format("v{}", rng.random_int(0, 1'000'000));
      } else if (pick < 80) {
        op.kind = SerialOp::Kind::kClear;
        op.key = random_key();
      } else if (pick < 85) {
        op.kind = SerialOp::Kind::kClearRange;
        random_range(op);
      } else {
        op.kind = SerialOp::Kind::kAdd;
        op.key = random_key();
        op.value.assign(static_cast<size_t>(rng.random_int(1, 9)), '\0');
        op.value[0] = static_cast<char>(rng.random_int(1, 256));
      }
      ops.push_back(std::move(op));
    }
    return ops;
  }

  static bool writes(const std::vector<SerialOp>& ops) {
    return std::any_of(ops.begin(), ops.end(), [](const SerialOp& op) {
      return op.kind != SerialOp::Kind::kGet && op.kind != SerialOp::Kind::kGetRange;
    });
  }

  // Runs one random transaction to its end, each attempt recorded. May suspend.
  void transaction(client::Database& db, uint32_t id) {
    const std::vector<SerialOp> planned = plan();
    const bool writer = writes(planned);
    client::Transaction t(db);
    for (;;) {
      const size_t index = attempts_.size();
      SerialTransaction attempt;
      attempt.client = id;
      attempt.invoked_ns = now_ns();
      attempt.ops = planned;
      attempts_.push_back(std::move(attempt));
      unknown_.push_back(false);
      std::vector<SerialOp> ops = planned;
      int64_t read_version = -1;
      bool committing = false;
      std::optional<flow::Error> failed;
      try {
        read_version = t.get_read_version();
        for (SerialOp& op : ops) run(t, op);
        if (writer) {
          std::string stamped(10, '\0');
          stamped += std::string(4, '\0');  // the placeholder's offset, 0, little-endian
          t.atomic_op(roles::MutationType::kSetVersionstampedValue, marker(index), stamped);
        }
        committing = true;
        t.commit();
      } catch (const flow::Error& e) {
        if (e.code() == flow::ErrorCode::operation_cancelled) throw;
        failed = e;
      }
      SerialTransaction& record = attempts_[index];
      record.read_version = read_version;
      record.ops = std::move(ops);
      if (!failed) {
        if (writer) record.committed_at = stamp_order(t.get_versionstamp().data());
        record.acknowledged_ns = now_ns();
        break;
      }
      unknown_[index] = committing && failed->code() == flow::ErrorCode::commit_unknown_result && writer;
      t.on_error(*failed);  // outside the catch: it waits
    }
  }

  // Runs one operation, recording what a read returned. May suspend.
  static void run(client::Transaction& t, SerialOp& op) {
    switch (op.kind) {
      case SerialOp::Kind::kGet:
        op.got = t.get(op.key);
        op.returned = true;
        break;
      case SerialOp::Kind::kGetRange: {
        if (!(op.key < op.end)) {  // an empty range: nothing to ask
          op.returned = true;
          break;
        }
        const client::RangeResult r = t.get_range(op.key, op.end, {.rows = op.limit, .bytes = 0, .reverse = op.reverse});
        for (const client::KeyValue& kv : r.rows) op.rows.emplace_back(kv.key, kv.value);
        op.returned = true;
        break;
      }
      case SerialOp::Kind::kSet:
        t.set(op.key, op.value);
        break;
      case SerialOp::Kind::kClear:
        t.clear(op.key);
        break;
      case SerialOp::Kind::kClearRange:
        if (op.key < op.end) t.clear_range(op.key, op.end);
        break;
      case SerialOp::Kind::kAdd:
        t.atomic_op(roles::MutationType::kAdd, op.key, op.value);
        break;
    }
  }

  PacedClients pacing_;
  int64_t nodes_;
  int64_t ops_max_;
  std::string prefix_;
  std::vector<SerialTransaction> attempts_;
  std::vector<bool> unknown_;  // by attempt: its commit's outcome was unknown
  int64_t reads_checked_ = 0;
  int64_t committed_ = 0;
  int64_t settled_ = 0;
};

}  // namespace

std::unique_ptr<Workload> make_serializability_workload(WorkloadOptions& options) {
  return std::make_unique<SerializabilityWorkload>(options);
}

}  // namespace workloads
