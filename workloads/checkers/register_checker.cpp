#include "workloads/checkers/register_checker.h"

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_set>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace workloads::checkers {

namespace {

using Value = std::optional<int64_t>;  // nullopt: never written

struct Op {
  size_t transaction;
  bool write;
  Value value;  // written, or read
  int64_t invoked_ns;
  int64_t completed_ns;  // Transaction::kNotYet if unknown
  bool unknown;
};

std::string value_text(const Value& v) { return v ? fmt::format("{}", *v) : "nil"; }

std::string op_text(const Op& op) {
  return fmt::format("T{} {} {}", op.transaction, op.write ? "wrote" : "read", value_text(op.value));
}

// The search over one key's operations: a list of their invocations and completions in time
// order, from which placed operations are lifted out (and put back in the same place when the
// search backs up).
class Search {
 public:
  explicit Search(std::vector<Op> ops) : ops_(std::move(ops)) {
    // (time, 0 = invocation / 1 = completion, op): at equal times an invocation comes first, so
    // operations that only touch are taken as concurrent.
    std::vector<std::tuple<int64_t, int, size_t>> events;
    for (size_t i = 0; i < ops_.size(); ++i) {
      events.emplace_back(ops_[i].invoked_ns, 0, i);
      events.emplace_back(ops_[i].unknown ? std::numeric_limits<int64_t>::max() : ops_[i].completed_ns, 1, i);
    }
    std::sort(events.begin(), events.end());
    entries_.push_back({false, 0, kNone, 1});  // the head
    call_of_.resize(ops_.size());
    return_of_.resize(ops_.size());
    for (const auto& [ns, completion, op] : events) {
      const size_t at = entries_.size();
      entries_.push_back({completion == 0, op, at - 1, at + 1});
      (completion == 0 ? call_of_ : return_of_)[op] = at;
    }
    entries_.back().next = kNone;
  }

  enum class Result { kLinearizable, kNot, kUndecided };

  Result run(uint64_t steps_max) {
    std::vector<std::pair<size_t, Value>> stack;  // (the call entry placed, the state before)
    std::vector<bool> placed(ops_.size());
    std::unordered_set<std::string> tried;  // (placed set, state) already explored
    Value state;
    size_t entry = entries_[0].next;
    for (uint64_t steps = 0;; ++steps) {
      if (entry == kNone) return Result::kLinearizable;
      const Entry& e = entries_[entry];
      // Only unknown operations' completions are left after this one: all others are placed.
      if (!e.call && ops_[e.op].unknown) return Result::kLinearizable;
      if (steps >= steps_max) return Result::kUndecided;
      if (e.call) {
        const Op& op = ops_[e.op];
        if (op.write || op.value == state) {
          const Value next = op.write ? op.value : state;
          placed[e.op] = true;
          if (tried.insert(memo(placed, next)).second) {
            stack.emplace_back(entry, state);
            state = next;
            lift(e.op);
            entry = entries_[0].next;
            continue;
          }
          placed[e.op] = false;
        }
        entry = e.next;
        continue;
      }
      // An operation completed before being placed: back up.
      if (stack.size() >= deepest_) {
        deepest_ = stack.size();
        blocked_ = e.op;
        state_when_blocked_ = state;
      }
      if (stack.empty()) return Result::kNot;
      const auto [call, before] = stack.back();
      stack.pop_back();
      state = before;
      placed[entries_[call].op] = false;
      unlift(entries_[call].op);
      entry = entries_[call].next;
    }
  }

  std::string explain() const {
    const Op& op = ops_[blocked_];
    return fmt::format(
        "{} operations, no order works: at best {} placed, then {} (invoked {:.6f}s) could not "
        "be, the register then holding {}",
        ops_.size(), deepest_, op_text(op), static_cast<double>(op.invoked_ns) / 1e9,
        value_text(state_when_blocked_));
  }
  size_t blocked_transaction() const { return ops_[blocked_].transaction; }

 private:
  static constexpr size_t kNone = std::numeric_limits<size_t>::max();
  struct Entry {
    bool call;
    size_t op;
    size_t prev, next;
  };

  void unlink(size_t at) {
    Entry& e = entries_[at];
    entries_[e.prev].next = e.next;
    if (e.next != kNone) entries_[e.next].prev = e.prev;
  }
  void relink(size_t at) {
    Entry& e = entries_[at];
    entries_[e.prev].next = at;
    if (e.next != kNone) entries_[e.next].prev = at;
  }
  // Lifted in the order call, return; put back in the reverse order.
  void lift(size_t op) {
    unlink(call_of_[op]);
    unlink(return_of_[op]);
  }
  void unlift(size_t op) {
    relink(return_of_[op]);
    relink(call_of_[op]);
  }

  static std::string memo(const std::vector<bool>& placed, const Value& state) {
    std::string out((placed.size() + 7) / 8 + 9, '\0');
    for (size_t i = 0; i < placed.size(); ++i)
      if (placed[i]) out[i / 8] = static_cast<char>(out[i / 8] | (1 << (i % 8)));
    const size_t at = (placed.size() + 7) / 8;
    out[at] = state.has_value() ? 1 : 0;
    const auto v = static_cast<uint64_t>(state.value_or(0));
    for (int b = 0; b < 8; ++b) out[at + 1 + static_cast<size_t>(b)] = static_cast<char>(v >> (8 * b));
    return out;
  }

  std::vector<Op> ops_;
  std::vector<Entry> entries_;
  std::vector<size_t> call_of_, return_of_;
  size_t deepest_ = 0;
  size_t blocked_ = 0;
  Value state_when_blocked_;
};

}  // namespace

RegisterReport check_registers(const History& history) {
  RegisterReport report;
  std::map<std::string, std::vector<Op>> by_key;
  const std::vector<Transaction>& ts = history.transactions();
  for (size_t i = 0; i < ts.size(); ++i) {
    const Transaction& t = ts[i];
    if (t.ops.size() != 1 ||
        (t.ops[0].kind != MicroOp::Kind::kRead && t.ops[0].kind != MicroOp::Kind::kWrite)) {
      report.malformed.push_back(fmt::format("T{}: not one read or one write", i));
      continue;
    }
    const MicroOp& m = t.ops[0];
    if (t.outcome == Outcome::kFailed) continue;  // did not happen
    const bool write = m.kind == MicroOp::Kind::kWrite;
    const bool unknown = t.outcome == Outcome::kUnknown;
    if (!write && unknown) continue;  // a read whose answer nobody got
    if (!write && m.values.size() > 1) {
      report.malformed.push_back(fmt::format("T{}: a read of more than one value", i));
      continue;
    }
    Value value;
    if (write) value = m.value;
    else if (!m.values.empty()) value = m.values[0];
    by_key[m.key].push_back({i, write, value, t.invoked_ns, t.completed_ns, unknown});
    ++report.operations;
  }
  report.keys = by_key.size();
  for (auto& [key, all] : by_key) {
    // With unique values, an unknown write nobody read can always be left out (it may not have
    // happened): dropping those keeps the search small, as each one left in is concurrent with
    // everything after its invocation. And a read of a value no remaining write made needs no
    // search at all.
    std::set<int64_t> read_values, written;
    for (const Op& op : all)
      if (!op.write && op.value) read_values.insert(*op.value);
    std::vector<Op> ops;
    for (Op& op : all) {
      if (op.write && op.unknown && read_values.count(*op.value) == 0) continue;
      if (op.write) written.insert(*op.value);
      ops.push_back(std::move(op));
    }
    const auto phantom = std::find_if(ops.begin(), ops.end(), [&](const Op& op) {
      return !op.write && op.value && written.count(*op.value) == 0;
    });
    if (phantom != ops.end()) {
      report.violations.push_back({key, {phantom->transaction},
                                   fmt::format("key {:?}: {} (invoked {:.6f}s), a value no write that may have "
                                               "happened wrote",
                                               key, op_text(*phantom),
                                               static_cast<double>(phantom->invoked_ns) / 1e9)});
      continue;
    }
    Search search(std::move(ops));
    switch (search.run(RegisterReport::kStepsMax)) {
      case Search::Result::kLinearizable:
        break;
      case Search::Result::kUndecided:
        report.undecided.push_back(key);
        break;
      case Search::Result::kNot:
        report.violations.push_back(
            {key, {search.blocked_transaction()}, fmt::format("key {:?}: {}", key, search.explain())});
        break;
    }
  }
  return report;
}

}  // namespace workloads::checkers
