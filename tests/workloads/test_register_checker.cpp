// The register checker on hand-made histories (stale reads, reads of nothing written, unknown and
// failed writes, malformed transactions), and on random linearizable executions, with and without
// a planted stale read.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "flow/deterministic_random.h"
#include "workloads/checkers/register_checker.h"

using workloads::checkers::check_registers;
using workloads::checkers::History;
using workloads::checkers::MicroOp;
using workloads::checkers::Outcome;
using workloads::checkers::RegisterReport;
using workloads::checkers::Transaction;

namespace {

Transaction op(MicroOp m, int64_t invoked, int64_t completed, Outcome outcome = Outcome::kOk) {
  Transaction t;
  t.invoked_ns = invoked;
  t.completed_ns = outcome == Outcome::kUnknown ? Transaction::kNotYet : completed;
  t.outcome = outcome;
  t.ops.push_back(std::move(m));
  return t;
}
Transaction write(const std::string& key, int64_t v, int64_t invoked, int64_t completed,
                  Outcome outcome = Outcome::kOk) {
  return op({MicroOp::Kind::kWrite, key, v, {}}, invoked, completed, outcome);
}
Transaction read(const std::string& key, std::vector<int64_t> v, int64_t invoked, int64_t completed) {
  return op({MicroOp::Kind::kRead, key, 0, std::move(v)}, invoked, completed);
}

std::string explain(const RegisterReport& r) {
  std::string out;
  for (const auto& v : r.violations) out += v.explanation + "\n";
  for (const auto& m : r.malformed) out += m + "\n";
  return out;
}

}  // namespace

TEST_CASE("register checker: reads of the latest write pass; a stale read does not") {
  History h;
  h.add(write("x", 1, 0, 10));
  h.add(read("x", {1}, 20, 30));
  h.add(write("x", 2, 40, 50));
  h.add(read("x", {2}, 60, 70));
  const RegisterReport ok = check_registers(h);
  INFO(explain(ok));
  CHECK(ok.valid());
  CHECK(ok.operations == 4);

  h.add(read("x", {1}, 80, 90));  // 2 was written and completed before it began
  const RegisterReport stale = check_registers(h);
  INFO(explain(stale));
  REQUIRE(stale.violations.size() == 1);
  CHECK(stale.violations[0].key == "x");
  CHECK(stale.violations[0].transactions == std::vector<size_t>{4});
}

TEST_CASE("register checker: a read concurrent with a write may see either value") {
  History h;
  h.add(write("x", 1, 0, 10));
  h.add(write("x", 2, 20, 100));
  h.add(read("x", {1}, 30, 40));
  h.add(read("x", {2}, 50, 60));
  CHECK(check_registers(h).valid());
  // But not the old value after the new one was seen: once 2 was read, 1 is gone.
  h.add(read("x", {1}, 70, 80));
  CHECK(!check_registers(h).valid());
}

TEST_CASE("register checker: a read of nothing before any write; nothing after one is wrong") {
  History h;
  h.add(read("x", {}, 0, 10));
  h.add(write("x", 1, 20, 30));
  h.add(read("y", {}, 40, 50));  // another key: never written
  CHECK(check_registers(h).valid());
  h.add(read("x", {}, 40, 50));
  CHECK(!check_registers(h).valid());
  History never;
  never.add(read("x", {7}, 0, 10));  // nobody wrote 7
  CHECK(!check_registers(never).valid());
}

TEST_CASE("register checker: an unknown write may land any time after its invocation, or never") {
  History h;
  h.add(write("x", 5, 0, 0, Outcome::kUnknown));
  h.add(read("x", {}, 50, 60));
  h.add(read("x", {5}, 100, 110));
  CHECK(check_registers(h).valid());
  History never;
  never.add(write("x", 5, 0, 0, Outcome::kUnknown));
  never.add(read("x", {}, 50, 60));
  CHECK(check_registers(never).valid());
  History back;
  back.add(write("x", 5, 0, 0, Outcome::kUnknown));
  back.add(read("x", {5}, 50, 60));
  back.add(read("x", {}, 100, 110));  // once seen, it happened
  CHECK(!check_registers(back).valid());
  History before;
  before.add(read("x", {5}, 0, 10));
  before.add(write("x", 5, 20, 0, Outcome::kUnknown));  // invoked after the read completed
  CHECK(!check_registers(before).valid());
}

TEST_CASE("register checker: many unknown writes nobody read do not blow the search up") {
  History h;
  // 40 unknown writes invoked at once (each could land any time after), then reads in sequence:
  // without leaving out the unread ones the search tries their orders; with it, it is immediate.
  for (int64_t v = 1; v <= 40; ++v) h.add(write("x", v, 0, 0, Outcome::kUnknown));
  h.add(write("x", 100, 10, 20));
  h.add(read("x", {100}, 30, 40));
  h.add(read("x", {7}, 50, 60));    // 7 is an unknown write, landing late: allowed
  h.add(read("x", {999}, 70, 80));  // nobody wrote 999
  const RegisterReport r = check_registers(h);
  INFO(explain(r));
  CHECK(r.undecided.empty());
  REQUIRE(r.violations.size() == 1);
  CHECK(r.violations[0].transactions == std::vector<size_t>{43});
  // Unknown writes that were read stay in, and do cost: a dozen concurrent ones still decide.
  History ok;
  for (int64_t v = 1; v <= 12; ++v) ok.add(write("x", v, 0, 0, Outcome::kUnknown));
  for (int64_t v = 1; v <= 12; ++v) ok.add(read("x", {v}, 100 * v, 100 * v + 10));  // each in turn
  const RegisterReport fine = check_registers(ok);
  INFO(explain(fine));
  CHECK(fine.valid());
  CHECK(fine.undecided.empty());
}

