// An adversarial review of the client's read API (get_key, get_range with selectors and limits,
// read-your-writes, conflict ranges, cancel, bad inputs) against an in-memory model, over many
// shards with boundaries at and next to keys. The directed cases reproduce what the review
// broke (fixed since): backward selectors from past the readable keys, plain-key range reads
// that conflicted past their end, limited reads that conflicted on the far end's selector,
// reads their own writes decide that conflicted, a read that survived cancel() and reset().
// Randomized cases print their seed.
#include <doctest/doctest.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "client/database.h"
#include "client/transaction.h"
#include "flow/flow.h"
#include "roles/common/atomic.h"
#include "roles/common/limits.h"
#include "tests/roles/database_stack.h"

using client::KeySelector;
using client::KeyValue;
using client::RangeLimits;
using client::RangeResult;
using client::Transaction;
using roles_testing::outcome;

namespace {

using Stack = roles_testing::DatabaseStack;
using KV = std::map<std::string, std::string>;
std::string kMax = "\xff";  // the readable keys' end: \xff\xff with access_system_keys

std::string show(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') out += static_cast<char>(c);
    else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out + "\"";
}

struct Rng {
  std::mt19937_64 g;
  explicit Rng(uint64_t s) : g(s) {}
  int64_t uniform(int64_t lo, int64_t hi) {  // [lo, hi)
    return lo + static_cast<int64_t>(g() % static_cast<uint64_t>(hi - lo));
  }
  bool coin(int pct = 50) { return uniform(0, 100) < pct; }
  template <class T>
  const T& pick(const std::vector<T>& v) {
    return v[static_cast<size_t>(uniform(0, static_cast<int64_t>(v.size())))];
  }
};

std::vector<std::string> candidate_keys() {
  std::vector<std::string> c{"", "a"};
  const std::string letters = "bhmsx";
  for (char x : letters) {
    c.push_back(std::string(1, x));
    for (char y : letters) c.push_back(std::string{x, y});
  }
  const size_t n = c.size();
  for (size_t i = 0; i < n; ++i) c.push_back(c[i] + '\0');
  std::sort(c.begin(), c.end());
  c.erase(std::unique(c.begin(), c.end()), c.end());
  return c;
}

std::vector<std::string> random_splits(Rng& r, const std::vector<std::string>& c) {
  std::vector<std::string> s;
  // At most 6 shards: DatabaseStack puts every storage server on one simulated process, whose disk
  // fills (disk_full, RoleFailed) with a 7th server's queue files.
  const int n = static_cast<int>(r.uniform(3, 8));
  for (int i = 0; i < n; ++i) {
    std::string k = r.pick(c);
    if (r.coin(20)) k += '\x01';
    if (!k.empty()) s.push_back(k);
  }
  if (r.coin(30)) s.push_back("\xff");
  if (r.coin(20)) s.push_back("\xff/serverKeys/");
  std::sort(s.begin(), s.end());
  s.erase(std::unique(s.begin(), s.end()), s.end());
  while (s.size() > 5) s.erase(s.begin() + r.uniform(0, static_cast<int64_t>(s.size())));
  return s;
}

// --- a transaction's writes, applied to the model and to a Transaction ---
struct Op {
  enum Kind { kSet, kClear, kClearRange, kAtomic } kind;
  std::string a, b;
  roles::MutationType type = roles::MutationType::kAdd;
  std::string describe() const {
    switch (kind) {
      case kSet: return "t.set(" + show(a) + ", " + show(b) + ");";
      case kClear: return "t.clear(" + show(a) + ");";
      case kClearRange: return "t.clear_range(" + show(a) + ", " + show(b) + ");";
      case kAtomic:
        return "t.atomic_op(MutationType(" + std::to_string(static_cast<int>(type)) + "), " + show(a) + ", " +
               show(b) + ");";
    }
    return "";
  }
  bool covers(const std::string& k) const {
    if (kind == kClearRange) return a <= k && k < b;
    return k == a;
  }
};

void apply_op(KV& m, const Op& op) {
  switch (op.kind) {
    case Op::kSet: m[op.a] = op.b; break;
    case Op::kClear: m.erase(op.a); break;
    case Op::kClearRange: m.erase(m.lower_bound(op.a), m.lower_bound(op.b)); break;
    case Op::kAtomic: {
      const auto it = m.find(op.a);
      std::optional<std::string_view> existing;
      if (it != m.end()) existing = it->second;
      std::optional<std::string> v = roles::apply_atomic(op.type, existing, op.b, roles::value_bytes_max);
      if (v) m[op.a] = *v;
      else m.erase(op.a);
      break;
    }
  }
}

void apply_op(Transaction& t, const Op& op) {
  switch (op.kind) {
    case Op::kSet: t.set(op.a, op.b); break;
    case Op::kClear: t.clear(op.a); break;
    case Op::kClearRange: t.clear_range(op.a, op.b); break;
    case Op::kAtomic: t.atomic_op(op.type, op.a, op.b); break;
  }
}

std::string random_value(Rng& r) {
  std::string v;
  const int n = static_cast<int>(r.uniform(0, 4));
  for (int i = 0; i < n; ++i) v += static_cast<char>("vwxyz\x01\x02"[r.uniform(0, 7)]);
  return v;
}

Op random_op(Rng& r, const std::vector<std::string>& c, const KV& seen) {
  const int p = static_cast<int>(r.uniform(0, 10));
  if (p < 4) return {Op::kSet, r.pick(c), random_value(r)};
  if (p < 5) return {Op::kClear, r.pick(c), ""};
  if (p < 7) {
    std::string a = r.pick(c), b = r.pick(c);
    if (b < a) std::swap(a, b);
    return {Op::kClearRange, a, b};
  }
  static const std::vector<roles::MutationType> types{
      roles::MutationType::kAdd,    roles::MutationType::kBitAnd,       roles::MutationType::kBitOr,
      roles::MutationType::kBitXor, roles::MutationType::kAppendIfFits, roles::MutationType::kMax,
      roles::MutationType::kMin,    roles::MutationType::kByteMin,      roles::MutationType::kByteMax,
      roles::MutationType::kCompareAndClear};
  Op op{Op::kAtomic, r.pick(c), random_value(r), r.pick(types)};
  if (op.type == roles::MutationType::kCompareAndClear && r.coin(60)) {
    const auto it = seen.find(op.a);
    if (it != seen.end()) op.b = it->second;
  }
  if (op.b.empty() && op.type != roles::MutationType::kCompareAndClear) op.b = "\x01";
  return op;
}

// --- the model's reads ---
std::string model_resolve(const KV& m, const KeySelector& s, const std::string& max) {
  const std::string split = s.or_equal ? s.key + '\0' : s.key;
  if (s.offset > 0) {
    int64_t n = s.offset;
    for (auto it = m.lower_bound(split); it != m.end() && it->first < max; ++it)
      if (--n == 0) return it->first;
    return max;
  }
  const std::string hi = std::min(split, max);
  int64_t n = 1 - static_cast<int64_t>(s.offset);
  auto it = m.lower_bound(hi);
  while (it != m.begin()) {
    --it;
    if (--n == 0) return it->first;
  }
  return "";
}

RangeResult model_range(const KV& m, const KeySelector& bs, const KeySelector& es, RangeLimits l,
                        const std::string& max) {
  RangeResult out;
  const std::string b = model_resolve(m, bs, max), e = model_resolve(m, es, max);
  if (b >= e) return out;
  std::vector<KeyValue> all;
  for (auto it = m.lower_bound(b); it != m.end() && it->first < e; ++it) all.push_back({it->first, it->second});
  if (l.reverse) std::reverse(all.begin(), all.end());
  int64_t bytes = 0;
  for (const KeyValue& kv : all) {
    out.rows.push_back(kv);
    bytes += static_cast<int64_t>(kv.key.size() + kv.value.size());
    if ((l.rows > 0 && static_cast<int64_t>(out.rows.size()) >= l.rows) || (l.bytes > 0 && bytes >= l.bytes)) {
      out.more = true;
      break;
    }
  }
  return out;
}

KeySelector random_selector(Rng& r, const std::vector<std::string>& c) {
  KeySelector s;
  const int p = static_cast<int>(r.uniform(0, 25));
  s.key = p == 0 ? std::string() : p == 1 ? kMax : r.pick(c);
  s.or_equal = r.coin();
  const int q = static_cast<int>(r.uniform(0, 20));
  if (q < 14) s.offset = static_cast<int32_t>(r.uniform(-3, 4));
  else if (q < 19) s.offset = static_cast<int32_t>(r.uniform(-70, 71));
  else s.offset = r.pick(std::vector<int32_t>{INT32_MAX, INT32_MIN, 1000, -1000, INT32_MIN + 1});
  return s;
}

std::string show(const KeySelector& s) {
  return "KeySelector{" + show(s.key) + ", " + (s.or_equal ? "true" : "false") + ", " + std::to_string(s.offset) + "}";
}

struct Read {
  enum Kind { kGet, kGetKey, kRangeSel, kRangeKeys } kind;
  KeySelector b, e;
  RangeLimits limits;
  bool snapshot = false;
  std::string describe() const {
    const std::string lim = "{.rows = " + std::to_string(limits.rows) + ", .bytes = " + std::to_string(limits.bytes) +
                            ", .reverse = " + (limits.reverse ? "true" : "false") + "}";
    const std::string snap = snapshot ? "true" : "false";
    switch (kind) {
      case kGet: return "t.get(" + show(b.key) + ", " + snap + ")";
      case kGetKey: return "t.get_key(" + show(b) + ", " + snap + ")";
      case kRangeSel: return "t.get_range(" + show(b) + ", " + show(e) + ", " + lim + ", " + snap + ")";
      case kRangeKeys: return "t.get_range(" + show(b.key) + ", " + show(e.key) + ", " + lim + ", " + snap + ")";
    }
    return "";
  }
};

Read random_read(Rng& r, const std::vector<std::string>& c) {
  Read rd;
  const int p = static_cast<int>(r.uniform(0, 10));
  rd.kind = p < 1 ? Read::kGet : p < 4 ? Read::kGetKey : p < 7 ? Read::kRangeSel : Read::kRangeKeys;
  rd.b = random_selector(r, c);
  rd.e = random_selector(r, c);
  if (rd.kind == Read::kRangeKeys || rd.kind == Read::kGet) {
    rd.b = KeySelector::first_greater_or_equal(r.coin(5) ? std::string() : r.pick(c));
    rd.e = KeySelector::first_greater_or_equal(r.coin(10) ? kMax : r.pick(c));
    if (rd.e.key < rd.b.key) std::swap(rd.b, rd.e);
  }
  rd.limits.rows = r.pick(std::vector<int64_t>{0, 0, 0, 1, 2, 3, 7, 25});
  rd.limits.bytes = r.pick(std::vector<int64_t>{0, 0, 0, 0, 1, 4, 9, 30});
  rd.limits.reverse = r.coin();
  rd.snapshot = r.coin(30);
  return rd;
}

// A read's answer, as text (rows, more), for comparison.
std::string answer_of(const RangeResult& r) {
  std::string s = "[";
  for (const KeyValue& kv : r.rows) s += show(kv.key) + "=" + show(kv.value) + " ";
  return s + "] more=" + (r.more ? "1" : "0");
}

std::string model_answer(const KV& m, const Read& rd) {
  switch (rd.kind) {
    case Read::kGet: {
      const auto it = m.find(rd.b.key);
      return it == m.end() ? "<absent>" : show(it->second);
    }
    case Read::kGetKey: return show(model_resolve(m, rd.b, kMax));
    default: return answer_of(model_range(m, rd.b, rd.e, rd.limits, kMax));
  }
}

std::string real_answer(Transaction& t, const Read& rd) {
  switch (rd.kind) {
    case Read::kGet: {
      const auto v = t.get(rd.b.key, rd.snapshot);
      return v ? show(*v) : "<absent>";
    }
    case Read::kGetKey: return show(t.get_key(rd.b, rd.snapshot));
    case Read::kRangeSel: return answer_of(t.get_range(rd.b, rd.e, rd.limits, rd.snapshot));
    case Read::kRangeKeys: return answer_of(t.get_range(rd.b.key, rd.e.key, rd.limits, rd.snapshot));
  }
  return "";
}

std::string try_answer(Transaction& t, const Read& rd) {
  auto f = flow::spawn([&] { return real_answer(t, rd); });
  try {
    return flow::wait(f);
  } catch (const flow::Error& e) {
    if (e.code() == flow::ErrorCode::operation_cancelled) throw;
    return "<error " + std::string(e.name()) + ">";
  }
}

std::string show_splits(const std::vector<std::string>& s) {
  std::string out = "{";
  for (const std::string& k : s) out += show(k) + ", ";
  return out + "}";
}

KV read_all(client::Database& d) {
  KV m;
  Transaction t(d);
  t.set_access_system_keys(kMax == "\xff\xff");
  for (const KeyValue& kv : t.get_range("", kMax).rows) m[kv.key] = kv.value;
  return m;
}

std::vector<std::string> keys_of_review(const RangeResult& r) {
  std::vector<std::string> keys;
  for (const KeyValue& kv : r.rows) keys.push_back(kv.key);
  return keys;
}


}  // namespace


