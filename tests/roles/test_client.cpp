// The client's reads against one generation of the database (tests/roles/database_stack.h, with
// shards split at "c", "m" and "t" so that reads cross servers): range reads forward and back
// with row and byte limits; read-your-writes over ranges (sets, clears, clear ranges, atomic
// operations) with limits counting the rows the transaction sees; key selectors at edges and
// across shards, resolved by the servers and over the merged view alike; snapshot reads and
// limit-narrowed conflict ranges; cancel; bad input.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "client/database.h"
#include "client/transaction.h"
#include "flow/flow.h"
#include "roles/common/atomic.h"
#include "tests/roles/database_stack.h"

using client::KeySelector;
using client::KeyValue;
using client::RangeLimits;
using client::RangeResult;
using client::Transaction;
using roles_testing::outcome;

namespace {

using Stack = roles_testing::DatabaseStack;

std::vector<std::string> keys_of(const RangeResult& r) {
  std::vector<std::string> keys;
  for (const KeyValue& kv : r.rows) keys.push_back(kv.key);
  return keys;
}

// Writes key=value for each key (value "v" + key), committed.
void load(client::Database& db, const std::vector<std::string>& keys) {
  db.run([&](Transaction& t) {
    for (const std::string& k : keys) t.set(k, "v" + k);
  });
}

const std::vector<std::string> kKeys{"a", "b", "c", "d", "l", "m", "n", "s", "t", "u", "z"};

}  // namespace

TEST_CASE("client get_range: across shards, forward and reverse, with row and byte limits") {
  Stack db(1, {"c", "m", "t"});
  db.client([&] {
    auto d = db.open();
    load(*d, kKeys);
    Transaction t(*d);
    CHECK(keys_of(t.get_range("", "\xff")) == kKeys);
    CHECK(keys_of(t.get_range("b", "t")) == std::vector<std::string>{"b", "c", "d", "l", "m", "n", "s"});
    CHECK(keys_of(t.get_range("b", "t", {.reverse = true})) ==
          std::vector<std::string>{"s", "n", "m", "l", "d", "c", "b"});
    RangeResult r = t.get_range("b", "z", {.rows = 3});
    CHECK(keys_of(r) == std::vector<std::string>{"b", "c", "d"});
    CHECK(r.more);
    r = t.get_range("b", "z", {.rows = 3, .reverse = true});
    CHECK(keys_of(r) == std::vector<std::string>{"u", "t", "s"});
    CHECK(r.more);
    r = t.get_range("b", "d", {.rows = 5});
    CHECK(keys_of(r) == std::vector<std::string>{"b", "c"});
    CHECK_FALSE(r.more);
    // Each row is 1 + 2 bytes: a limit of 4 stops after the second row.
    r = t.get_range("", "\xff", {.bytes = 4});
    CHECK(keys_of(r) == std::vector<std::string>{"a", "b"});
    CHECK(r.more);
    CHECK(t.get_range("", "\xff").rows[4] == KeyValue{"l", "vl"});
    CHECK(t.get_range("e", "e").rows.empty());
    CHECK(t.get_range("e", "k").rows.empty());
  });
}

TEST_CASE("client get_range: sees the transaction's own sets, clears and atomic operations, limits count what it sees") {
  Stack db(2, {"c", "m", "t"});
  db.client([&] {
    auto d = db.open();
    load(*d, kKeys);
    Transaction t(*d);
    t.clear_range("b", "n");           // b c d l m gone
    t.set("c", "new");                 // back, after the clear
    t.clear("s");
    t.set("e", "fresh");               // a key the database does not hold
    t.atomic_op(roles::MutationType::kAppendIfFits, "u", "+");   // over a stored value
    t.atomic_op(roles::MutationType::kAppendIfFits, "x", "+");   // over an absent one
    t.atomic_op(roles::MutationType::kAppendIfFits, "d", "+");   // over a cleared one
    const std::vector<KeyValue> seen{{"a", "va"}, {"c", "new"}, {"d", "+"}, {"e", "fresh"}, {"n", "vn"},
                                     {"t", "vt"}, {"u", "vu+"}, {"x", "+"},  {"z", "vz"}};
    CHECK(t.get_range("", "\xff").rows == seen);
    std::vector<KeyValue> backward(seen.rbegin(), seen.rend());
    CHECK(t.get_range("", "\xff", {.reverse = true}).rows == backward);
    // Limits count rows as seen: the three after "a" are c, d, e although the database holds b, c, d.
    RangeResult r = t.get_range("a\x01", "\xff", {.rows = 3});
    CHECK(keys_of(r) == std::vector<std::string>{"c", "d", "e"});
    CHECK(r.more);
    r = t.get_range("", "u", {.rows = 2, .reverse = true});
    CHECK(keys_of(r) == std::vector<std::string>{"t", "n"});
    // Point reads agree.
    CHECK(t.get("u") == "vu+");
    CHECK(t.get("b") == std::nullopt);
    t.commit();
    // Committed, the database holds what the transaction saw.
    Transaction after(*d);
    CHECK(after.get_range("", "\xff").rows == seen);
  });
}

