// AtomicOps — every atomic operation, checked against its own log. Each transaction applies one
// random atomic operation (add, bit and/or/xor, max, min, byte max/min, append-if-fits,
// compare-and-clear) to a key of that operation's stretch and, in the same transaction, writes
// its operand to a log key made unique and ordered by a versionstamp. check() replays each key's
// log, in versionstamp (commit) order, from nothing: the result must be what the key holds. A
// retry after commit_unknown_result that commits twice logs twice, so it still adds up; a torn
// transaction, a lost or reordered mutation, an operation applied against the wrong old value or
// a misplaced versionstamp does not.
//
// Options: testDuration (s, 10), nodeCount (keys per operation, 4), clients (4),
// transactionsPerSecond (100), keyPrefix ("atomicops/").

#include <fmt/format.h>

#include <iterator>
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

using roles::MutationType;

constexpr MutationType kOperations[] = {
    MutationType::kAdd,          MutationType::kBitAnd, MutationType::kBitOr,   MutationType::kBitXor,
    MutationType::kAppendIfFits, MutationType::kMax,    MutationType::kMin,     MutationType::kByteMin,
    MutationType::kByteMax,      MutationType::kCompareAndClear};

class AtomicOpsWorkload final : public Workload {
 public:
  explicit AtomicOpsWorkload(WorkloadOptions& o)
      : duration_(o.get_seconds("testDuration", 10.0)),
        nodes_(o.get_int("nodeCount", 4)),
        clients_(o.get_int("clients", 4)),
        rate_(o.get_double("transactionsPerSecond", 100.0)),
        prefix_(o.get_key_prefix("atomicops/")) {
    o.require(nodes_ >= 1 && nodes_ <= 10'000, "nodeCount", "must be in [1, 10000]");
    o.require(clients_ >= 1 && clients_ <= 1000, "clients", "must be in [1, 1000]");
    o.require(rate_ > 0 && rate_ <= 1e6, "transactionsPerSecond", "must be in (0, 1e6]");
  }

  std::string name() const override { return "AtomicOps"; }

  void setup(WorkloadContext& ctx) override {
    database(ctx).run([&](client::Transaction& t) { t.clear_range(prefix_, prefix_ + "\xff"); });
  }

  void start(WorkloadContext& ctx) override {
    client::Database& db = database(ctx);
    const flow::Time end = flow::now() + duration_;
    std::vector<flow::Future<flow::Void>> actors;
    for (int64_t c = 0; c < clients_; ++c)
      actors.push_back(flow::spawn([this, &db, end] {
        auto& rng = flow::deterministic_random();
        const flow::Duration gap = flow::from_seconds(static_cast<double>(clients_) / rate_);
        while (flow::now() < end) {
          flow::wait(flow::delay(rng.random_duration(flow::Duration(0), 2 * gap)));
          const size_t op = static_cast<size_t>(rng.random_int(0, std::size(kOperations)));
          const int64_t k = rng.random_int(0, nodes_);
          const std::string operand = random_operand(kOperations[op]);
          db.run([&](client::Transaction& t) {
            t.atomic_op(kOperations[op], value_key(op, k), operand);
            t.atomic_op(MutationType::kSetVersionstampedKey, log_key_template(op, k), operand);
          });
          ++committed_;
        }
      }));
    flow::wait(flow::wait_all(actors));
  }

  bool check(WorkloadContext& ctx) override {
    client::Database& db = database(ctx);
    waiting_ = Waiting{"check", "a read of every key and its log", std::nullopt};
    return db.run([&](client::Transaction& t) {
      for (size_t op = 0; op < std::size(kOperations); ++op) {
        for (int64_t k = 0; k < nodes_; ++k) {
          std::optional<std::string> replayed;
          const std::string log = log_prefix(op, k);
          for (const client::KeyValue& entry : t.get_range(log, log + "\xff").rows) {
            if (entry.key.size() != log.size() + 10) return fail("AtomicOpsBadLogKey", entry.key, op);
            replayed = roles::apply_atomic(kOperations[op],
                                           replayed ? std::optional<std::string_view>(*replayed) : std::nullopt,
                                           entry.value, roles::value_bytes_max);
          }
          if (t.get(value_key(op, k)) != replayed) return fail("AtomicOpsValueDiffers", value_key(op, k), op);
        }
      }
      return true;
    });
  }

  void metrics(std::vector<std::pair<std::string, double>>& out) const override {
    out.emplace_back("AtomicOpsTransactions", static_cast<double>(committed_));
  }
  std::optional<Waiting> waiting_on() const override { return waiting_; }
  std::vector<std::string> key_hints() const override { return {prefix_ + "v/", prefix_ + "l/"}; }

 private:
  std::string value_key(size_t op, int64_t k) const { return fmt::format("{}v/{:02}/{:05}", prefix_, op, k); }
  std::string log_prefix(size_t op, int64_t k) const { return fmt::format("{}l/{:02}/{:05}/", prefix_, op, k); }
  // The log key with a versionstamp placeholder after log_prefix, and its offset (4 bytes, little-endian).
  std::string log_key_template(size_t op, int64_t k) const {
    std::string key = log_prefix(op, k);
    const auto offset = static_cast<uint32_t>(key.size());
    key.append(10, '\0');
    for (int i = 0; i < 4; ++i) key += static_cast<char>((offset >> (8 * i)) & 0xff);
    return key;
  }

  static std::string random_operand(MutationType type) {
    auto& rng = flow::deterministic_random();
    // Short operands and a few values, so that max/min, compare-and-clear and the byte
    // operations often meet equal or ordered values.
    const size_t n = type == MutationType::kAppendIfFits ? static_cast<size_t>(rng.random_int(0, 5))
                                                         : static_cast<size_t>(rng.random_int(0, 9));
    std::string s(n, '\0');
    for (char& ch : s) ch = static_cast<char>(rng.random_int(0, 4) * 85);
    return s;
  }

  static bool fail(const char* event, const std::string& key, size_t op) {
    flow::TraceEvent(flow::SevError, event).detail("Key", key).detail("Operation", static_cast<int64_t>(kOperations[op]));
    return false;
  }

  flow::Duration duration_;
  int64_t nodes_;
  int64_t clients_;
  double rate_;
  std::string prefix_;
  int64_t committed_ = 0;
  std::optional<Waiting> waiting_;
};

}  // namespace

std::unique_ptr<Workload> make_atomic_ops_workload(WorkloadOptions& options) {
  return std::make_unique<AtomicOpsWorkload>(options);
}

}  // namespace workloads