// ---------------------------------------------------------------------------------------------
// 1. Randomized: reads interleaved with writes, compared with the model, many shards.
// ---------------------------------------------------------------------------------------------
// Reads interleaved with writes over the shards split from `seed`, against the model; with
// `system`, system keys too; with `many`, about that many shards.
void model_reads(uint64_t seed, bool system, int many) {
  kMax = system ? std::string("\xff\xff") : std::string("\xff");
  Rng r(seed);
  std::vector<std::string> c = candidate_keys();
  std::vector<std::string> splits = random_splits(r, c);
  if (many > 0) {
    splits.clear();
    for (int i = 0; i < many; ++i) {
      std::string k = r.pick(c);
      if (r.coin(20)) k += '\x01';
      if (!k.empty()) splits.push_back(k);
    }
    std::sort(splits.begin(), splits.end());
    splits.erase(std::unique(splits.begin(), splits.end()), splits.end());
  }
  if (system)
    for (const char* k : {"\xff", "\xff\x01", "\xff/a", "\xff/serverKeys0", "\xff\xfe", "\xff\xfe\xff"}) c.push_back(k);
  std::printf("[review model] system=%d seed=%llu splits=%s\n", static_cast<int>(system), static_cast<unsigned long long>(seed), show_splits(splits).c_str());
  Stack db(seed, splits, /*process_per_server=*/true);
  int failures = 0, reads = 0;
  db.client([&] {
    auto d = db.open();
    KV base;
    d->run([&](Transaction& t) {
      base.clear();
      for (const std::string& k : c)
        if (r.coin(45)) {
          t.set_access_system_keys(true);
          t.set(k, "v" + k);
        }
    });
    base = read_all(*d);
    const int rounds = 120;
    for (int round = 0; round < rounds; ++round) {
      Transaction t(*d);
      t.set_access_system_keys(system);
      KV seen = base;
      std::vector<Op> ops;
      const bool no_writes = r.coin(30);
      const int steps = static_cast<int>(r.uniform(1, 12));
      for (int s = 0; s < steps; ++s) {
        if (!no_writes && r.coin(45)) {
          Op op = random_op(r, c, seen);
          apply_op(t, op);
          apply_op(seen, op);
          ops.push_back(op);
          continue;
        }
        const Read rd = random_read(r, c);
        ++reads;
        const std::string want = model_answer(seen, rd);
        const std::string got = try_answer(t, rd);
        if (want != got) {
          ++failures;
          if (failures <= 12) {
            std::ostringstream o;
            o << "MISMATCH seed=" << seed << " round=" << round << "\n  splits " << show_splits(splits)
              << "\n  ops:";
            for (const Op& op : ops) o << "\n    " << op.describe();
            o << "\n  read: " << rd.describe() << "\n  want " << want << "\n  got  " << got;
            MESSAGE(o.str());
          }
        }
      }
      if (r.coin(50)) {
        const auto rc = outcome(flow::spawn([&] { t.commit(); }));
        // Writes to the shard map's own keys (\xff/keyServers/, \xff/serverKeys/) are refused.
        const bool touches_map = std::any_of(ops.begin(), ops.end(), [](const Op& op) {
          for (const std::string prefix : {"\xff/keyServers/", "\xff/serverKeys/"}) {
            std::string end = prefix;
            end.back() = '0';
            const bool hit = op.kind == Op::kClearRange ? (op.a < end && prefix < op.b) : op.a.starts_with(prefix);
            if (hit) return true;
          }
          return false;
        });
        CHECK((rc == flow::ErrorCode::success || (touches_map && rc == flow::ErrorCode::key_outside_legal_range)));
        if (rc == flow::ErrorCode::success) base = seen;
      }
      if (round % 20 == 19) {
        const KV stored = read_all(*d);
        if (stored != base) {
          ++failures;
          MESSAGE("stored data differs from the model after round " << round << " seed=" << seed);
          base = stored;
        }
      }
    }
  });
  kMax = "\xff";
  std::printf("[review model] seed=%llu reads=%d failures=%d\n", static_cast<unsigned long long>(seed), reads, failures);
  CHECK(failures == 0);
}