TEST_CASE("register checker: a failed write did not happen; malformed transactions are named") {
  History h;
  h.add(write("x", 5, 0, 10, Outcome::kFailed));
  h.add(read("x", {5}, 20, 30));
  CHECK(!check_registers(h).valid());
  History m;
  Transaction two = write("x", 1, 0, 10);
  two.ops.push_back({MicroOp::Kind::kRead, "x", 0, {}});
  m.add(two);
  m.add(op({MicroOp::Kind::kAppend, "x", 1, {}}, 0, 10));
  const RegisterReport r = check_registers(m);
  CHECK(r.malformed.size() == 2);
  CHECK(!r.valid());
}

TEST_CASE("register checker: random linearizable executions pass; a planted stale read fails") {
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    INFO("seed " << seed);
    flow::DeterministicRandom rng(seed);
    // Each operation takes effect at a point inside its interval; the register follows the points.
    struct Planned {
      int64_t point;
      Transaction t;
    };
    std::vector<Planned> plan;
    const int clients = static_cast<int>(rng.random_int(1, 6));
    std::vector<int64_t> free_at(static_cast<size_t>(clients), 0);
    int64_t next_value = 1;
    for (int n = 0; n < 120; ++n) {
      const auto c = static_cast<size_t>(rng.random_int(0, clients));
      const int64_t invoked = free_at[c] + rng.random_int(0, 30);
      const int64_t point = invoked + rng.random_int(0, 50);
      const int64_t completed = point + rng.random_int(0, 50);
      free_at[c] = completed + 1;
      const std::string key(1, static_cast<char>('a' + rng.random_int(0, 2)));
      const double fate = rng.random01();
      const Outcome outcome = fate < 0.1 ? Outcome::kFailed : fate < 0.2 ? Outcome::kUnknown : Outcome::kOk;
      Transaction t = rng.coinflip() ? write(key, next_value++, invoked, completed, outcome)
                                     : read(key, {}, invoked, completed);
      if (t.ops[0].kind == MicroOp::Kind::kRead && outcome == Outcome::kFailed) continue;
      t.outcome = outcome;
      t.completed_ns = outcome == Outcome::kUnknown ? Transaction::kNotYet : completed;
      plan.push_back({point, std::move(t)});
    }
    std::stable_sort(plan.begin(), plan.end(), [](const Planned& a, const Planned& b) { return a.point < b.point; });
    // The register, with its value's writer: completed when (kNotYet unless ok).
    struct Held {
      std::vector<int64_t> value;
      int64_t writer_completed = Transaction::kNotYet;
    };
    std::map<std::string, Held> reg;
    // For the planted stale read: values surely replaced — written by an ok write that completed
    // before an ok write replacing it began — with when the replacing write completed.
    struct Replaced {
      int64_t value;
      int64_t replacer_completed;
    };
    std::map<std::string, std::vector<Replaced>> replaced;
    History h;
    for (Planned& p : plan) {
      MicroOp& m = p.t.ops[0];
      if (m.kind == MicroOp::Kind::kWrite) {
        // An unknown write happens or not, as a coin says.
        const bool ok = p.t.outcome == Outcome::kOk;
        const bool happens = ok || (p.t.outcome == Outcome::kUnknown && rng.coinflip());
        if (happens) {
          Held& held = reg[m.key];
          if (!held.value.empty() && ok && held.writer_completed < p.t.invoked_ns)
            replaced[m.key].push_back({held.value[0], p.t.completed_ns});
          held = {{m.value}, ok ? p.t.completed_ns : Transaction::kNotYet};
        }
      } else {
        m.values = reg[m.key].value;
      }
      h.add(std::move(p.t));
    }
    const RegisterReport r = check_registers(h);
    INFO(explain(r));
    REQUIRE(r.valid());
    REQUIRE(r.undecided.empty());

    // Plant: an ok read, begun after some value was surely replaced, returns that old value.
    History planted;
    bool done = false;
    for (const Transaction& t : h.transactions()) {
      Transaction copy = t;
      if (!done && t.outcome == Outcome::kOk && t.ops[0].kind == MicroOp::Kind::kRead) {
        for (const Replaced& old : replaced[t.ops[0].key]) {
          if (old.replacer_completed < t.invoked_ns) {
            copy.ops[0].values = {old.value};
            done = true;
            break;
          }
        }
      }
      planted.add(copy);
    }
    if (!done) continue;
    const RegisterReport s = check_registers(planted);
    CHECK(!s.valid());
  }
}
