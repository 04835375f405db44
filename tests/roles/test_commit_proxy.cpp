// The commit proxy among the roles it drives, in a quiet simulated cluster (a master, two
// resolvers split at "m", a log, two storage servers split at "m", a GRV proxy): a committed
// transaction is durable and readable at its version by a read version asked for after it; a
// conflict is found on either resolver's side and its read ranges reported; a read version older
// than the window is too old; versionstamps are placed; a client's bad transaction gets a named
// error and changes nothing.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "flow/flow.h"
#include "roles/commit_proxy/commit_proxy_interface.h"
#include "roles/common/limits.h"
#include "roles/common/versionstamp.h"
#include "roles/grv_proxy/grv_proxy_interface.h"
#include "roles/storage_server/storage_server_interface.h"
#include "tests/roles/database_stack.h"

using namespace std::chrono_literals;
using namespace roles;
using roles_testing::outcome;
namespace wp = strata::wire::commit_proxy;
namespace ws = strata::wire::storage;
namespace ww = strata::wire;

namespace {

using Database = roles_testing::DatabaseStack;

std::unique_ptr<ww::KeyRangeT> range(const std::string& b, const std::string& e) {
  auto r = std::make_unique<ww::KeyRangeT>();
  r->begin.assign(b.begin(), b.end());
  r->end.assign(e.begin(), e.end());
  return r;
}

std::unique_ptr<ww::MutationT> mutation(MutationType type, const std::string& a, const std::string& b) {
  return std::make_unique<ww::MutationT>(to_wire({type, a, b}));
}

// A transaction that read `reads` at `rv` and sets `key` to `value` (if key is not empty).
wp::CommitTransactionRequestT txn(Version rv, std::vector<std::string> reads, const std::string& key,
                                  const std::string& value, bool report = false) {
  wp::CommitTransactionRequestT t;
  t.read_version = rv;
  t.report_conflicting_keys = report;
  for (const std::string& k : reads) t.read_conflict_ranges.push_back(range(k, k + '\0'));
  if (!key.empty()) {
    t.write_conflict_ranges.push_back(range(key, key + '\0'));
    t.mutations.push_back(mutation(MutationType::kSet, key, value));
  }
  return t;
}

}  // namespace

TEST_CASE("commit proxy: a commit is readable at its version, and read versions asked after it see it") {
  Database db(1);
  db.client([&db] {
    for (int i = 0; i < 10; ++i) {
      const std::string key = i % 2 ? "a" + std::to_string(i) : "x" + std::to_string(i);
      const auto reply = flow::wait(db.proxy.commit.get_reply(txn(db.read_version(), {}, key, "v")));
      REQUIRE(reply.outcome == wp::CommitOutcome::Committed);
      const Version rv = db.read_version();
      CHECK(rv >= reply.version);
      CHECK(db.get(key, rv) == "v");
      CHECK(db.get(key, reply.version - 1) == "-");
    }
    return 0;
  });
}

TEST_CASE("commit proxy: conflicts are found on either resolver's side and reported") {
  Database db(2);
  db.client([&db] {
    const Version rv = db.read_version();
    // Another transaction writes b and y after rv.
    auto other = flow::wait(db.proxy.commit.get_reply(txn(rv, {}, "b", "1")));
    REQUIRE(other.outcome == wp::CommitOutcome::Committed);
    other = flow::wait(db.proxy.commit.get_reply(txn(rv, {}, "y", "1")));
    REQUIRE(other.outcome == wp::CommitOutcome::Committed);
    const auto left = flow::wait(db.proxy.commit.get_reply(txn(rv, {"q", "b"}, "c", "2", true)));
    CHECK(left.outcome == wp::CommitOutcome::Conflict);
    CHECK(left.conflicting_read_ranges == std::vector<uint32_t>{1});
    const auto right = flow::wait(db.proxy.commit.get_reply(txn(rv, {"y", "a"}, "c", "2", true)));
    CHECK(right.outcome == wp::CommitOutcome::Conflict);
    CHECK(right.conflicting_read_ranges == std::vector<uint32_t>{0});
    // Nothing of the conflicting transactions was written.
    CHECK(db.get("c", db.read_version()) == "-");
    // Read at a version after the writes: no conflict.
    const auto later = flow::wait(db.proxy.commit.get_reply(txn(db.read_version(), {"b", "y"}, "c", "3")));
    CHECK(later.outcome == wp::CommitOutcome::Committed);
    return 0;
  });
}

TEST_CASE("commit proxy: a read version older than the window is too old") {
  Database db(3);
  db.client([&db] {
    const Version old = db.read_version();
    for (int i = 0; i < 8; ++i) {
      flow::wait(flow::delay(1s));
      flow::wait(db.proxy.commit.get_reply(txn(db.read_version(), {}, "t", std::to_string(i))));
    }
    CHECK(outcome(db.proxy.commit.get_reply(txn(old, {"t"}, "u", "1"))) ==
          flow::ErrorCode::transaction_too_old);
    return 0;
  });
}