// ---------------------------------------------------------------------------------------------
// 2. Randomized conflicts: T reads, O writes one key, T commits. A write that changes what T
// read must make T not_committed; a write outside every key T's answer is sensitive to must not.
// ---------------------------------------------------------------------------------------------
namespace {
std::string model_view_answer(const KV& base, const std::vector<Op>& ops, const Read& rd) {
  KV v = base;
  for (const Op& op : ops) apply_op(v, op);
  return model_answer(v, rd);
}
}  // namespace

void conflict_trials(uint64_t seed) {
  Rng r(seed);
  const std::vector<std::string> c = candidate_keys();
  const std::vector<std::string> splits = random_splits(r, c);
  std::printf("[review conflicts] seed=%llu splits=%s\n", static_cast<unsigned long long>(seed),
              show_splits(splits).c_str());
  Stack db(seed, splits);
  int unsound = 0, over_plain = 0, over_masked = 0, over_keys = 0, report_bad = 0, trials = 0, mismatches = 0;
  std::map<std::string, int> over_by_kind;
  db.client([&] {
    auto d = db.open();
    KV base;
    d->run([&](Transaction& t) {
      base.clear();
      for (const std::string& k : c)
        if (r.coin(45)) {
          t.set(k, "v" + k);
          base[k] = "v" + k;
        }
    });
    const int n = 150;
    for (int trial = 0; trial < n; ++trial) {
      ++trials;
      Transaction t(*d);
      t.set_report_conflicting_keys(true);
      std::vector<Op> ops;
      KV seen = base;
      const int nops = r.coin(40) ? 0 : static_cast<int>(r.uniform(1, 4));
      for (int i = 0; i < nops; ++i) {
        Op op = random_op(r, c, seen);
        apply_op(t, op);
        apply_op(seen, op);
        ops.push_back(op);
      }
      Read rd = random_read(r, c);
      rd.snapshot = r.coin(15);
      const std::string before = try_answer(t, rd);
      if (before != model_answer(seen, rd)) {
        ++mismatches;
        continue;
      }
      // Which candidate keys is the answer sensitive to (insert/delete/change value)?
      std::vector<std::string> sensitive;
      for (const std::string& k : c) {
        KV m = base;
        const auto it = m.find(k);
        bool changes = false;
        if (it == m.end()) {
          m[k] = "q";
          changes = model_view_answer(m, ops, rd) != before;
        } else {
          const std::string held = it->second;  // erase frees what `it` points at
          m.erase(k);
          changes = model_view_answer(m, ops, rd) != before;
          m = base;
          m[k] = held + "q";
          changes = changes || model_view_answer(m, ops, rd) != before;
        }
        if (changes) sensitive.push_back(k);
      }
      // O writes one key.
      const std::string k = r.coin(50) && !sensitive.empty() ? r.pick(sensitive) : r.pick(c);
      const bool present = base.count(k) > 0;
      const bool clear = present && r.coin(50);
      const std::string value = "o" + std::to_string(trial);
      d->run([&](Transaction& o) {
        if (clear) o.clear(k);
        else o.set(k, value);
      });
      if (clear) base.erase(k);
      else base[k] = value;
      const bool changed = model_view_answer(base, ops, rd) != before;
      // T writes somewhere so that it commits something.
      const Op mark{Op::kSet, r.pick(c), "t" + std::to_string(trial)};
      apply_op(t, mark);
      ops.push_back(mark);
      const auto rc = outcome(flow::spawn([&] { t.commit(); }));
      bool outside = sensitive.empty() || k < sensitive.front() || k > sensitive.back();
      // A selector that ran off the keys depends on every key from its anchor to the end (a single
      // write there may not change the answer): not counted as an over-conflict.
      for (const KeySelector* sel : {&rd.b, &rd.e}) {
        if (rd.kind == Read::kGet || rd.kind == Read::kRangeKeys) break;
        if (rd.kind == Read::kGetKey && sel == &rd.e) break;
        const std::string ans = model_resolve(seen, *sel, kMax);
        const std::string split = sel->or_equal ? sel->key + '\0' : sel->key;
        if (sel->offset > 0 && ans == kMax && k >= split) outside = false;
        if (sel->offset <= 0 && ans.empty() && k < split) outside = false;
      }
      const bool masked = std::any_of(ops.begin(), ops.end() - 1, [&](const Op& op) { return op.covers(k); });
      std::ostringstream o;
      o << "seed=" << seed << " trial=" << trial << "\n  splits " << show_splits(splits) << "\n  ops:";
      for (const Op& op : ops) o << "\n    " << op.describe();
      o << "\n  read: " << rd.describe() << " -> " << before << "\n  other " << (clear ? "clears " : "sets ")
        << show(k) << "; changed=" << changed << " commit=" << flow::Error(rc).name();
      if (rc == flow::ErrorCode::success) {
        for (const Op& op : ops) apply_op(base, op);
        if (changed && !rd.snapshot) {
          ++unsound;
          MESSAGE("UNSOUND (committed although what it read changed) " << o.str());
        }
      } else if (rc == flow::ErrorCode::not_committed) {
        if (rd.snapshot) {
          ++unsound;
          MESSAGE("SNAPSHOT read conflicted " << o.str());
        } else if (!changed && outside) {
          const std::string kind = rd.kind == Read::kGet      ? "get"
                                   : rd.kind == Read::kGetKey ? "get_key"
                                   : rd.kind == Read::kRangeSel ? "get_range(selectors)"
                                                                : "get_range(keys)";
          (masked ? over_masked : over_plain)++;
          if (!masked && (rd.kind == Read::kGet || rd.kind == Read::kRangeKeys)) ++over_keys;
          over_by_kind[kind + (masked ? " (key written by T)" : "")]++;
          if (!masked && over_plain <= 6) MESSAGE("OVER-CONFLICT " << o.str());
          if (masked && over_masked <= 2) MESSAGE("OVER-CONFLICT on a key T wrote itself " << o.str());
        }
        for (const roles::KeyRange& cr : t.conflicting_read_ranges())
          if (!(cr.begin <= k && k < cr.end)) {
            ++report_bad;
            MESSAGE("conflicting_read_ranges reports " << show(cr.begin) << ".." << show(cr.end)
                                                         << " which does not hold " << show(k) << " " << o.str());
          }
        if (t.conflicting_read_ranges().empty()) {
          ++report_bad;
          MESSAGE("conflicting_read_ranges empty after not_committed " << o.str());
        }
      } else {
        MESSAGE("commit ended with " << flow::Error(rc).name() << " " << o.str());
        base = read_all(*d);
      }
    }
  });
  std::printf("[review conflicts] seed=%llu trials=%d read-mismatches=%d unsound=%d over-conflict=%d "
              "over-conflict-on-own-writes=%d bad-reports=%d\n",
              static_cast<unsigned long long>(seed), trials, mismatches, unsound, over_plain, over_masked, report_bad);
  for (const auto& [kind, count] : over_by_kind) std::printf("   over-conflict %s: %d\n", kind.c_str(), count);
  CHECK(unsound == 0);
  CHECK(report_bad == 0);
  // A false conflict is allowed (a transaction may be told to retry when it need not); reads of
  // plain keys must be tight, selectors' spans are conservative when a read comes back empty.
  CHECK(over_keys == 0);
}