TEST_CASE("client get_key: selectors at edges and across shards agree with and without the transaction's writes") {
  Stack db(3, {"c", "m", "t"});
  db.client([&] {
    auto d = db.open();
    load(*d, kKeys);
    for (const bool with_writes : {false, true}) {
      CAPTURE(with_writes);
      Transaction t(*d);
      // A write that changes nothing the selectors see: the merged view resolves them.
      if (with_writes) t.set("l", "vl");
      CHECK(t.get_key(KeySelector::first_greater_or_equal("d")) == "d");
      CHECK(t.get_key(KeySelector::first_greater_than("d")) == "l");
      CHECK(t.get_key(KeySelector::last_less_or_equal("d")) == "d");
      CHECK(t.get_key(KeySelector::last_less_than("d")) == "c");
      CHECK(t.get_key(KeySelector::first_greater_or_equal("e")) == "l");
      CHECK(t.get_key(KeySelector::last_less_or_equal("e")) == "d");
      // Across several shards each way.
      CHECK(t.get_key({"b", false, 6}) == "n");
      CHECK(t.get_key({"u", true, -6}) == "d");
      CHECK(t.get_key({"c", false, 0}) == "b");   // a shard's first key, going back
      CHECK(t.get_key({"m", false, 1}) == "m");
      // Off either end of the keys.
      CHECK(t.get_key({"z", true, 1}) == "\xff");
      CHECK(t.get_key({"a", false, 100}) == "\xff");
      CHECK(t.get_key({"a", false, 0}) == "");
      CHECK(t.get_key({"z", true, -100}) == "");
      CHECK(t.get_key(KeySelector::first_greater_or_equal("")) == "a");
      CHECK(t.get_key(KeySelector::last_less_than("\xff")) == "z");
      // Selectors as a range's ends.
      CHECK(keys_of(t.get_range(KeySelector::first_greater_than("c"), KeySelector::first_greater_or_equal("n"))) ==
            std::vector<std::string>{"d", "l", "m"});
      CHECK(keys_of(t.get_range(KeySelector::last_less_than("n"), {"n", false, 3})) ==
            std::vector<std::string>{"m", "n", "s"});
      CHECK(t.get_range(KeySelector::first_greater_or_equal("n"), KeySelector::first_greater_or_equal("c")).rows.empty());
    }
    Transaction t(*d);
    t.clear("d");
    t.set("e", "x");
    CHECK(t.get_key(KeySelector::first_greater_than("c")) == "e");
    CHECK(t.get_key(KeySelector::last_less_than("l")) == "e");
    CHECK(t.get_key({"c", false, 3}) == "l");
  });
}

TEST_CASE("client reads: a snapshot read adds no conflict; a limited read conflicts only up to its last row") {
  Stack db(4, {"m"});
  db.client([&] {
    auto d = db.open();
    load(*d, {"b", "d", "f", "x"});
    // Reads "b" only (limit 1); a write at "e" after it does not conflict, one at "b" does unless the read was a snapshot.
    const auto limited_read_then = [&](const std::string& other_write, bool snapshot) {
      Transaction t(*d);
      CHECK(keys_of(t.get_range("a", "z", {.rows = 1}, snapshot)) == std::vector<std::string>{"b"});
      d->run([&](Transaction& o) { o.set(other_write, "1"); });
      t.set("q", "1");
      return outcome(flow::spawn([&] { t.commit(); }));
    };
    CHECK(limited_read_then("e", false) == flow::ErrorCode::success);
    CHECK(limited_read_then("b", true) == flow::ErrorCode::success);
    CHECK(limited_read_then("b", false) == flow::ErrorCode::not_committed);
    // A selector depends on the keys between its anchor and its answer.
    // The database holds b d e f q x now.
    const auto selector_then = [&](const std::string& other_write) {
      Transaction t(*d);
      CHECK(t.get_key(KeySelector::first_greater_than("q")) == "x");
      d->run([&](Transaction& o) { o.set(other_write, "1"); });
      t.set("q", "1");
      return outcome(flow::spawn([&] { t.commit(); }));
    };
    CHECK(selector_then("x0") == flow::ErrorCode::success);
    CHECK(selector_then("r") == flow::ErrorCode::not_committed);
  });
}

