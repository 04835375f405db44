// The transaction log role in a quiet simulated cluster: versions are appended in version order
// and acknowledged once durable; a peek serves one tag's mutations of durable versions (waiting
// for them, a bounded while); a pop makes a tag's old data go; a rebooted log recovers what it
// acknowledged from its DiskQueue; what a peer must not send is refused or dropped.
#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "flow/flow.h"
#include "roles/tlog/tlog_interface.h"
#include "roles/worker/role_endpoints.h"
#include "tests/roles/role_cluster.h"

using namespace std::chrono_literals;
using roles::TLogInterface;
using roles_testing::outcome;
namespace wt = strata::wire::tlog;
namespace ww = strata::wire;

namespace {


// A log on process 1 whose endpoints are well known, so that they stay the same across reboots.
struct Cluster : roles_testing::RoleCluster {
  explicit Cluster(uint64_t seed, uint64_t epoch = 1) : RoleCluster(seed) {
    start(1, "tlog", [epoch] {
      const TLogInterface in = roles::tlog_endpoints(nullptr, epoch, 0);
      roles::run_tlog(in, {.epoch = epoch, .start_version = 100, .name = "log"});
    });
    const flow::NetworkAddress a = sim.process(1).address;
    log = roles::tlog_endpoints(&a, epoch, 0);
  }
  void reboot_log() {
    sim.kill_process(sim.process(1));
    sim.reboot_process(sim.process(1));
  }
  TLogInterface log;
};

struct Write {
  std::vector<uint16_t> tags;
  std::string key;
  std::string value;
};

wt::TLogCommitRequestT commit(roles::Version prev, roles::Version v, std::vector<Write> writes,
                              uint64_t epoch = 1) {
  wt::TLogCommitRequestT r;
  r.epoch = epoch;
  r.prev_version = prev;
  r.version = v;
  r.known_committed_version = prev;
  for (const Write& w : writes) {
    auto m = std::make_unique<ww::TaggedMutationT>();
    m->tags = w.tags;
    m->mutation = std::make_unique<ww::MutationT>(
        roles::to_wire({roles::MutationType::kSet, w.key, w.value}));
    r.messages.push_back(std::move(m));
  }
  return r;
}

wt::TLogPeekRequestT peek(uint16_t tag, roles::Version begin, uint64_t epoch = 1) {
  wt::TLogPeekRequestT r;
  r.epoch = epoch;
  r.tag = tag;
  r.begin_version = begin;
  return r;
}

wt::TLogPopRequestT pop(uint16_t tag, roles::Version v) {
  wt::TLogPopRequestT r;
  r.epoch = 1;
  r.tag = tag;
  r.version = v;
  return r;
}

// "version:key=value,..." for a peek reply.
std::string describe(const wt::TLogPeekReplyT& reply) {
  std::string out;
  for (const auto& v : reply.versions) {
    for (const auto& m : v->mutations) {
      out += std::to_string(v->version) + ":" + std::string(m->param1.begin(), m->param1.end()) +
             "=" + std::string(m->param2.begin(), m->param2.end()) + ",";
    }
  }
  return out;
}

}  // namespace

TEST_CASE("tlog: commits sent out of order are appended in version order; a peek gets its tag only") {
  Cluster c(1);
  c.client([&c] {
    auto third = c.log.commit.get_reply(commit(300, 400, {{{1}, "c", "3"}}));
    auto second = c.log.commit.get_reply(commit(200, 300, {{{2}, "b", "2"}, {{1, 2}, "x", "9"}}));
    flow::wait(flow::delay(50ms));
    CHECK(!third.is_ready());
    CHECK(!second.is_ready());
    auto first = c.log.commit.get_reply(commit(100, 200, {{{1}, "a", "1"}}));
    CHECK(flow::wait(first).version == 200);
    CHECK(flow::wait(second).version == 300);
    CHECK(flow::wait(third).version == 400);
    const auto one = flow::wait(c.log.peek.get_reply(peek(1, 0)));
    CHECK(describe(one) == "200:a=1,300:x=9,400:c=3,");
    CHECK(one.end_version == 401);
    const auto two = flow::wait(c.log.peek.get_reply(peek(2, 250)));
    CHECK(describe(two) == "300:b=2,300:x=9,");
    CHECK(two.end_version == 401);
    const auto none = flow::wait(c.log.peek.get_reply(peek(9, 0)));
    CHECK(none.versions.empty());
    CHECK(none.end_version == 401);
    return 0;
  });
}