TEST_CASE("review: randomized reads agree with a model (seed 1001)") { model_reads(1001, false, 0); }
TEST_CASE("review: randomized reads agree with a model (seed 1002)") { model_reads(1002, false, 0); }
TEST_CASE("review: randomized reads agree with a model, system keys (seed 1003)") { model_reads(1003, true, 0); }
TEST_CASE("review: randomized reads agree with a model, 25 shards (seed 1004)") { model_reads(1004, false, 25); }
TEST_CASE("review: randomized conflict ranges are sound and tight (seed 2002)") { conflict_trials(2002); }
TEST_CASE("review: randomized conflict ranges are sound and tight (seed 2003)") { conflict_trials(2003); }
TEST_CASE("review: randomized conflict ranges are sound and tight (seed 2004)") { conflict_trials(2004); }

// ---------------------------------------------------------------------------------------------
// 3. Directed cases.
// ---------------------------------------------------------------------------------------------
TEST_CASE("review: get_range(keys) conflicts only on [begin, end)") {
  Stack db(31, {"c", "m", "t"});
  db.client([&] {
    auto d = db.open();
    d->run([&](Transaction& t) {
      for (const char* k : {"b", "c", "x"}) t.set(k, "v");
    });
    // T reads [b, d): rows b, c. Another transaction writes "e" (not in [b, d)).
    const auto read_then = [&](const std::string& other, RangeLimits limits) {
      Transaction t(*d);
      t.get_range("b", "d", limits);
      d->run([&](Transaction& o) { o.set(other, "1"); });
      t.set("a", "1");
      return outcome(flow::spawn([&] { t.commit(); }));
    };
    CHECK(read_then("e", {}) == flow::ErrorCode::success);
    CHECK(read_then("x", {}) == flow::ErrorCode::success);      // clearing or changing x: not read either
    CHECK(read_then("d", {}) == flow::ErrorCode::success);
    CHECK(read_then("c0", {}) == flow::ErrorCode::not_committed);  // in [b, d): a new row
    // A limited read (1 row: b) depends on [b, b\0) only.
    CHECK(read_then("e", {.rows = 1}) == flow::ErrorCode::success);
    CHECK(read_then("a0", {.rows = 1, .reverse = true}) == flow::ErrorCode::success);
  });
}

