// The master role in a quiet simulated cluster: a proxy's requests are answered in number order
// and a repeated one with the same versions, the committed version only rises and is what GRV
// requests see, and what a peer must not send is refused or dropped, never asserted on.
#include <doctest/doctest.h>

#include <chrono>
#include <vector>

#include "flow/flow.h"
#include "roles/master/commit_versions.h"
#include "roles/master/master_interface.h"
#include "tests/roles/role_cluster.h"

using namespace std::chrono_literals;
using roles::MasterInterface;
using roles_testing::outcome;
namespace wm = strata::wire::master;

namespace {

struct Cluster : roles_testing::RoleCluster {
  explicit Cluster(uint64_t seed) : RoleCluster(seed) {}
  MasterInterface start_master(roles::MasterInit init) {
    const auto in = make_interface<MasterInterface>(1);
    start(1, "master", [in, init] { roles::run_master(in, init); });
    return in;
  }
};

wm::GetCommitVersionRequestT ask(uint32_t proxy, uint64_t number, uint64_t processed = 0,
                                 uint64_t epoch = 1) {
  wm::GetCommitVersionRequestT r;
  r.epoch = epoch;
  r.proxy_id = proxy;
  r.request_number = number;
  r.most_recent_processed = processed;
  return r;
}

wm::ReportCommittedRequestT report(roles::Version v, uint64_t epoch = 1) {
  wm::ReportCommittedRequestT r;
  r.epoch = epoch;
  r.version = v;
  return r;
}

roles::Version live(const MasterInterface& m, uint64_t epoch = 1) {
  wm::GetLiveCommittedVersionRequestT r;
  r.epoch = epoch;
  return flow::wait(m.get_live_committed_version.get_reply(r)).version;
}

}  // namespace

TEST_CASE("master: one proxy's requests sent out of order are answered in number order") {
  Cluster c(1);
  const MasterInterface m = c.start_master({.epoch = 1, .start_version = 100});
  c.client([&m] {
    auto third = m.get_commit_version.get_reply(ask(1, 3));
    flow::wait(flow::delay(10ms));
    auto second = m.get_commit_version.get_reply(ask(1, 2));
    flow::wait(flow::delay(10ms));
    CHECK(!third.is_ready());
    CHECK(!second.is_ready());
    auto first = m.get_commit_version.get_reply(ask(1, 1));
    const auto a = flow::wait(first);
    const auto b = flow::wait(second);
    const auto d = flow::wait(third);
    CHECK(a.request_number == 1);
    CHECK(a.prev_version == 100);
    CHECK(b.prev_version == a.version);  // the chain has no gap
    CHECK(d.prev_version == b.version);
    CHECK(a.version < b.version);
    CHECK(b.version < d.version);
    return 0;
  });
}

TEST_CASE("master: versions advance about a million per second of the clock, never more per step") {
  Cluster c(2);
  const MasterInterface m = c.start_master({.epoch = 1, .start_version = 0});
  c.client([&m] {
    const auto a = flow::wait(m.get_commit_version.get_reply(ask(1, 1)));
    flow::wait(flow::delay(100ms));
    const auto b = flow::wait(m.get_commit_version.get_reply(ask(1, 2, 1)));
    CHECK(b.prev_version == a.version);
    // 100 ms and a round trip apart: about 100,000 versions (a buggified leap gives 1,000,000).
    CHECK(b.version - a.version >= 100'000);
    CHECK(b.version - a.version <= roles::kVersionJumpMax);
    flow::wait(flow::delay(30s));
    const auto d = flow::wait(m.get_commit_version.get_reply(ask(1, 3, 2)));
    CHECK(d.version - b.version == roles::kVersionJumpMax);
    return 0;
  });
}

TEST_CASE("master: a repeated request gets the versions it had; a used one is forgotten") {
  Cluster c(3);
  const MasterInterface m = c.start_master({.epoch = 1, .start_version = 0});
  c.client([&m] {
    const auto a = flow::wait(m.get_commit_version.get_reply(ask(4, 1)));
    const auto again = flow::wait(m.get_commit_version.get_reply(ask(4, 1)));
    CHECK(again.version == a.version);
    CHECK(again.prev_version == a.prev_version);
    // Request 2 says 1 was processed: its answer may go, and a late repeat of 1 is dropped.
    const auto b = flow::wait(m.get_commit_version.get_reply(ask(4, 2, 1)));
    CHECK(b.prev_version == a.version);
    CHECK(outcome(m.get_commit_version.get_reply(ask(4, 1))) == flow::ErrorCode::broken_promise);
    // Another proxy's numbers are its own, on the same chain of versions.
    const auto other = flow::wait(m.get_commit_version.get_reply(ask(9, 1)));
    CHECK(other.prev_version == b.version);
    return 0;
  });
}

TEST_CASE("master: the committed version only rises, and is what GetLiveCommittedVersion says") {
  Cluster c(4);
  const MasterInterface m = c.start_master({.epoch = 1, .start_version = 50});
  c.client([&m] {
    CHECK(live(m) == 50);
    const auto a = flow::wait(m.get_commit_version.get_reply(ask(1, 1)));
    const auto b = flow::wait(m.get_commit_version.get_reply(ask(1, 2, 1)));
    flow::wait(m.report_committed.get_reply(report(b.version)));
    CHECK(live(m) == b.version);
    flow::wait(m.report_committed.get_reply(report(a.version)));  // late, lower: no effect
    CHECK(live(m) == b.version);
    return 0;
  });
}

TEST_CASE("master: another epoch is refused; malformed requests and reports are dropped") {
  Cluster c(5);
  const MasterInterface m = c.start_master({.epoch = 3, .start_version = 0});
  c.client([&m] {
    CHECK(outcome(m.get_commit_version.get_reply(ask(1, 1, 0, /*epoch=*/2))) ==
          flow::ErrorCode::stale_epoch);
    CHECK(outcome(m.report_committed.get_reply(report(0, 4))) == flow::ErrorCode::stale_epoch);
    wm::GetLiveCommittedVersionRequestT old;
    old.epoch = 1;
    CHECK(outcome(m.get_live_committed_version.get_reply(old)) == flow::ErrorCode::stale_epoch);
    // Request number 0, and a request that claims to have processed itself.
    CHECK(outcome(m.get_commit_version.get_reply(ask(1, 0, 0, 3))) ==
          flow::ErrorCode::broken_promise);
    CHECK(outcome(m.get_commit_version.get_reply(ask(1, 2, 2, 3))) ==
          flow::ErrorCode::broken_promise);
    // A report of a version never handed out (a bug somewhere, or a hostile peer).
    CHECK(outcome(m.report_committed.get_reply(report(1'000'000, 3))) ==
          flow::ErrorCode::broken_promise);
    // The master goes on, its committed version untouched.
    const auto a = flow::wait(m.get_commit_version.get_reply(ask(1, 1, 0, 3)));
    CHECK(a.prev_version == 0);
    CHECK(live(m, 3) == 0);
    return 0;
  });
}
