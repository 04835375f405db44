#include "workloads/checkers/history.h"

#include <algorithm>
#include <map>
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
  ASSERT_EQ(t.ended_ns, Transaction::kNotYet);
  ASSERT_GE(now_ns, t.invoked_ns);
  ASSERT_EQ(ops.size(), t.ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    ASSERT(ops[i].kind == t.ops[i].kind && ops[i].key == t.ops[i].key &&
           ops[i].value == t.ops[i].value);
  }
  t.outcome = outcome;
  t.ended_ns = now_ns;
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

void History::add_metrics(const std::string& prefix,
                          std::vector<std::pair<std::string, double>>& out) const {
  size_t ok = 0, failed = 0, unknown = 0;
  for (const Transaction& t : transactions_) {
    ok += t.outcome == Outcome::kOk;
    failed += t.outcome == Outcome::kFailed;
    unknown += t.outcome == Outcome::kUnknown;
  }
  out.emplace_back(prefix + "Committed", static_cast<double>(ok));
  out.emplace_back(prefix + "Failed", static_cast<double>(failed));
  out.emplace_back(prefix + "Unknown", static_cast<double>(unknown));
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
  uint32_t clients = 0;
  for (size_t i = 0; i < transactions_.size(); ++i) {
    const Transaction& t = transactions_[i];
    events.emplace_back(t.invoked_ns, 0, i);
    last_ns = std::max(last_ns, t.invoked_ns);
    clients = std::max(clients, t.client + 1);
    const int64_t ended = t.completed_ns != Transaction::kNotYet ? t.completed_ns : t.ended_ns;
    if (ended != Transaction::kNotYet) last_ns = std::max(last_ns, ended);
  }
  for (size_t i = 0; i < transactions_.size(); ++i) {
    const Transaction& t = transactions_[i];
    const int64_t ended = t.completed_ns != Transaction::kNotYet ? t.completed_ns : t.ended_ns;
    events.emplace_back(ended != Transaction::kNotYet ? ended : last_ns, 1, i);
  }
  std::stable_sort(events.begin(), events.end());

  std::vector<uint64_t> process_of_client(clients);
  for (uint32_t c = 0; c < clients; ++c) process_of_client[c] = c;
  uint64_t next_process = clients;
  std::vector<uint64_t> process_of(transactions_.size());
  std::vector<bool> done(transactions_.size());
  std::map<uint64_t, size_t> open;  // process -> its transaction not yet completed
  std::string out = "[\n";
  size_t index = 0;
  const auto emit = [&](int64_t ns, bool completion, size_t i) {
    const Transaction& t = transactions_[i];
    const char* type = ":invoke";
    if (completion) {
      type = t.outcome == Outcome::kOk ? ":ok" : t.outcome == Outcome::kFailed ? ":fail" : ":info";
    }
    out += fmt::format(" {{:type {}, :f :txn, :value {}, :time {}, :process {}, :index {}}}\n", type,
                       edn_ops(t.ops, completion && t.outcome == Outcome::kOk), ns, process_of[i],
                       index++);
  };
  const auto complete = [&](int64_t ns, size_t i) {
    done[i] = true;
    open.erase(process_of[i]);
    emit(ns, true, i);
    // After an :info the operation may still take effect: its client goes on as a new process.
    const Transaction& t = transactions_[i];
    if (t.outcome != Outcome::kOk && t.outcome != Outcome::kFailed &&
        process_of_client[t.client] == process_of[i])
      process_of_client[t.client] = next_process++;
  };
  for (const auto& [ns, completion, i] : events) {
    if (completion != 0) {
      if (!done[i]) complete(ns, i);
      continue;
    }
    const uint32_t client = transactions_[i].client;
    const auto busy = open.find(process_of_client[client]);
    if (busy != open.end()) {
      const Transaction& before = transactions_[busy->second];
      const int64_t ended = before.completed_ns != Transaction::kNotYet ? before.completed_ns : before.ended_ns;
      if (ended == ns) {
        complete(ns, busy->second);  // ended at this very time: before the client's next operation
      } else {
        process_of_client[client] = next_process++;  // overlapping operations of one client
      }
    }
    process_of[i] = process_of_client[client];
    open[process_of[i]] = i;
    emit(ns, false, i);
  }
  return out + "]\n";
}

}  // namespace workloads::checkers
