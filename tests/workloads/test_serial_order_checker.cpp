// The serial-order checker on hand-made histories: reads at the read version with the
// transaction's own writes on top, commits in versionstamp order, a stale read, a missed
// conflict, a read version behind an acknowledged commit, and the model's own adds and ranges.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "workloads/checkers/serial_order_checker.h"

using workloads::checkers::check_serial_order;
using workloads::checkers::SerialOp;
using workloads::checkers::SerialOrderReport;
using workloads::checkers::SerialTransaction;

namespace {

SerialOp op(SerialOp::Kind kind, std::string key, std::string end = "", std::string value = "") {
  SerialOp o{};
  o.kind = kind;
  o.key = std::move(key);
  o.end = std::move(end);
  o.value = std::move(value);
  return o;
}
SerialOp set(std::string k, std::string v) { return op(SerialOp::Kind::kSet, std::move(k), "", std::move(v)); }
SerialOp get(std::string k, std::optional<std::string> got) {
  SerialOp o = op(SerialOp::Kind::kGet, std::move(k));
  o.returned = true;
  o.got = std::move(got);
  return o;
}
SerialOp range(std::string b, std::string e, int64_t limit, bool reverse,
               std::vector<std::pair<std::string, std::string>> rows) {
  SerialOp o = op(SerialOp::Kind::kGetRange, std::move(b), std::move(e));
  o.limit = limit;
  o.reverse = reverse;
  o.returned = true;
  o.rows = std::move(rows);
  return o;
}

SerialTransaction txn(int64_t rv, std::optional<std::pair<int64_t, uint16_t>> at, std::vector<SerialOp> ops,
                      int64_t invoked = 0, int64_t acknowledged = -1) {
  SerialTransaction t;
  t.read_version = rv;
  t.committed_at = at;
  t.ops = std::move(ops);
  t.invoked_ns = invoked;
  t.acknowledged_ns = acknowledged;
  return t;
}

std::string explain(const SerialOrderReport& r) {
  std::string out;
  for (const auto& v : r.violations) out += v + "\n";
  return out;
}

}  // namespace

TEST_CASE("serial-order checker: reads see the commits at or below their read version, and their own writes") {
  std::vector<SerialTransaction> ts;
  ts.push_back(txn(0, std::pair{10, 0}, {set("a", "1"), set("b", "2")}));
  ts.push_back(txn(10, std::pair{20, 0}, {get("a", "1"), set("a", "3"), get("a", "3")}));
  ts.push_back(txn(15, std::nullopt, {get("a", "1"), range("a", "z", 0, false, {{"a", "1"}, {"b", "2"}})}));
  ts.push_back(txn(20, std::nullopt, {range("a", "z", 1, true, {{"b", "2"}}), get("a", "3")}));
  const SerialOrderReport r = check_serial_order(ts);
  INFO(explain(r));
  CHECK(r.valid());
  CHECK(r.committed == 2);
  CHECK(r.reads_checked == 6);
}

TEST_CASE("serial-order checker: a stale read is named with what the database held") {
  std::vector<SerialTransaction> ts;
  ts.push_back(txn(0, std::pair{10, 0}, {set("a", "1")}));
  ts.push_back(txn(12, std::nullopt, {get("a", std::nullopt)}));
  const SerialOrderReport r = check_serial_order(ts);
  REQUIRE(r.violations.size() == 1);
  CHECK(r.violations[0].find("the model holds '1'") != std::string::npos);
}

TEST_CASE("serial-order checker: a commit whose read changed between its read version and its commit") {
  std::vector<SerialTransaction> ts;
  ts.push_back(txn(0, std::pair{10, 0}, {set("a", "1")}));
  ts.push_back(txn(10, std::pair{30, 0}, {get("a", "1"), set("b", "x")}));  // read a at 10...
  ts.push_back(txn(10, std::pair{20, 0}, {set("a", "2")}));                 // ...a changed at 20
  const SerialOrderReport r = check_serial_order(ts);
  INFO(explain(r));
  REQUIRE(r.violations.size() == 1);
  CHECK(r.violations[0].find("changed before") != std::string::npos);
  // In one batch, the order is the batch index's.
  std::vector<SerialTransaction> batch;
  batch.push_back(txn(0, std::pair{10, 1}, {get("a", std::nullopt), set("b", "1")}));
  batch.push_back(txn(0, std::pair{10, 0}, {set("a", "1")}));
  CHECK(!check_serial_order(batch).valid());  // index 0 wrote a before index 1 read it
  batch[0].committed_at = std::pair{10, 0};
  batch[1].committed_at = std::pair{10, 1};
  CHECK(check_serial_order(batch).valid());
}

TEST_CASE("serial-order checker: a read version behind a commit acknowledged before the transaction began") {
  std::vector<SerialTransaction> ts;
  ts.push_back(txn(0, std::pair{10, 0}, {set("a", "1")}, 0, 100));
  ts.push_back(txn(5, std::nullopt, {get("a", std::nullopt)}, 200));  // began at 200, read at 5
  const SerialOrderReport r = check_serial_order(ts);
  INFO(explain(r));
  REQUIRE(r.violations.size() == 1);
  CHECK(r.violations[0].find("T1 began after T0 completed") != std::string::npos);
  ts[1].invoked_ns = 50;  // began before the acknowledgement: reading at 5 is allowed
  CHECK(check_serial_order(ts).valid());
}

TEST_CASE("serial-order checker: a read version behind a read-only transaction completed before") {
  std::vector<SerialTransaction> ts;
  ts.push_back(txn(0, std::pair{95, 0}, {set("x", "1")}, 0, 1000));
  ts.push_back(txn(100, std::nullopt, {get("x", "1")}, 1, 5));  // read-only, done at 5
  ts.push_back(txn(90, std::nullopt, {get("x", std::nullopt)}, 6));  // began at 6, read at 90
  const SerialOrderReport r = check_serial_order(ts);
  INFO(explain(r));
  REQUIRE(r.violations.size() == 1);
  CHECK(r.violations[0].find("T2 began after T1 completed") != std::string::npos);
}

TEST_CASE("serial-order checker: adds, clears and clear ranges in the model") {
  std::vector<SerialTransaction> ts;
  const SerialOp add = op(SerialOp::Kind::kAdd, "n", "", std::string("\xff\x00", 2));
  const SerialOp add_one = op(SerialOp::Kind::kAdd, "n", "", std::string("\x01", 1));  // width 1: wraps
  ts.push_back(txn(0, std::pair{10, 0}, {add, add}));
  ts.push_back(txn(10, std::pair{20, 0}, {get("n", std::string("\xfe\x01", 2)), add_one, get("n", std::string("\xff", 1))}));
  ts.push_back(txn(20, std::pair{30, 0}, {set("a", "1"), set("b", "2"), set("c", "3"),
                                           op(SerialOp::Kind::kClearRange, "a", "c"),
                                           op(SerialOp::Kind::kClear, "c"),
                                           range("", "\xff", 0, false, {{"n", std::string("\xff", 1)}})}));
  const SerialOrderReport r = check_serial_order(ts);
  INFO(explain(r));
  CHECK(r.valid());
}
