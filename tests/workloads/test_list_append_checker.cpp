// The list-append checker on hand-made histories: valid ones pass, and each anomaly class is
// found and named; random serializable executions pass, and a stale read planted in one is found.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "flow/deterministic_random.h"
#include "workloads/checkers/list_append_checker.h"

using workloads::checkers::Anomaly;
using workloads::checkers::anomaly_name;
using workloads::checkers::check_list_append;
using workloads::checkers::History;
using workloads::checkers::ListAppendReport;
using workloads::checkers::MicroOp;
using workloads::checkers::Outcome;
using workloads::checkers::Transaction;

namespace {

MicroOp append(std::string key, int64_t value) {
  return {MicroOp::Kind::kAppend, std::move(key), value, {}};
}
MicroOp read(std::string key, std::vector<int64_t> values) {
  return {MicroOp::Kind::kReadList, std::move(key), 0, std::move(values)};
}

// A transaction of `ops`, invoked at `invoked` and completed at `completed` (simulated ns).
Transaction txn(std::vector<MicroOp> ops, int64_t invoked = 0, int64_t completed = 1000,
                Outcome outcome = Outcome::kOk) {
  Transaction t;
  t.invoked_ns = invoked;
  t.completed_ns = outcome == Outcome::kUnknown ? Transaction::kNotYet : completed;
  t.outcome = outcome;
  t.ops = std::move(ops);
  return t;
}

std::vector<Anomaly> anomalies(const ListAppendReport& r) {
  std::vector<Anomaly> out;
  for (const auto& v : r.violations) out.push_back(v.anomaly);
  return out;
}

std::string explain(const ListAppendReport& r) {
  std::string out;
  for (const auto& v : r.violations) out += v.explanation + "\n";
  return out;
}

}  // namespace

TEST_CASE("list-append checker: a serial history is valid, and its edges are inferred") {
  History h;
  h.add(txn({append("x", 1)}, 0, 10));
  h.add(txn({read("x", {1}), append("x", 2)}, 20, 30));
  h.add(txn({read("x", {1, 2}), append("y", 7), read("y", {7})}, 40, 50));
  const ListAppendReport r = check_list_append(h);
  INFO(explain(r));
  CHECK(r.valid());
  CHECK(r.committed == 3);
  // ww 0->1, wr 0->1 and 1->2, rt 0->1 and 1->2: every one of them points forward in time.
  CHECK(r.edges >= 5);
}

TEST_CASE("list-append checker: concurrent transactions may commit in either order") {
  History h;
  // T1 and T2 overlap in time; T2's read of x misses T1's append, which is allowed: T2 first.
  h.add(txn({append("x", 1)}, 0, 100));
  h.add(txn({read("x", {}), append("y", 1)}, 50, 150));
  h.add(txn({read("x", {1}), read("y", {1})}, 200, 300));
  const ListAppendReport r = check_list_append(h);
  INFO(explain(r));
  CHECK(r.valid());
}

TEST_CASE("list-append checker: G0, a cycle of write-write dependencies") {
  History h;
  h.add(txn({append("x", 1), append("y", 2)}));
  h.add(txn({append("x", 2), append("y", 1)}));
  h.add(txn({read("x", {1, 2}), read("y", {1, 2})}, 2000, 3000));
  const ListAppendReport r = check_list_append(h);
  INFO(explain(r));
  REQUIRE(anomalies(r) == std::vector{Anomaly::kG0});
  CHECK(r.violations[0].transactions.size() == 2);
  CHECK(r.violations[0].explanation.find("ww(\"x\")") != std::string::npos);
}

TEST_CASE("list-append checker: G1a, a read of a failed transaction's append") {
  History h;
  h.add(txn({append("x", 5)}, 0, 10, Outcome::kFailed));
  h.add(txn({read("x", {5})}, 20, 30));
  const ListAppendReport r = check_list_append(h);
  INFO(explain(r));
  CHECK(anomalies(r) == std::vector{Anomaly::kG1a});
}