TEST_CASE("commit proxy: versionstamped keys and values get the version and the batch index") {
  Database db(4);
  db.client([&db] {
    wp::CommitTransactionRequestT t;
    t.read_version = db.read_version();
    std::string key = "vs/" + std::string(10, '\0');
    const uint32_t at = 3;
    key += std::string(reinterpret_cast<const char*>(&at), 4);  // little-endian offset
    t.mutations.push_back(mutation(MutationType::kSetVersionstampedKey, key, "k"));
    std::string value = "p" + std::string(10, '\0');
    const uint32_t one = 1;
    value += std::string(reinterpret_cast<const char*>(&one), 4);
    t.mutations.push_back(mutation(MutationType::kSetVersionstampedValue, "vv", value));
    const auto reply = flow::wait(db.proxy.commit.get_reply(t));
    REQUIRE(reply.outcome == wp::CommitOutcome::Committed);
    const Versionstamp stamp = make_versionstamp(reply.version, reply.batch_index);
    const std::string s(stamp.begin(), stamp.end());
    CHECK(db.get("vs/" + s, reply.version) == "k");
    CHECK(db.get("vv", reply.version) == "p" + s);
    return 0;
  });
}

TEST_CASE("commit proxy: a bad transaction gets a named error and changes nothing") {
  Database db(5);
  db.client([&db] {
    const Version rv = db.read_version();
    const auto refused = [&db](wp::CommitTransactionRequestT t) {
      return outcome(db.proxy.commit.get_reply(t));
    };
    CHECK(refused(txn(rv, {}, std::string(key_bytes_max + 1, 'k'), "v")) == flow::ErrorCode::key_too_large);
    CHECK(refused(txn(rv, {}, "k", std::string(value_bytes_max + 1, 'v'))) == flow::ErrorCode::value_too_large);
    CHECK(refused(txn(rv, {}, "\xff/keyServers/a", "v")) == flow::ErrorCode::key_outside_legal_range);
    CHECK(refused(txn(rv, {}, "\xff\xff/x", "v")) == flow::ErrorCode::key_outside_legal_range);
    CHECK(refused(txn(-1, {}, "k", "v")) == flow::ErrorCode::version_invalid);
    auto inverted = txn(rv, {}, "k", "v");
    inverted.read_conflict_ranges.push_back(range("z", "a"));
    CHECK(refused(std::move(inverted)) == flow::ErrorCode::inverted_range);
    auto clear_map = txn(rv, {}, "", "");
    clear_map.mutations.push_back(mutation(MutationType::kClearRange, "\xff", "\xff\xff"));
    CHECK(refused(std::move(clear_map)) == flow::ErrorCode::key_outside_legal_range);
    auto unknown = txn(rv, {}, "k", "v");
    unknown.mutations[0]->type = 99;
    CHECK(refused(std::move(unknown)) == flow::ErrorCode::client_invalid_operation);
    auto big = txn(rv, {}, "", "");
    for (int i = 0; i < 101; ++i)
      big.mutations.push_back(mutation(MutationType::kSet, "big" + std::to_string(i), std::string(value_bytes_max, 'v')));
    CHECK(refused(std::move(big)) == flow::ErrorCode::transaction_too_large);
    auto bad_stamp = txn(rv, {}, "", "");
    bad_stamp.mutations.push_back(mutation(MutationType::kSetVersionstampedKey, "short", "v"));
    CHECK(refused(std::move(bad_stamp)) == flow::ErrorCode::client_invalid_operation);
    CHECK(db.get("k", db.read_version()) == "-");
    // What is refused is only what must be: a clear near the shard map's keys, and a
    // versionstamped key whose placeholder bytes would be refused as they are, pass.
    auto near_map = txn(rv, {}, "", "");
    near_map.mutations.push_back(mutation(MutationType::kClearRange, "\xff/l", "\xff/m"));
    CHECK(refused(std::move(near_map)) == flow::ErrorCode::success);
    auto stamped = txn(rv, {}, "", "");
    std::string key = std::string(10, '\xff') + "tail";
    const uint32_t zero = 0;
    key += std::string(reinterpret_cast<const char*>(&zero), 4);
    stamped.mutations.push_back(mutation(MutationType::kSetVersionstampedKey, key, "v"));
    CHECK(refused(std::move(stamped)) == flow::ErrorCode::success);
    return 0;
  });
}

TEST_CASE("commit proxy: locations name each shard's servers") {
  Database db(6);
  db.client([&db] {
    wp::GetKeyServerLocationsRequestT r;
    r.begin = {'a'};
    r.end = {'z'};
    r.limit = 10;
    const auto reply = flow::wait(db.proxy.get_key_server_locations.get_reply(r));
    REQUIRE(reply.shards.size() == 2);
    CHECK(reply.shards[0]->end == std::vector<uint8_t>{'m'});
    CHECK(reply.shards[0]->servers.at(0)->tag == 1);
    CHECK(reply.shards[1]->servers.at(0)->tag == 2);
    r.limit = 0;
    CHECK(outcome(db.proxy.get_key_server_locations.get_reply(r)) == flow::ErrorCode::client_invalid_operation);
    return 0;
  });
}
