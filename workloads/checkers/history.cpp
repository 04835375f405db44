#include "workloads/checkers/history.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include <fmt/format.h>

#include "flow/assert.h"

namespace workloads::checkers {

size_t History::invoke(uint32_t client, int64_t now_ns, std::vector<MicroOp> ops) {
  Transaction t;
  t.client = client;
  t.invoked_ns = now_ns;
  t.ops = std::move(ops);
  transactions_.push_back(std::move(t));
  return transactions_.size() - 1;
}

void History::complete(size_t index, int64_t now_ns, Outcome outcome, std::vector<MicroOp> ops,
                       int64_t read_version, int64_t commit_version) {
  ASSERT_LT(index, transactions_.size());
  Transaction& t = transactions_[index];
  ASSERT_EQ(t.completed_ns, Transaction::kNotYet);
  ASSERT_GE(now_ns, t.invoked_ns);
  ASSERT_EQ(ops.size(), t.ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    ASSERT(ops[i].kind == t.ops[i].kind && ops[i].key == t.ops[i].key &&
           ops[i].value == t.ops[i].value);
  }
  t.outcome = outcome;
  if (outcome != Outcome::kUnknown) t.completed_ns = now_ns;
  if (outcome == Outcome::kOk) t.ops = std::move(ops);
  t.read_version = read_version;
  t.commit_version = commit_version;
}

size_t History::add(Transaction t) {
  ASSERT(t.outcome == Outcome::kUnknown ? t.completed_ns == Transaction::kNotYet
                                        : t.completed_ns >= t.invoked_ns);
  transactions_.push_back(std::move(t));
  return transactions_.size() - 1;
}

namespace {

std::string edn_string(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u >= 0x20 && u < 0x7f) {
      out += c;
    } else {
      out += fmt::format("\\u{:04x}", u);  // bytes as code points, as Jepsen's readers take them
    }
  }
  return out + '"';
}

// `with_results`: reads show what they returned; otherwise nil (as at invocation).
std::string edn_ops(const std::vector<MicroOp>& ops, bool with_results) {
  std::string out = "[";
  for (const MicroOp& op : ops) {
    if (out.size() > 1) out += ' ';
    switch (op.kind) {
      case MicroOp::Kind::kAppend:
        out += fmt::format("[:append {} {}]", edn_string(op.key), op.value);
        break;
      case MicroOp::Kind::kWrite:
        out += fmt::format("[:w {} {}]", edn_string(op.key), op.value);
        break;
      case MicroOp::Kind::kReadList: {
        std::string list = "nil";
        if (with_results) list = fmt::format("[{}]", fmt::join(op.values, " "));
        out += fmt::format("[:r {} {}]", edn_string(op.key), list);
        break;
      }
      case MicroOp::Kind::kRead: {
        std::string value = "nil";
        if (with_results && !op.values.empty()) value = fmt::format("{}", op.values.front());
        out += fmt::format("[:r {} {}]", edn_string(op.key), value);
        break;
      }
    }
  }
  return out + "]";
}

}  // namespace

std::string History::to_edn() const {
  // (time, 0 for invoke / 1 for completion, transaction index)
  std::vector<std::tuple<int64_t, int, size_t>> events;
  int64_t last_ns = 0;
  for (size_t i = 0; i < transactions_.size(); ++i) {
    const Transaction& t = transactions_[i];
    events.emplace_back(t.invoked_ns, 0, i);
    last_ns = std::max(last_ns, t.invoked_ns);
    if (t.completed_ns != Transaction::kNotYet) {
      last_ns = std::max(last_ns, t.completed_ns);
      events.emplace_back(t.completed_ns, 1, i);
    }
  }
  for (size_t i = 0; i < transactions_.size(); ++i)
    if (transactions_[i].completed_ns == Transaction::kNotYet) events.emplace_back(last_ns, 1, i);
  std::stable_sort(events.begin(), events.end());
  std::string out = "[\n";
  for (size_t e = 0; e < events.size(); ++e) {
    const auto& [ns, completion, i] = events[e];
    const Transaction& t = transactions_[i];
    const char* type = ":invoke";
    if (completion != 0) {
      type = t.outcome == Outcome::kOk ? ":ok" : t.outcome == Outcome::kFailed ? ":fail" : ":info";
    }
    out += fmt::format(" {{:type {}, :f :txn, :value {}, :time {}, :process {}, :index {}}}\n",
                       type, edn_ops(t.ops, completion != 0 && t.outcome == Outcome::kOk), ns,
                       t.client, e);
  }
  return out + "]\n";
}

}  // namespace workloads::checkers