TEST_CASE("tlog: a peek past the end waits for the next version, or answers empty after a while") {
  Cluster c(2);
  c.client([&c] {
    flow::wait(c.log.commit.get_reply(commit(100, 200, {{{1}, "a", "1"}})));
    auto waiting = c.log.peek.get_reply(peek(1, 201));
    flow::wait(flow::delay(100ms));
    CHECK(!waiting.is_ready());
    flow::wait(c.log.commit.get_reply(commit(200, 300, {{{1}, "b", "2"}})));
    const auto got = flow::wait(waiting);
    CHECK(describe(got) == "300:b=2,");
    CHECK(got.end_version == 301);
    const flow::Time asked = flow::now();
    const auto empty = flow::wait(c.log.peek.get_reply(peek(1, 301)));
    CHECK(empty.versions.empty());
    CHECK(empty.end_version == 301);
    CHECK(flow::now() - asked >= 900ms);
    return 0;
  });
}

TEST_CASE("tlog: a retried commit is acknowledged again; another epoch is refused; junk dropped") {
  Cluster c(3);
  c.client([&c] {
    CHECK(flow::wait(c.log.commit.get_reply(commit(100, 200, {{{1}, "a", "1"}}))).version == 200);
    CHECK(flow::wait(c.log.commit.get_reply(commit(100, 200, {{{1}, "a", "1"}}))).version == 200);
    CHECK(outcome(c.log.commit.get_reply(commit(200, 300, {}, /*epoch=*/2))) ==
          flow::ErrorCode::stale_epoch);
    CHECK(outcome(c.log.peek.get_reply(peek(1, 0, /*epoch=*/2))) == flow::ErrorCode::stale_epoch);
    CHECK(outcome(c.log.commit.get_reply(commit(300, 300, {}))) ==
          flow::ErrorCode::broken_promise);  // version not after prev_version
    // An unknown mutation type: the version is not appended.
    auto bad = commit(200, 300, {{{1}, "z", "z"}});
    bad.messages[0]->mutation->type = 99;
    CHECK(outcome(c.log.commit.get_reply(bad)) == flow::ErrorCode::broken_promise);
    // The chain goes on from 200 (the same version, sent properly).
    CHECK(flow::wait(c.log.commit.get_reply(commit(200, 300, {{{1}, "b", "2"}}))).version == 300);
    CHECK(describe(flow::wait(c.log.peek.get_reply(peek(1, 0)))) == "200:a=1,300:b=2,");
    return 0;
  });
}

TEST_CASE("tlog: a pop makes the tag's older data go; a peek below it gets the popped version") {
  Cluster c(4);
  c.client([&c] {
    roles::Version prev = 100;
    for (roles::Version v = 200; v <= 1000; v += 100) {
      flow::wait(c.log.commit.get_reply(commit(prev, v, {{{1, 2}, "k" + std::to_string(v), "v"}})));
      prev = v;
    }
    flow::wait(c.log.pop.get_reply(pop(1, 600)));
    const auto below = flow::wait(c.log.peek.get_reply(peek(1, 500)));
    CHECK(below.versions.empty());
    CHECK(below.popped_version == 600);
    CHECK(below.end_version == 500);
    CHECK(describe(flow::wait(c.log.peek.get_reply(peek(1, 600)))) ==
          "600:k600=v,700:k700=v,800:k800=v,900:k900=v,1000:k1000=v,");
    // Tag 2 has not popped: all its data is there.
    CHECK(flow::wait(c.log.peek.get_reply(peek(2, 0))).versions.size() == 9);
    // A pop past what is durable (the server heard of its versions from another log) is taken:
    // the tag's data below it, when it comes, is not kept.
    CHECK(outcome(c.log.pop.get_reply(pop(1, 1200))) == flow::ErrorCode::success);
    flow::wait(c.log.commit.get_reply(commit(1000, 1100, {{{1, 2}, "k1100", "v"}})));
    CHECK(flow::wait(c.log.peek.get_reply(peek(1, 1200))).versions.empty());
    CHECK(flow::wait(c.log.peek.get_reply(peek(2, 1100))).versions.size() == 1);
    return 0;
  });
}