TEST_CASE("review: last_less_or_equal(\\xff\\xff) with access_system_keys") {
  Stack db(32, {"c", "m", "t"});
  db.client([&] {
    auto d = db.open();
    d->run([&](Transaction& t) { t.set("a", "1"); });
    Transaction t(*d);
    t.set_access_system_keys(true);
    std::string got;
    const auto rc = outcome(flow::spawn([&] { got = t.get_key(KeySelector::last_less_or_equal("\xff\xff")); }));
    CHECK(rc == flow::ErrorCode::success);
    CHECK(got.starts_with("\xff/serverKeys/"));
    std::string got2;
    const auto rc2 = outcome(flow::spawn([&] { got2 = t.get_key(KeySelector::last_less_than("\xff\xff")); }));
    CHECK(rc2 == flow::ErrorCode::success);
    CHECK(got == got2);
    // A range whose end selector is last_less_or_equal(\xff\xff) too.
    const auto rc3 = outcome(flow::spawn([&] {
      t.get_range(KeySelector::first_greater_or_equal("\xff/serverKeys/"), KeySelector::last_less_or_equal("\xff\xff"));
    }));
    CHECK(rc3 == flow::ErrorCode::success);
    // Same over the merged view (a write of its own).
    t.set("b", "1");
    std::string got4;
    const auto rc4 = outcome(flow::spawn([&] { got4 = t.get_key(KeySelector::last_less_or_equal("\xff\xff")); }));
    CHECK(rc4 == flow::ErrorCode::success);
    CHECK(got4 == got2);
  });
}

