#include "workloads/checkers/serial_order_checker.h"

#include <algorithm>
#include <map>
#include <tuple>

#include <fmt/format.h>

namespace workloads::checkers {

namespace {

using Model = std::map<std::string, std::string>;
constexpr size_t kViolationsMax = 20;

std::string printable(const std::string& s) {
  std::string out;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    out += u >= 0x20 && u < 0x7f && c != '\\' ? std::string(1, c) : fmt::format("\\x{:02x}", u);
  }
  return out;
}

std::string value_text(const std::optional<std::string>& v) {
  return v ? "'" + printable(*v) + "'" : "absent";
}

std::string rows_text(const std::vector<std::pair<std::string, std::string>>& rows) {
  std::string out = "[";
  for (const auto& [k, v] : rows) out += fmt::format("{}{}={}", out.size() > 1 ? " " : "", printable(k), printable(v));
  return out + "]";
}

// `existing` (absent: zeros), cut or zero-padded to the operand's width, plus the operand, as
// little-endian numbers of that width.
std::string add(const std::optional<std::string>& existing, const std::string& operand) {
  std::string v(operand.size(), '\0');
  if (existing) std::copy_n(existing->begin(), std::min(existing->size(), v.size()), v.begin());
  unsigned carry = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    const unsigned sum = static_cast<uint8_t>(v[i]) + static_cast<unsigned>(static_cast<uint8_t>(operand[i])) + carry;
    v[i] = static_cast<char>(sum & 0xff);
    carry = sum >> 8;
  }
  return v;
}

void apply(Model& m, const SerialOp& op) {
  switch (op.kind) {
    case SerialOp::Kind::kSet:
      m[op.key] = op.value;
      break;
    case SerialOp::Kind::kClear:
      m.erase(op.key);
      break;
    case SerialOp::Kind::kClearRange:
      if (op.key < op.end) m.erase(m.lower_bound(op.key), m.lower_bound(op.end));
      break;
    case SerialOp::Kind::kAdd: {
      const auto it = m.find(op.key);
      m[op.key] = add(it == m.end() ? std::nullopt : std::optional(it->second), op.value);
      break;
    }
    case SerialOp::Kind::kGet:
    case SerialOp::Kind::kGetRange:
      break;
  }
}

// Whether the read `op` returned what `view` holds; if not, what it should have.
std::optional<std::string> mismatch(const Model& view, const SerialOp& op) {
  if (op.kind == SerialOp::Kind::kGet) {
    const auto it = view.find(op.key);
    const std::optional<std::string> want = it == view.end() ? std::nullopt : std::optional(it->second);
    if (want == op.got) return std::nullopt;
    return fmt::format("get '{}' returned {}, the model holds {}", printable(op.key), value_text(op.got),
                       value_text(want));
  }
  std::vector<std::pair<std::string, std::string>> want;
  if (op.key < op.end) {
    auto lo = view.lower_bound(op.key), hi = view.lower_bound(op.end);
    for (auto it = lo; it != hi; ++it) want.emplace_back(it->first, it->second);
    if (op.reverse) std::reverse(want.begin(), want.end());
    if (op.limit > 0 && want.size() > static_cast<size_t>(op.limit)) want.resize(static_cast<size_t>(op.limit));
  }
  if (want == op.rows) return std::nullopt;
  return fmt::format("get_range ['{}', '{}') limit {}{} returned {}, the model holds {}", printable(op.key),
                     printable(op.end), op.limit, op.reverse ? " reverse" : "", rows_text(op.rows),
                     rows_text(want));
}

bool is_read(const SerialOp& op) {
  return op.kind == SerialOp::Kind::kGet || op.kind == SerialOp::Kind::kGetRange;
}

// Checks t's reads that returned against `snapshot` with t's own earlier writes on top; the
// first mismatch, if any.
std::optional<std::string> first_mismatch(const Model& snapshot, const SerialTransaction& t, size_t* checked) {
  bool writes_seen = false;
  Model view;
  const Model* at = &snapshot;
  for (const SerialOp& op : t.ops) {
    if (!is_read(op)) {
      if (!writes_seen) {
        view = snapshot;  // copied only once the transaction writes
        at = &view;
        writes_seen = true;
      }
      apply(view, op);
      continue;
    }
    if (!op.returned) continue;
    if (checked != nullptr) ++*checked;
    if (auto why = mismatch(*at, op)) return why;
  }
  return std::nullopt;
}

}  // namespace