TEST_CASE("list-append checker: G1b, a read that ends inside another transaction's appends") {
  History h;
  h.add(txn({append("x", 1), append("x", 2)}, 0, 10));
  h.add(txn({read("x", {1})}, 20, 30));
  const ListAppendReport r = check_list_append(h);
  INFO(explain(r));
  const auto found = anomalies(r);
  CHECK(std::count(found.begin(), found.end(), Anomaly::kG1b) == 1);
}

TEST_CASE("list-append checker: G1c, each transaction reads the other's write") {
  History h;
  h.add(txn({append("x", 1), read("y", {2})}));
  h.add(txn({append("y", 2), read("x", {1})}));
  const ListAppendReport r = check_list_append(h);
  INFO(explain(r));
  CHECK(anomalies(r) == std::vector{Anomaly::kG1c});
}

TEST_CASE("list-append checker: G-single, a read skew") {
  History h;
  // T0 reads y after T1's append but x before it: one anti-dependency closes the cycle.
  h.add(txn({read("x", {}), read("y", {1})}));
  h.add(txn({append("x", 1), append("y", 1)}));
  h.add(txn({read("x", {1})}, 2000, 3000));
  const ListAppendReport r = check_list_append(h);
  INFO(explain(r));
  REQUIRE(anomalies(r) == std::vector{Anomaly::kGSingle});
  CHECK(r.violations[0].explanation.find("rw(\"x\")") != std::string::npos);
}

TEST_CASE("list-append checker: G2, a write skew") {
  History h;
  h.add(txn({read("x", {}), append("y", 1)}));
  h.add(txn({read("y", {}), append("x", 1)}));
  h.add(txn({read("x", {1}), read("y", {1})}, 2000, 3000));
  const ListAppendReport r = check_list_append(h);
  INFO(explain(r));
  CHECK(anomalies(r) == std::vector{Anomaly::kG2});
}

TEST_CASE("list-append checker: a stale read is a real-time violation, not a serializability one") {
  History h;
  h.add(txn({append("x", 1)}, 0, 10));
  h.add(txn({read("x", {})}, 20, 30));  // began after the append completed, and missed it
  h.add(txn({read("x", {1})}, 40, 50));
  const ListAppendReport r = check_list_append(h);
  INFO(explain(r));
  CHECK(anomalies(r) == std::vector{Anomaly::kGSingleRealtime});

  // The same reads, the stale one concurrent with the append: valid.
  History concurrent;
  concurrent.add(txn({append("x", 1)}, 0, 25));
  concurrent.add(txn({read("x", {})}, 20, 30));
  concurrent.add(txn({read("x", {1})}, 40, 50));
  CHECK(check_list_append(concurrent).valid());
}

TEST_CASE("list-append checker: a real-time cycle is named by its weakest form") {
  History h;
  h.add(txn({read("a", {}), append("b", 2)}, 0, 10));  // T0
  h.add(txn({append("a", 1)}, 20, 30));                // T1: after T0 in real time
  h.add(txn({read("b", {})}, 40, 50));                 // T2: a stale read of b
  h.add(txn({read("a", {1}), read("b", {2})}, 60, 70));
  const ListAppendReport r = check_list_append(h);
  INFO(explain(r));
  // T0 -rt-> T1 -rt-> T2 -rw-> T0 has one anti-dependency; T0 -rw-> T1 ... has two.
  CHECK(anomalies(r) == std::vector{Anomaly::kGSingleRealtime});
}

TEST_CASE("list-append checker: a lost append is found by a read that began after it completed") {
  History h;
  h.add(txn({append("x", 1)}, 0, 10));
  h.add(txn({append("x", 2)}, 20, 30));  // ok, but no read ever shows 2
  h.add(txn({read("x", {1}), append("x", 3)}, 40, 50));
  h.add(txn({read("x", {1, 3})}, 60, 70));
  const ListAppendReport r = check_list_append(h);
  INFO(explain(r));
  REQUIRE(anomalies(r) == std::vector{Anomaly::kLostAppend});
  CHECK(r.violations[0].transactions == std::vector<size_t>{1, 3});

  // Unread, but no read of x began after it completed: it may yet come last. Valid.
  History unread;
  unread.add(txn({append("x", 1)}, 0, 10));
  unread.add(txn({read("x", {1})}, 20, 40));
  unread.add(txn({append("x", 2)}, 30, 50));
  CHECK(check_list_append(unread).valid());
}