TEST_CASE("review: a stored key \\xff is not readable without access_system_keys") {
  Stack db(33, {"c", "m", "t"});
  db.client([&] {
    auto d = db.open();
    d->run([&](Transaction& t) {
      t.set_access_system_keys(true);
      t.set("z", "1");
      t.set("\xff", "sys");
    });
    for (const bool with_writes : {false, true}) {
      CAPTURE(with_writes);
      Transaction t(*d);
      if (with_writes) t.set("a", "1");
      // The last readable key at or before \xff is "z".
      CHECK(show(t.get_key(KeySelector::last_less_or_equal("\xff"))) == show("z"));
      CHECK(show(t.get_key(KeySelector::last_less_than("\xff"))) == show("z"));
      const RangeResult rr = t.get_range(KeySelector::first_greater_or_equal("y"),
                                         KeySelector::first_greater_than("\xff"));
      CHECK(rr.rows.size() == 1);
    }
  });
}

TEST_CASE("review: cancel while a range read crosses many shards") {
  const std::vector<std::string> splits{"e", "i", "m", "q", "u"};
  Stack db(34, splits);
  db.client([&] {
    auto d = db.open();
    d->run([&](Transaction& t) {
      for (char ch = 'a'; ch <= 'z'; ++ch) t.set(std::string(1, ch) + "k", "v");
    });
    for (int delay_us : {0, 50, 150, 300, 600, 1000, 2000, 4000, 8000}) {
      for (const bool reverse : {false, true}) {
        for (const bool with_writes : {false, true}) {
          CAPTURE(delay_us);
          CAPTURE(reverse);
          CAPTURE(with_writes);
          Transaction t(*d);
          if (with_writes) t.set("mm", "x");
          auto waiting = flow::spawn([&] {
            return t.get_range(KeySelector::first_greater_than("a"), KeySelector::last_less_than("zz"),
                               {.rows = 1000, .reverse = reverse});
          });
          flow::wait(flow::delay(std::chrono::microseconds(delay_us)));
          t.cancel();
          const auto rc = outcome(waiting);
          std::printf("cancel delay=%d reverse=%d writes=%d -> %s\n", delay_us, reverse, with_writes, std::string(flow::Error(rc).name()).c_str());
          // Either it had finished before cancel, or it is cancelled.
          if (rc != flow::ErrorCode::success) CHECK(rc == flow::ErrorCode::transaction_cancelled);
          else CHECK(waiting.get().rows.size() == (with_writes ? 26u : 25u));
          CHECK(outcome(flow::spawn([&] { t.get_key(KeySelector::first_greater_or_equal("a")); })) ==
                flow::ErrorCode::transaction_cancelled);
          CHECK(outcome(flow::spawn([&] { t.get_range("a", "b"); })) == flow::ErrorCode::transaction_cancelled);
          CHECK(outcome(flow::spawn([&] { t.get_range("b", "a"); })) == flow::ErrorCode::transaction_cancelled);
          CHECK(outcome(flow::spawn([&] { t.commit(); })) == flow::ErrorCode::transaction_cancelled);
        }
      }
    }
    // A get_read_version waiting when cancel comes.
    Transaction t(*d);
    auto grv = flow::spawn([&] { return t.get_read_version(); });
    t.cancel();
    const auto rc = outcome(grv);
    MESSAGE("get_read_version waiting at cancel ended with " << flow::Error(rc).name());
  });
}