SerialOrderReport check_serial_order(const std::vector<SerialTransaction>& ts) {
  SerialOrderReport report;
  const auto violation = [&report](std::string why) {
    if (report.violations.size() < kViolationsMax) report.violations.push_back(std::move(why));
  };
  std::vector<size_t> committed;
  for (size_t i = 0; i < ts.size(); ++i)
    if (ts[i].committed_at) committed.push_back(i);
  std::sort(committed.begin(), committed.end(),
            [&](size_t a, size_t b) { return std::tie(*ts[a].committed_at, a) < std::tie(*ts[b].committed_at, b); });
  report.committed = committed.size();
  for (size_t k = 1; k < committed.size(); ++k)
    if (*ts[committed[k]].committed_at == *ts[committed[k - 1]].committed_at)
      violation(fmt::format("T{} and T{} share the versionstamp {}/{}", committed[k - 1], committed[k],
                            ts[committed[k]].committed_at->first, ts[committed[k]].committed_at->second));

  // 1. Every transaction's reads against the database at its read version.
  std::vector<size_t> readers;
  for (size_t i = 0; i < ts.size(); ++i)
    if (ts[i].read_version >= 0) readers.push_back(i);
  std::sort(readers.begin(), readers.end(), [&](size_t a, size_t b) {
    return std::tie(ts[a].read_version, a) < std::tie(ts[b].read_version, b);
  });
  Model model;
  size_t applied = 0;
  for (size_t r : readers) {
    const SerialTransaction& t = ts[r];
    while (applied < committed.size() && ts[committed[applied]].committed_at->first <= t.read_version) {
      for (const SerialOp& op : ts[committed[applied]].ops) apply(model, op);
      ++applied;
    }
    if (t.committed_at && t.committed_at->first <= t.read_version)
      violation(fmt::format("T{} committed at {}, not after its read version {}", r, t.committed_at->first,
                            t.read_version));
    if (auto why = first_mismatch(model, t, &report.reads_checked))
      violation(fmt::format("T{} (client {}) read at version {} what the database never held then: {}", r,
                            t.client, t.read_version, *why));
  }

  // 2. Each committed transaction's reads against the database just before it.
  model.clear();
  for (size_t c : committed) {
    const SerialTransaction& t = ts[c];
    if (t.read_version >= 0) {
      if (auto why = first_mismatch(model, t, nullptr))
        violation(fmt::format("T{} (client {}) committed at {}/{} though what it read at {} changed before: {}",
                              c, t.client, t.committed_at->first, t.committed_at->second, t.read_version, *why));
    }
    for (const SerialOp& op : t.ops) apply(model, op);
  }

  // 3. Real time: a transaction begun after another one completed is ordered after it, so it
  // reads at or after that one's place: its commit version if it committed, else its read
  // version (a read-only one is placed there).
  const auto place = [&](size_t i) { return ts[i].committed_at ? ts[i].committed_at->first : ts[i].read_version; };
  std::vector<size_t> acknowledged;
  for (size_t i = 0; i < ts.size(); ++i)
    if (ts[i].acknowledged_ns >= 0 && (ts[i].committed_at || ts[i].read_version >= 0)) acknowledged.push_back(i);
  std::sort(acknowledged.begin(), acknowledged.end(), [&](size_t a, size_t b) {
    return std::tie(ts[a].acknowledged_ns, a) < std::tie(ts[b].acknowledged_ns, b);
  });
  std::vector<size_t> by_start = readers;
  std::sort(by_start.begin(), by_start.end(), [&](size_t a, size_t b) {
    return std::tie(ts[a].invoked_ns, a) < std::tie(ts[b].invoked_ns, b);
  });
  size_t next_ack = 0;
  std::optional<size_t> newest;  // the completed transaction with the highest place so far
  for (size_t r : by_start) {
    while (next_ack < acknowledged.size() && ts[acknowledged[next_ack]].acknowledged_ns < ts[r].invoked_ns) {
      const size_t a = acknowledged[next_ack++];
      if (!newest || place(a) > place(*newest)) newest = a;
    }
    if (newest && ts[r].read_version < place(*newest))
      violation(fmt::format("T{} began after T{} completed (placed at {}), yet read at {}", r, *newest,
                            place(*newest), ts[r].read_version));
  }
  return report;
}

}  // namespace workloads::checkers