TEST_CASE("list-append checker: reads no serial history could give") {
  SUBCASE("a value read twice") {
    History h;
    h.add(txn({append("x", 1)}));
    h.add(txn({read("x", {1, 1})}, 2000, 3000));
    CHECK(anomalies(check_list_append(h)) == std::vector{Anomaly::kDuplicateElements});
  }
  SUBCASE("a value nobody appended") {
    History h;
    h.add(txn({read("x", {9})}));
    CHECK(anomalies(check_list_append(h)) == std::vector{Anomaly::kGarbageRead});
  }
  SUBCASE("a read that misses the transaction's own append") {
    History h;
    h.add(txn({append("x", 1), read("x", {})}));
    CHECK(anomalies(check_list_append(h)) == std::vector{Anomaly::kInternal});
  }
  SUBCASE("two reads of a key in one transaction that disagree") {
    History h;
    h.add(txn({append("x", 1)}, 0, 10));
    h.add(txn({read("x", {}), read("x", {1})}, 20, 30));
    const auto found = anomalies(check_list_append(h));
    CHECK(std::count(found.begin(), found.end(), Anomaly::kInternal) == 1);
  }
  SUBCASE("a read holding the transaction's own append, made only after it") {
    History h;
    h.add(txn({read("x", {1}), append("x", 1)}, 0, 10));
    CHECK(anomalies(check_list_append(h)) == std::vector{Anomaly::kInternal});
    History after_others;
    after_others.add(txn({append("x", 1)}, 0, 10));
    after_others.add(txn({read("x", {1, 2}), append("x", 2)}, 20, 30));
    CHECK(anomalies(check_list_append(after_others)) == std::vector{Anomaly::kInternal});
  }
  SUBCASE("one value appended twice: the history is refused") {
    History h;
    h.add(txn({append("x", 1)}));
    h.add(txn({append("x", 1)}));
    CHECK(anomalies(check_list_append(h)) == std::vector{Anomaly::kDuplicateAppend});
  }
}

TEST_CASE("list-append checker: an unknown transaction counts as committed once its append is read") {
  History h;
  h.add(txn({append("x", 1)}, 0, 0, Outcome::kUnknown));
  h.add(txn({append("x", 2)}, 0, 0, Outcome::kUnknown));  // never read: not in the graph
  h.add(txn({read("x", {1})}, 2000, 3000));
  const ListAppendReport r = check_list_append(h);
  INFO(explain(r));
  CHECK(r.valid());
  CHECK(r.committed == 2);
  // A failed transaction's append read is G1a; an unknown one's is not.
  History g1a;
  g1a.add(txn({append("x", 1)}, 0, 10, Outcome::kFailed));
  g1a.add(txn({read("x", {1})}, 2000, 3000));
  CHECK(!check_list_append(g1a).valid());
}

TEST_CASE("list-append checker: a read after the transaction's own append is judged before it") {
  History h;
  h.add(txn({append("x", 1)}, 0, 10));
  h.add(txn({append("x", 3), read("x", {1, 3})}, 20, 60));  // saw [1] from the others
  h.add(txn({read("x", {1, 3})}, 70, 80));
  const ListAppendReport r = check_list_append(h);
  INFO(explain(r));
  CHECK(r.valid());

  // A lost update: T1 saw [1], yet its 3 lands after T2's 2, which it did not see.
  History lost;
  lost.add(txn({append("x", 1)}, 0, 10));
  lost.add(txn({append("x", 3), read("x", {1, 3})}, 20, 60));
  lost.add(txn({append("x", 2)}, 30, 40));
  lost.add(txn({read("x", {1, 2, 3})}, 70, 80));
  const ListAppendReport l = check_list_append(lost);
  INFO(explain(l));
  CHECK(anomalies(l) == std::vector{Anomaly::kGSingle});
}