TEST_CASE("review: bad inputs") {
  Stack db(35, {"c", "m", "t"});
  db.client([&] {
    auto d = db.open();
    d->run([&](Transaction& t) { t.set("a", "1"); });
    Transaction t(*d);
    const auto rc = [&](auto fn) { return outcome(flow::spawn(fn)); };
    using E = flow::ErrorCode;
    CHECK(rc([&] { t.get_key({std::string("\xff\x00", 2), false, 1}); }) == E::key_outside_legal_range);
    CHECK(rc([&] { t.get_key({std::string("\xff\x00", 2), true, -5}); }) == E::key_outside_legal_range);
    CHECK(rc([&] { t.get_range(KeySelector::first_greater_or_equal("a"), {std::string("\xff\x00", 2), false, -5}); }) ==
          E::key_outside_legal_range);
    CHECK(rc([&] { t.get_range(std::string("\xff\x00", 2), std::string("\xff\x01", 2)); }) ==
          E::key_outside_legal_range);
    CHECK(rc([&] { t.get_range("a", "b", {.bytes = -1}); }) == E::client_invalid_operation);
    CHECK(rc([&] { t.get_range(KeySelector::first_greater_or_equal("a"), KeySelector::first_greater_or_equal("b"), {.rows = -5}); }) ==
          E::client_invalid_operation);
    CHECK(rc([&] { t.get_key({std::string(roles::key_bytes_max + 2, 'a'), false, 1}); }) == E::key_too_large);
    CHECK(rc([&] { t.get_range(std::string(roles::key_bytes_max + 2, 'a'), std::string(roles::key_bytes_max + 2, 'b')); }) ==
          E::key_too_large);
    // The largest key selector key allowed (a key + \0) works.
    CHECK(rc([&] { t.get_key({std::string(roles::key_bytes_max, 'a') + '\0', true, 1}); }) == E::success);
    CHECK(rc([&] { t.get_key({std::string(roles::key_bytes_max, 'a') + '\0', true, -1}); }) == E::success);
    // Rows limit beyond int32.
    RangeResult big;
    CHECK(rc([&] { big = t.get_range("", "\xff", {.rows = (int64_t{1} << 32) + 1}); }) == E::success);
    CHECK(big.rows.size() == 1);
    CHECK(!big.more);
    // get_range(keys) with end "\xff" and access off: fine; with system access, up to \xff\xff.
    CHECK(rc([&] { t.get_range("\xff", "\xff"); }) == E::success);
    CHECK(rc([&] { t.get_range("a", "\xff\xff"); }) == E::key_outside_legal_range);
    t.set_access_system_keys(true);
    CHECK(rc([&] { t.get_range("a", "\xff\xff"); }) == E::success);
    CHECK(rc([&] { t.get_range("a", std::string("\xff\xff\x00", 3)); }) == E::key_outside_legal_range);
    CHECK(rc([&] { t.get_key({"\xff\xff", true, 1}); }) == E::success);
    CHECK(show(t.get_key({"\xff\xff", false, 1})) == show("\xff\xff"));
    CHECK(show(t.get_key({"z", false, 1000})) == show("\xff\xff"));
    // A negative offset from \xff\xff that runs off the start.
    CHECK(t.get_key({"\xff\xff", false, -100000}) == "");
    // Use after commit.
    Transaction u(*d);
    u.commit();
    CHECK(rc([&] { u.get_key(KeySelector::first_greater_or_equal("a")); }) == E::client_invalid_operation);
    CHECK(rc([&] { u.get_range("a", "b"); }) == E::client_invalid_operation);
  });
}


// ---------------------------------------------------------------------------------------------
// 4. Many rows: chunks of 1,000 rows / 1 MiB cross, with clears and sets of the transaction.
// ---------------------------------------------------------------------------------------------
TEST_CASE("review: large ranges cross request chunks and shards") {
  const uint64_t seed = 4004;
  Rng r(seed);
  std::printf("[review large] seed=%llu\n", static_cast<unsigned long long>(seed));
  const std::vector<std::string> splits{"k0700", "k0701", "k1500", "k1500\x01", "k2200"};
  Stack db(seed, splits);
  int failures = 0;
  db.client([&] {
    auto d = db.open();
    KV base;
    char buf[16];
    for (int batch = 0; batch < 3000; batch += 250) {
      d->run([&](Transaction& t) {
        for (int i = batch; i < batch + 250; ++i) {
          std::snprintf(buf, sizeof buf, "k%04d", i);
          const std::string v(static_cast<size_t>(r.uniform(100, 1200)), static_cast<char>('a' + i % 26));
          t.set(buf, v);
        }
      });
    }
    base = read_all(*d);
    REQUIRE(base.size() == 3000);
    std::vector<std::string> c;
    for (const auto& [k, v] : base) c.push_back(k);
    c.push_back("k0700\x01");
    c.push_back("k1500\x01");
    c.push_back("k");
    c.push_back("l");
    for (int round = 0; round < 30; ++round) {
      Transaction t(*d);
      KV seen = base;
      std::vector<Op> ops;
      if (r.coin(60)) {
        const int n = static_cast<int>(r.uniform(1, 6));
        for (int i = 0; i < n; ++i) {
          Op op = random_op(r, c, seen);
          if (op.kind == Op::kSet) op.b = std::string(static_cast<size_t>(r.uniform(0, 3000)), 'w');
          apply_op(t, op);
          apply_op(seen, op);
          ops.push_back(op);
        }
      }
      for (int i = 0; i < 4; ++i) {
        Read rd;
        rd.kind = r.coin(30) ? Read::kGetKey : r.coin(50) ? Read::kRangeSel : Read::kRangeKeys;
        rd.b = {r.pick(c), r.coin(), static_cast<int32_t>(r.uniform(-1600, 1600))};
        rd.e = {r.pick(c), r.coin(), static_cast<int32_t>(r.uniform(-1600, 1600))};
        if (rd.kind == Read::kRangeKeys) {
          rd.b = KeySelector::first_greater_or_equal(r.pick(c));
          rd.e = KeySelector::first_greater_or_equal(r.coin(20) ? "\xff" : r.pick(c));
          if (rd.e.key < rd.b.key) std::swap(rd.b, rd.e);
        }
        rd.limits.rows = r.pick(std::vector<int64_t>{0, 999, 1000, 1001, 1999, 2001, 17});
        rd.limits.bytes = r.pick(std::vector<int64_t>{0, 0, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 << 20, 5000});
        rd.limits.reverse = r.coin();
        const std::string want = model_answer(seen, rd);
        const std::string got = try_answer(t, rd);
        if (want != got) {
          ++failures;
          if (failures < 5) {
            std::ostringstream o;
            o << "LARGE MISMATCH seed=" << seed << " round=" << round << " ops:";
            for (const Op& op : ops) o << "\n    " << op.describe();
            o << "\n  read: " << rd.describe() << "\n  want " << want.substr(0, 300) << "... (" << want.size()
              << " chars)\n  got  " << got.substr(0, 300) << "... (" << got.size() << " chars)";
            MESSAGE(o.str());
          }
        }
      }
    }
  });
  std::printf("[review large] seed=%llu failures=%d\n", static_cast<unsigned long long>(seed), failures);
  CHECK(failures == 0);
}