TEST_CASE("tlog: a rebooted log recovers every acknowledged version and goes on from the newest") {
  Cluster c(5);
  c.client([&c] {
    roles::Version prev = 100;
    for (roles::Version v = 200; v <= 2000; v += 100) {
      flow::wait(c.log.commit.get_reply(commit(prev, v, {{{1}, "k" + std::to_string(v), "v"}})));
      prev = v;
    }
    return 0;
  });
  c.reboot_log();
  c.client([&c] {
    // The first request after the reboot may meet the connection the kill broke.
    std::optional<wt::TLogPeekReplyT> reply;
    for (int attempt = 0; attempt < 10 && !reply; ++attempt) {
      auto f = c.log.peek.get_reply(peek(1, 0));
      if (outcome(f) == flow::ErrorCode::success) reply = f.get();
      else flow::wait(flow::delay(100ms));
    }
    REQUIRE(reply);
    const auto& all = *reply;
    CHECK(all.versions.size() == 19);
    CHECK(all.end_version == 2001);
    CHECK(flow::wait(c.log.commit.get_reply(commit(2000, 2100, {{{1}, "next", "v"}}))).version ==
          2100);
    return 0;
  });
}

namespace {

// A lock by recovery `recovery`, whose cluster state names `lockers` (by default: every epoch
// is this one recovery's).
wt::TLogLockRequestT lock(uint64_t epoch, uint64_t recovery = 7,
                          std::vector<wt::EpochsOfRecovery> lockers = {wt::EpochsOfRecovery(1, 1000, 7)}) {
  wt::TLogLockRequestT r;
  r.epoch = epoch;
  r.recovery = recovery;
  r.lockers = std::move(lockers);
  return r;
}

wt::TLogConfirmRequestT confirm(uint64_t epoch) {
  wt::TLogConfirmRequestT r;
  r.epoch = epoch;
  return r;
}

}  // namespace

TEST_CASE("tlog: a recovery's lock answers the log's end, ends its commits and read versions, and outlives a reboot") {
  Cluster c(31);
  c.client([&c] {
    flow::wait(c.log.commit.get_reply(commit(100, 200, {{{1}, "a", "1"}})));
    flow::wait(c.log.commit.get_reply(commit(200, 300, {{{1}, "b", "2"}})));
    // A commit waiting for its turn (its prev_version 400 never came) is refused by the lock.
    auto held = c.log.commit.get_reply(commit(400, 500, {{{1}, "z", "9"}}));
    CHECK(outcome(c.log.confirm.get_reply(confirm(1))) == flow::ErrorCode::success);
    const auto locked = flow::wait(c.log.lock.get_reply(lock(2)));
    CHECK(locked.end_version == 300);
    CHECK(outcome(held) == flow::ErrorCode::stale_epoch);
    // No version joins the chain any more; the epoch no longer confirms.
    CHECK(outcome(c.log.commit.get_reply(commit(300, 400, {{{1}, "c", "3"}}))) == flow::ErrorCode::stale_epoch);
    CHECK(outcome(c.log.confirm.get_reply(confirm(1))) == flow::ErrorCode::stale_epoch);
    // A retry of a version it holds is still answered (it is durable here).
    CHECK(flow::wait(c.log.commit.get_reply(commit(200, 300, {{{1}, "b", "2"}}))).version == 300);
    // Locking again (the same recovery, or a newer one) answers the same end.
    CHECK(flow::wait(c.log.lock.get_reply(lock(2))).end_version == 300);
    CHECK(flow::wait(c.log.lock.get_reply(lock(5))).end_version == 300);
    // Peeks are still served: storage servers pull the old generation's versions from it.
    CHECK(describe(flow::wait(c.log.peek.get_reply(peek(1, 0)))) == "200:a=1,300:b=2,");

    c.reboot_log();
    flow::wait(flow::delay(1s));
    // Back from its files, still locked: the old generation cannot commit through it again.
    CHECK(outcome(c.log.commit.get_reply(commit(300, 400, {{{1}, "c", "3"}}))) == flow::ErrorCode::stale_epoch);
    CHECK(outcome(c.log.confirm.get_reply(confirm(1))) == flow::ErrorCode::stale_epoch);
    CHECK(flow::wait(c.log.lock.get_reply(lock(6))).end_version == 300);
    CHECK(describe(flow::wait(c.log.peek.get_reply(peek(1, 0)))) == "200:a=1,300:b=2,");
    return 0;
  });
}