TEST_CASE("client: bad reads are named errors; cancel ends the transaction until reset") {
  Stack db(5, {"m"});
  db.client([&] {
    auto d = db.open();
    load(*d, {"a"});
    Transaction t(*d);
    CHECK(outcome(flow::spawn([&] { t.get_range("b", "a"); })) == flow::ErrorCode::inverted_range);
    CHECK(outcome(flow::spawn([&] { t.get_range("a", "b", {.rows = -1}); })) ==
          flow::ErrorCode::client_invalid_operation);
    CHECK(outcome(flow::spawn([&] { t.get_key(KeySelector::first_greater_or_equal("\xff\x01")); })) ==
          flow::ErrorCode::key_outside_legal_range);
    CHECK(outcome(flow::spawn([&] { t.get_range("a", "\xff\x01"); })) == flow::ErrorCode::key_outside_legal_range);
    t.set_access_system_keys(true);
    CHECK(outcome(flow::spawn([&] { t.get_range("a", "\xff\x01"); })) == flow::ErrorCode::success);
    t.cancel();
    CHECK(outcome(flow::spawn([&] { t.get("a"); })) == flow::ErrorCode::transaction_cancelled);
    CHECK(outcome(flow::spawn([&] { t.set("a", "b"); })) == flow::ErrorCode::transaction_cancelled);
    CHECK(outcome(flow::spawn([&] { t.on_error(flow::Error(flow::ErrorCode::transaction_cancelled)); })) ==
          flow::ErrorCode::transaction_cancelled);
    // A read waiting when cancel comes ends with transaction_cancelled.
    t.reset();
    auto waiting = flow::spawn([&] { return t.get_range("", "\xff"); });
    t.cancel();
    CHECK(outcome(waiting) == flow::ErrorCode::transaction_cancelled);
    t.reset();
    CHECK(t.get("a") == "va");
  });
}

// The README's first transaction, word for word.
std::optional<std::string> first_transaction(client::Database& db) {
  db.run([](client::Transaction& t) {
    t.set("hello", "world");
    t.atomic_op(roles::MutationType::kAdd, "visits", std::string("\x01\0\0\0\0\0\0\0", 8));
  });
  return db.run([](client::Transaction& t) {
    const client::RangeResult r = t.get_range("a", "z", {.rows = 10});  // hello=world, visits=1
    (void)r;
    return t.get("hello");  // "world"
  });
}

TEST_CASE("README: a first transaction") {
  Stack db(6, {"m"});
  db.client([&] {
    auto d = db.open();
    CHECK(first_transaction(*d) == "world");
    Transaction t(*d);
    CHECK(t.get_range("a", "z").rows ==
          std::vector<KeyValue>{{"hello", "world"}, {"visits", std::string("\x01\0\0\0\0\0\0\0", 8)}});
    return 0;
  });
}

TEST_CASE("the first batch writes the shard map to \\xff/keyServers/ and \\xff/serverKeys/; clients may not") {
  Stack db(7, {"m"});
  db.client([&] {
    auto d = db.open();
    load(*d, {"a"});  // the first commit: its batch carries the shard map
    Transaction t(*d);
    t.set_access_system_keys(true);
    const std::string ss = db.sim.process(3).address.to_string();
    CHECK(t.get_range("\xff/keyServers/", "\xff/keyServers0").rows ==
          std::vector<KeyValue>{{"\xff/keyServers/", "1@" + ss}, {"\xff/keyServers/m", "2@" + ss}});
    CHECK(t.get_range("\xff/serverKeys/", "\xff/serverKeys0").rows ==
          std::vector<KeyValue>{{"\xff/serverKeys/00001/", "1"},
                                {"\xff/serverKeys/00001/m", "0"},
                                {"\xff/serverKeys/00002/m", "1"},
                                {"\xff/serverKeys/00002/\xff\xff", "0"}});
    t.set("\xff/keyServers/x", "1@1.2.3.4:5");
    CHECK(outcome(flow::spawn([&] { t.commit(); })) == flow::ErrorCode::key_outside_legal_range);
    return 0;
  });
}