TEST_CASE("list-append checker: random serializable executions (some outcomes unknown) pass; a planted stale read is found") {
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    INFO("seed " << seed);
    flow::DeterministicRandom rng(seed);
    // Transactions run atomically at a commit point between their invocation and completion;
    // clients overlap in time. The lists model the database.
    std::map<std::string, std::vector<int64_t>> lists;
    History h;
    int64_t next_value = 1;
    const int clients = static_cast<int>(rng.random_int(1, 6));
    std::vector<int64_t> client_free(static_cast<size_t>(clients), 0);
    struct Pending {
      int64_t commit_ns;
      Transaction t;
    };
    std::vector<Pending> pending;
    for (int n = 0; n < 300; ++n) {
      const auto c = static_cast<size_t>(rng.random_int(0, clients));
      Transaction t;
      t.client = static_cast<uint32_t>(c);
      t.invoked_ns = client_free[c] + rng.random_int(0, 50);
      const int64_t commit = t.invoked_ns + rng.random_int(1, 100);
      t.completed_ns = commit + rng.random_int(0, 100);
      client_free[c] = t.completed_ns + 1;
      const double fate = rng.random01();
      t.outcome = fate < 0.1 ? Outcome::kFailed : fate < 0.15 ? Outcome::kUnknown : Outcome::kOk;
      for (int64_t k = rng.random_int(1, 5); k > 0; --k) {
        const std::string key(1, static_cast<char>('a' + rng.random_int(0, 4)));
        if (rng.coinflip()) t.ops.push_back(append(key, next_value++));
        else t.ops.push_back(read(key, {}));
      }
      pending.push_back({commit, std::move(t)});
    }
    std::stable_sort(pending.begin(), pending.end(),
                     [](const Pending& a, const Pending& b) { return a.commit_ns < b.commit_ns; });
    for (Pending& p : pending) {
      std::map<std::string, std::vector<int64_t>> view = lists;  // the transaction's own view
      for (MicroOp& op : p.t.ops) {
        if (op.kind == MicroOp::Kind::kAppend) view[op.key].push_back(op.value);
        else op.values = view[op.key];
      }
      // An unknown outcome committed or not, as a coin says; nobody learns its reads.
      if (p.t.outcome == Outcome::kOk || (p.t.outcome == Outcome::kUnknown && rng.coinflip()))
        lists = view;
      if (p.t.outcome != Outcome::kOk)
        for (MicroOp& op : p.t.ops) op.values.clear();
      if (p.t.outcome == Outcome::kUnknown) p.t.completed_ns = Transaction::kNotYet;
      h.add(std::move(p.t));
    }
    // A final read of every key, after everything.
    Transaction last;
    last.invoked_ns = 1'000'000'000;
    last.completed_ns = last.invoked_ns + 1;
    last.outcome = Outcome::kOk;
    for (const auto& [key, list] : lists) last.ops.push_back(read(key, list));
    const size_t final_read = h.add(last);
    const ListAppendReport r = check_list_append(h);
    INFO(explain(r));
    REQUIRE(r.valid());

    // Stale: the final read drops the last value of a key, one an ok transaction appended (an
    // unknown one's may not have committed at all).
    std::map<int64_t, Outcome> appended_by;
    for (const Transaction& t : h.transactions())
      for (const MicroOp& op : t.ops)
        if (op.kind == MicroOp::Kind::kAppend) appended_by[op.value] = t.outcome;
    History stale = h;
    Transaction changed = stale.transactions()[final_read];
    bool planted = false;
    for (MicroOp& op : changed.ops) {
      if (!op.values.empty() && appended_by[op.values.back()] == Outcome::kOk) {
        op.values.pop_back();
        planted = true;
        break;
      }
    }
    if (!planted) continue;
    History with_stale;
    for (size_t i = 0; i < final_read; ++i) with_stale.add(stale.transactions()[i]);
    with_stale.add(changed);
    const ListAppendReport s = check_list_append(with_stale);
    INFO(explain(s));
    CHECK(!s.valid());
  }
}