TEST_CASE("tlog: a lock while the log is locked by a recovery the request does not name is fenced, and changes nothing, reboot or not") {
  Cluster c(34);
  c.client([&c] {
    flow::wait(c.log.commit.get_reply(commit(100, 200, {{{1}, "a", "1"}})));
    // Recovery 11 locks with epoch 2: the log is new, any state may lock it.
    const auto first = flow::wait(c.log.lock.get_reply(lock(2, 11, {wt::EpochsOfRecovery(2, 2, 11)})));
    CHECK_FALSE(first.fenced);
    CHECK(first.end_version == 200);
    CHECK(first.locked_by == 2);
    CHECK(first.locked_by_recovery == 11);
    // Asked again by the same recovery (a lost reply): the same answer.
    CHECK_FALSE(flow::wait(c.log.lock.get_reply(lock(2, 11, {wt::EpochsOfRecovery(2, 2, 11)}))).fenced);
    // A recovery from a stale state that also calls itself epoch 2, or one that knows of
    // recovery 11 at other epochs only, or a newer one that knows nothing of 11: fenced.
    for (const auto& stale : {lock(2, 12, {wt::EpochsOfRecovery(2, 2, 12)}),
                              lock(3, 12, {wt::EpochsOfRecovery(3, 3, 11), wt::EpochsOfRecovery(3, 3, 12)}),
                              lock(9, 13, {wt::EpochsOfRecovery(5, 9, 13)})}) {
      const auto f = flow::wait(c.log.lock.get_reply(stale));
      CHECK(f.fenced);
      CHECK(f.locked_by == 2);
      CHECK(f.locked_by_recovery == 11);
    }
    c.reboot_log();
    flow::wait(flow::delay(1s));
    // The evidence outlives a reboot (the lock marker names the recovery).
    std::optional<wt::TLogLockReplyT> after;
    for (int attempt = 0; attempt < 10 && !after; ++attempt) {
      auto f = c.log.lock.get_reply(lock(4, 14, {wt::EpochsOfRecovery(3, 4, 14)}));
      if (outcome(f) == flow::ErrorCode::success) after = f.get();
      else flow::wait(flow::delay(100ms));
    }
    REQUIRE(after);
    CHECK(after->fenced);
    CHECK(after->locked_by_recovery == 11);
    // A newer recovery whose state lists 11 (it burned epochs 2..3, then 14 took over) locks it.
    const auto known = flow::wait(c.log.lock.get_reply(
        lock(4, 14, {wt::EpochsOfRecovery(2, 3, 11), wt::EpochsOfRecovery(4, 4, 14)})));
    CHECK_FALSE(known.fenced);
    CHECK(known.locked_by == 4);
    CHECK(known.locked_by_recovery == 14);
    CHECK(known.end_version == 200);
    return 0;
  });
}