// ---------------------------------------------------------------------------------------------
// 5. Directed: a range read after a clear of the transaction's own conflicts far past its end.
// ---------------------------------------------------------------------------------------------
TEST_CASE("review: get_range(keys) after the transaction's own clear_range conflicts past its end") {
  Stack db(37, {"c", "m", "t"});
  db.client([&] {
    auto d = db.open();
    d->run([&](Transaction& t) {
      for (const char* k : {"a", "b", "d", "p", "z"}) t.set(k, "v");
    });
    Transaction t(*d);
    t.clear_range("b", "y");                       // the transaction's own clear
    CHECK(keys_of_review(t.get_range("a", "c")) == std::vector<std::string>{"a"});
    d->run([&](Transaction& o) { o.set("q", "1"); });  // far outside [a, c)
    t.set("zz", "1");
    CHECK(outcome(flow::spawn([&] { t.commit(); })) == flow::ErrorCode::success);
  });
}

TEST_CASE("review: a read waiting at cancel() still throws when reset() comes before it wakes") {
  Stack db(38, {"e", "i", "m", "q", "u"});
  db.client([&] {
    auto d = db.open();
    d->run([&](Transaction& t) {
      for (char ch = 'a'; ch <= 'z'; ++ch) t.set(std::string(1, ch), "v");
    });
    Transaction t(*d);
    auto waiting = flow::spawn([&] { return t.get_range("", "\xff"); });
    flow::wait(flow::delay(std::chrono::microseconds(300)));
    t.cancel();
    t.reset();
    const auto rc = outcome(waiting);
    CHECK(rc == flow::ErrorCode::transaction_cancelled);
    if (rc == flow::ErrorCode::success) MESSAGE("rows " << waiting.get().rows.size());
  });
}

TEST_CASE("review: a stored \\xff key counts for a backward selector from \\xff without access_system_keys") {
  Stack db(39, {"c", "m", "t"});
  db.client([&] {
    auto d = db.open();
    d->run([&](Transaction& t) {
      t.set_access_system_keys(true);
      t.set("y", "1");
      t.set("z", "1");
      t.set("\xff", "sys");
    });
    Transaction t(*d);
    CHECK(show(t.get_key({"\xff", true, -1})) == show("y"));   // the second readable key at or before \xff
    t.set("a", "1");
    CHECK(show(t.get_key({"\xff", true, -1})) == show("y"));   // over the merged view
  });
}

TEST_CASE("review: a limited read conflicts on the far end's selector span") {
  Stack db(40, {"c", "m", "t"});
  db.client([&] {
    auto d = db.open();
    d->run([&](Transaction& t) {
      for (const char* k : {"b", "c", "x"}) t.set(k, "v");
    });
    const auto read_then = [&](const std::string& other, RangeLimits limits) {
      Transaction t(*d);
      const RangeResult r = t.get_range("a", "d", limits);
      CHECK(r.rows.size() == 1);
      CHECK(r.more);
      d->run([&](Transaction& o) { o.set(other, "1"); });
      t.set("zz", "1");
      return outcome(flow::spawn([&] { t.commit(); }));
    };
    // Reverse, one row: the read saw [c, d) only; "a0" lies before "b", the answer of begin's selector.
    CHECK(read_then("a0", {.rows = 1, .reverse = true}) == flow::ErrorCode::success);
    // Forward, one row: the read saw [a, b] only; "d" is past the range.
    CHECK(read_then("d", {.rows = 1}) == flow::ErrorCode::success);
  });
}

TEST_CASE("review: reads its own writes decide add conflict ranges anyway") {
  Stack db(41, {"c", "m", "t"});
  db.client([&] {
    auto d = db.open();
    d->run([&](Transaction& t) { t.set("b", "v"); });
    {
      Transaction t(*d);
      t.get_read_version();
      t.set("k", "mine");
      CHECK(t.get("k") == "mine");                      // decided by its own set: no server asked
      d->run([&](Transaction& o) { o.set("k", "theirs"); });
      CHECK(outcome(flow::spawn([&] { t.commit(); })) == flow::ErrorCode::success);
    }
    {
      Transaction t(*d);
      t.get_read_version();
      t.clear_range("a", "z");
      CHECK(t.get_range("a", "z").rows.empty());        // decided by its own clear
      d->run([&](Transaction& o) { o.set("q", "theirs"); });
      CHECK(outcome(flow::spawn([&] { t.commit(); })) == flow::ErrorCode::success);
    }
  });
}