TEST_CASE("tlog: a seal by the recovery that holds the lock fences every later lock, reboot or not; anyone else's seal is fenced") {
  Cluster c(35);
  c.client([&c] {
    flow::wait(c.log.commit.get_reply(commit(100, 200, {{{1}, "a", "1"}})));
    const std::vector<wt::EpochsOfRecovery> lockers{wt::EpochsOfRecovery(2, 2, 11)};
    CHECK_FALSE(flow::wait(c.log.lock.get_reply(lock(2, 11, lockers))).fenced);
    // A seal needs the lock: another recovery (or another epoch of it) cannot seal the log.
    auto foreign = lock(2, 12, {wt::EpochsOfRecovery(2, 2, 11), wt::EpochsOfRecovery(2, 2, 12)});
    foreign.seal = true;
    CHECK(flow::wait(c.log.lock.get_reply(foreign)).fenced);
    auto seal = lock(2, 11, lockers);
    seal.seal = true;
    const auto sealed = flow::wait(c.log.lock.get_reply(seal));
    CHECK_FALSE(sealed.fenced);
    CHECK(sealed.sealed);
    CHECK(sealed.end_version == 200);
    // Asked again (a lost reply): the same answer.
    CHECK_FALSE(flow::wait(c.log.lock.get_reply(seal)).fenced);
    // Every lock from now on is fenced: even one whose state lists recovery 11 (the state before
    // 11 finished, which a wipe may bring back), or 11's own plain lock.
    for (const auto& later : {lock(3, 12, {wt::EpochsOfRecovery(2, 2, 11), wt::EpochsOfRecovery(3, 3, 12)}),
                              lock(2, 11, lockers)}) {
      const auto f = flow::wait(c.log.lock.get_reply(later));
      CHECK(f.fenced);
      CHECK(f.sealed);
      CHECK(f.locked_by == 2);
    }
    c.reboot_log();
    flow::wait(flow::delay(1s));
    std::optional<wt::TLogLockReplyT> after;
    for (int attempt = 0; attempt < 10 && !after; ++attempt) {
      auto f = c.log.lock.get_reply(lock(4, 13, {wt::EpochsOfRecovery(2, 2, 11), wt::EpochsOfRecovery(4, 4, 13)}));
      if (outcome(f) == flow::ErrorCode::success) after = f.get();
      else flow::wait(flow::delay(100ms));
    }
    REQUIRE(after);
    CHECK(after->fenced);
    CHECK(after->sealed);
    // Peeks are still served: storage servers pull the ended generation's versions from it.
    CHECK(describe(flow::wait(c.log.peek.get_reply(peek(1, 0)))) == "200:a=1,");
    return 0;
  });
}

TEST_CASE("tlog: a lock by an epoch not newer than the log's is refused, and the log goes on") {
  Cluster c(32, 3);
  c.client([&c] {
    flow::wait(c.log.commit.get_reply(commit(100, 200, {{{1}, "a", "1"}}, 3)));
    CHECK(outcome(c.log.lock.get_reply(lock(3))) == flow::ErrorCode::stale_epoch);
    CHECK(outcome(c.log.lock.get_reply(lock(1))) == flow::ErrorCode::stale_epoch);
    CHECK(outcome(c.log.confirm.get_reply(confirm(3))) == flow::ErrorCode::success);
    CHECK(outcome(c.log.confirm.get_reply(confirm(2))) == flow::ErrorCode::stale_epoch);
    CHECK(flow::wait(c.log.commit.get_reply(commit(200, 300, {{{1}, "b", "2"}}, 3))).version == 300);
    return 0;
  });
}

TEST_CASE("tlog: a peek says which versions every log of the epoch holds (the proxies' known committed version)") {
  Cluster c(33);
  c.client([&c] {
    auto first = commit(100, 200, {{{1}, "a", "1"}});
    first.known_committed_version = 100;
    flow::wait(c.log.commit.get_reply(first));
    auto second = commit(200, 300, {{{1}, "b", "2"}});
    second.known_committed_version = 200;
    flow::wait(c.log.commit.get_reply(second));
    CHECK(flow::wait(c.log.peek.get_reply(peek(1, 0))).known_committed_version == 200);
    const auto locked = flow::wait(c.log.lock.get_reply(lock(2)));
    CHECK(locked.known_committed_version == 200);
    return 0;
  });
}
