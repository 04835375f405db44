// Recovery (roles/cluster_controller/recovery.h) on real roles in a quiet simulated cluster: the
// recovery version is the nearest end among the old logs that answer the lock, every log that
// answered is kept, a storage server rolls back what it applied past it, and the new generation
// commits and reads on top of exactly what was kept. Through the coordinators: the state is
// read, the epoch burned and the new state written, and a state another writer moved on stops
// the recovery before it locks anything.
#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <string>

#include "client/database.h"
#include "roles/cluster_controller/recovery.h"
#include "roles/coordinator/coordinated_state.h"
#include "roles/worker/interface_wire.h"
#include "tests/roles/worker_cluster.h"

namespace {

using namespace std::chrono_literals;
using roles::Version;
using roles_testing::outcome;
namespace wt = strata::wire::tlog;

// Processes: 0 the test, 1 and 2 a log each, 3 the storage server, 4 the new generation.
struct Cluster : roles_testing::WorkerCluster {
  explicit Cluster(uint64_t seed) : WorkerCluster(seed, 5) {}
};

wt::TLogCommitRequestT commit(Version prev, Version v, const std::string& key, const std::string& value) {
  wt::TLogCommitRequestT r;
  r.epoch = 1;
  r.prev_version = prev;
  r.version = v;
  r.known_committed_version = prev;
  auto m = std::make_unique<strata::wire::TaggedMutationT>();
  m->tags = {1};
  m->mutation = std::make_unique<strata::wire::MutationT>(roles::to_wire(roles::Mutation{roles::MutationType::kSet, key, value}));
  r.messages.push_back(std::move(m));
  return r;
}

// Versions 100 (a=1) and 200 (b=2) on both logs, 300 (c=3) on the first only, as when a proxy's
// batch reached one log before the proxy died. A storage server of tag 1 owning everything
// pulls from the first log. Returns the recovery's starting state. May suspend.
roles::ClusterState old_generation(Cluster& c, roles::TLogInterface& ahead) {
  ahead = *roles::from_wire(*flow::wait(c.worker(1).initialize_tlog.get_reply(roles_testing::tlog_request(0))).interface);
  const roles::TLogInterface behind =
      *roles::from_wire(*flow::wait(c.worker(2).initialize_tlog.get_reply(roles_testing::tlog_request(1))).interface);
  flow::wait(c.worker(3).initialize_storage_server.get_reply(roles_testing::storage_request(1, ahead)));
  for (const roles::TLogInterface& log : {ahead, behind}) {
    flow::wait(log.commit.get_reply(commit(0, 100, "a", "1")));
    flow::wait(log.commit.get_reply(commit(100, 200, "b", "2")));
  }
  flow::wait(ahead.commit.get_reply(commit(200, 300, "c", "3")));
  roles::ClusterState state;
  state.epoch = 1;
  state.log_system = roles::LogSystem::single(1, {ahead, behind});
  auto map = roles::ShardMap::make({{{"", std::string(roles::kKeyspaceEnd)}, {{c.at(3), 1}}}});
  REQUIRE(map.ok());
  state.shards = map.get();
  state.resolver_ranges = {{"", std::string(roles::kKeyspaceEnd)}};
  return state;
}

roles::PlaceGeneration on(const flow::NetworkAddress& at) {
  return [at](uint64_t epoch, Version start, const std::vector<roles::KeyRange>& ranges) {
    roles::GenerationPlan plan;
    plan.epoch = epoch;
    plan.start_version = start;
    plan.master = at;
    plan.grv_proxies = {at};
    plan.commit_proxies = {at};
    plan.logs = {at};
    for (const roles::KeyRange& r : ranges) plan.resolvers.push_back({r, at});
    plan.queue_file_bytes = 1 << 20;
    return plan;
  };
}

// Whether the storage server holds `key` at `version` (asked directly, not through a
// transaction). May suspend.
bool stored_at(Cluster& c, const std::string& key, Version version) {
  strata::wire::storage::GetValueRequestT get;
  get.key.assign(key.begin(), key.end());
  get.version = version;
  return flow::wait(roles::StorageServerInterface::remote(c.at(3), 1).get_value.get_reply(get)).present;
}

std::optional<std::string> read(client::Database& db, const std::string& key) {
  return db.run([&](client::Transaction& t) { return t.get(key); });
}

}  // namespace

TEST_CASE("recovery: with every old log answering, the nearest end is the recovery version, and every log is kept") {
  Cluster c(41);
  c.client([&c] {
    roles::TLogInterface ahead;
    const roles::ClusterState old = old_generation(c, ahead);
    CHECK(stored_at(c, "c", 300));
    const roles::Recovered r = roles::recover(old, 2, on(c.at(4)));
    // Version 300 is on one log only, so it was never acknowledged: the recovery keeps 200.
    CHECK(r.recovery_version == 200);
    CHECK(r.state.epoch == 2);
    REQUIRE(r.state.log_system.generations.size() == 2);
    const roles::LogGeneration& ended = r.state.log_system.generations[0];
    CHECK(ended.epoch == 1);
    CHECK(ended.end_version == 200);
    CHECK(ended.logs.size() == 2);  // both hold every version up to it: either may be lost now
    CHECK(r.state.log_system.current().epoch == 2);
    CHECK(r.plan.start_version == 200 + roles::kRecoveryVersionJump);
    // The old generation can no longer commit: both logs are locked.
    CHECK(outcome(ahead.commit.get_reply(commit(300, 400, "d", "4"))) == flow::ErrorCode::stale_epoch);
    roles::publish_log_system(r.state, flow::now());
    client::Database db({r.generation.grv_proxies, r.generation.commit_proxies});
    CHECK(read(db, "c") == std::nullopt);  // the storage server pulled it from the log ahead, and rolled it back
    CHECK(read(db, "b") == std::optional<std::string>("2"));
    CHECK(read(db, "a") == std::optional<std::string>("1"));
    db.run([](client::Transaction& t) { t.set("d", "4"); });
    CHECK(read(db, "d") == std::optional<std::string>("4"));
    return 0;
  });
}

TEST_CASE("recovery: with the log that ran ahead gone, the storage server rolls back what only it held") {
  Cluster c(42);
  c.client([&c] {
    roles::TLogInterface ahead;
    const roles::ClusterState old = old_generation(c, ahead);
    // The storage server has applied version 300 from the log ahead.
    CHECK(stored_at(c, "c", 300));
    c.sim.kill_process(c.sim.process(1));
    const roles::Recovered r = roles::recover(old, 2, on(c.at(4)));
    CHECK(r.recovery_version == 200);
    REQUIRE(r.state.log_system.generations.size() == 2);
    CHECK(r.state.log_system.generations[0].end_version == 200);
    REQUIRE(r.state.log_system.generations[0].logs.size() == 1);
    CHECK(r.state.log_system.generations[0].logs[0].peek.endpoint() != ahead.peek.endpoint());
    roles::publish_log_system(r.state, flow::now());
    client::Database db({r.generation.grv_proxies, r.generation.commit_proxies});
    CHECK(read(db, "c") == std::nullopt);  // never acknowledged, and rolled back
    CHECK(read(db, "b") == std::optional<std::string>("2"));
    CHECK(read(db, "a") == std::optional<std::string>("1"));
    // The log that ran ahead comes back: still of epoch 1, never part of the new log system.
    c.sim.reboot_process(c.sim.process(1));
    db.run([](client::Transaction& t) { t.set("c", "new"); });
    flow::wait(flow::delay(1s));
    CHECK(read(db, "c") == std::optional<std::string>("new"));
    return 0;
  });
}

TEST_CASE("recovery: a recovery of an epoch the old logs have seen locked again still answers their end") {
  Cluster c(43);
  c.client([&c] {
    roles::TLogInterface ahead;
    roles::ClusterState old = old_generation(c, ahead);
    // A first attempt (of recovery 5) locked them with epoch 2 and then failed: the next uses
    // epoch 3, and the state lists the first as a locker.
    wt::TLogLockRequestT lock;
    lock.epoch = 2;
    lock.recovery = 5;
    lock.lockers = {wt::EpochsOfRecovery(2, 2, 5)};
    CHECK(flow::wait(ahead.lock.get_reply(lock)).end_version == 300);
    old.epoch = 2;
    old.lockers = {{2, 2, 5}};
    const roles::Recovered r = roles::recover(old, 3, on(c.at(4)), nullptr, roles::kRecruitWithin, nullptr, 6);
    CHECK(r.recovery_version == 200);
    CHECK(r.state.log_system.current().epoch == 3);
    return 0;
  });
}

TEST_CASE("recovery through the coordinators: it reads the state, burns the epoch before locking, writes the new state") {
  Cluster c(44);
  c.start(3, "coordinator", [] { roles::run_coordinator(); });
  c.start(4, "coordinator", [] { roles::run_coordinator(); });
  c.client([&c] {
    roles::TLogInterface ahead;
    const roles::ClusterState old = old_generation(c, ahead);
    const std::vector<flow::NetworkAddress> coordinators{c.at(3), c.at(4)};
    roles::CoordinatedState bring_up(coordinators, std::string(roles::kClusterStateKey));
    CHECK_FALSE(bring_up.read().has_value());
    bring_up.write(roles::encode_cluster_state(old));

    roles::CoordinatedState cstate(coordinators, std::string(roles::kClusterStateKey));
    const roles::Recovered r = roles::recover(old, 2, on(c.at(4)), &cstate);
    CHECK(r.recovery_version == 200);
    roles::CoordinatedState reader(coordinators, std::string(roles::kClusterStateKey));
    const std::optional<roles::ClusterState> held = roles::read_cluster_state(reader);
    REQUIRE(held.has_value());
    CHECK(held->epoch == 2);
    CHECK(roles::encode_cluster_state(*held) == roles::encode_cluster_state(r.state));
    // The reader read above the controller; the controller's next recovery reads anew, above
    // the reader, and goes on.
    CHECK(outcome(flow::spawn([&] { roles::recover(r.state, 3, on(c.at(4)), &cstate); })) ==
          flow::ErrorCode::success);
    CHECK(roles::read_cluster_state(reader)->epoch == 3);
    return 0;
  });
}

TEST_CASE("recovery through the coordinators: a state another controller moved on is a conflict, and the old logs stay unlocked") {
  Cluster c(45);
  c.start(4, "coordinator", [] { roles::run_coordinator(); });
  c.client([&c] {
    roles::TLogInterface ahead;
    const roles::ClusterState old = old_generation(c, ahead);
    const std::vector<flow::NetworkAddress> coordinators{c.at(4)};
    roles::CoordinatedState other(coordinators, std::string(roles::kClusterStateKey));
    other.read();
    roles::ClusterState moved = old;
    moved.epoch = 5;
    other.write(roles::encode_cluster_state(moved));

    roles::CoordinatedState cstate(coordinators, std::string(roles::kClusterStateKey));
    CHECK(outcome(flow::spawn([&] { roles::recover(old, 2, on(c.at(4)), &cstate); })) ==
          flow::ErrorCode::coordinated_state_conflict);
    // It stopped before locking: the old generation still commits.
    CHECK(outcome(ahead.commit.get_reply(commit(300, 400, "d", "4"))) == flow::ErrorCode::success);
    // What the coordinators hold is what a controller goes on from.
    const std::optional<roles::ClusterState> held = roles::read_cluster_state(cstate);
    REQUIRE(held.has_value());
    CHECK(held->epoch == 5);
    return 0;
  });
}

TEST_CASE("recovery through the coordinators: a state too large for a coordinator stops it before it locks anything") {
  Cluster c(46);
  c.start(4, "coordinator", [] { roles::run_coordinator(); });
  c.client([&c] {
    roles::TLogInterface ahead;
    roles::ClusterState old = old_generation(c, ahead);
    // Old generations a storage server never took past: each holds the same two logs.
    const roles::LogGeneration current = old.log_system.current();
    std::vector<roles::LogGeneration> piled;
    Version end = 0;
    for (uint64_t e = 1; roles::encode_cluster_state(old).size() < roles::kRegisterValueBytesMax - 1000; ++e) {
      piled.push_back({e, current.logs, end += 10});
      old.log_system.generations = piled;
      old.log_system.generations.push_back({e + 1, current.logs, roles::kVersionMax});
      old.epoch = e + 1;
    }
    REQUIRE(old.log_system.valid());
    const std::vector<flow::NetworkAddress> coordinators{c.at(4)};
    roles::CoordinatedState bring_up(coordinators, std::string(roles::kClusterStateKey));
    bring_up.read();
    bring_up.write(roles::encode_cluster_state(old));
    roles::CoordinatedState cstate(coordinators, std::string(roles::kClusterStateKey));
    CHECK(outcome(flow::spawn([&] { roles::recover(old, old.epoch + 1, on(c.at(4)), &cstate); })) ==
          flow::ErrorCode::value_too_large);
    // Nothing was locked: the old logs still take commits.
    CHECK(outcome(ahead.commit.get_reply(commit(300, 400, "d", "4"))) == flow::ErrorCode::success);
    CHECK(roles::read_cluster_state(cstate)->epoch == old.epoch);  // and nothing was burned
    return 0;
  });
}

namespace {

// The state `old` on coordinator 2 alone, read through coordinators 2 and 3 (key "wiped"; every
// majority is both): as when 3 held a newer state and came back wiped. May suspend.
std::optional<roles::ClusterState> stale_read(Cluster& c, const roles::ClusterState& old, roles::CoordinatedState& cstate) {
  roles::CoordinatedState kept({c.at(2)}, "wiped");
  kept.read();
  kept.write(roles::encode_cluster_state(old));
  return roles::read_cluster_state(cstate);
}

}  // namespace

TEST_CASE("recovery from a stale cluster state (its newer one lost with a majority of the coordinators) stops at the logs, however few the newer recovery locked") {
  Cluster c(47);
  for (int p : {2, 3, 4}) c.start(p, "coordinator", [] { roles::run_coordinator(); });
  c.client([&c] {
    roles::TLogInterface ahead;
    const roles::ClusterState old = old_generation(c, ahead);
    // The newer recovery (id 11) locked `ahead` alone with epoch 2 (the other log was down) and
    // went on; its state lived on coordinators 3 and 4, which were then wiped.
    wt::TLogLockRequestT newer;
    newer.epoch = 2;
    newer.recovery = 11;
    newer.lockers = {wt::EpochsOfRecovery(2, 2, 11)};
    CHECK_FALSE(flow::wait(ahead.lock.get_reply(newer)).fenced);
    roles::CoordinatedState cstate({c.at(2), c.at(3)}, "wiped");
    const std::optional<roles::ClusterState> held = stale_read(c, old, cstate);
    REQUIRE(held.has_value());
    CHECK(held->epoch == 1);
    CHECK(held->unverified);
    // `ahead` is down as the stale recovery begins: the log that answers first is the one no
    // recovery locked. The recovery waits for every log, and is fenced by `ahead` once it is back.
    c.sim.kill_process(c.sim.process(1));
    auto stale = flow::spawn([&] { roles::recover(*held, 2, on(c.at(4)), &cstate, roles::kRecruitWithin, nullptr, 12); });
    flow::wait(flow::delay(5s));
    CHECK_FALSE(stale.is_ready());
    c.sim.reboot_process(c.sim.process(1));
    CHECK(outcome(stale) == flow::ErrorCode::cluster_state_lost);
    // Again and again: the same leader's next attempt, then another leader's.
    std::optional<roles::ClusterState> again = roles::read_cluster_state(cstate);
    REQUIRE(again.has_value());
    CHECK(again->epoch == 2);
    CHECK(again->unverified);
    CHECK(outcome(flow::spawn([&] { roles::recover(*again, 3, on(c.at(4)), &cstate, roles::kRecruitWithin, nullptr, 12); })) ==
          flow::ErrorCode::cluster_state_lost);
    again = roles::read_cluster_state(cstate);
    CHECK(outcome(flow::spawn([&] { roles::recover(*again, 4, on(c.at(4)), &cstate, roles::kRecruitWithin, nullptr, 13); })) ==
          flow::ErrorCode::cluster_state_lost);
    CHECK(roles::read_cluster_state(cstate)->log_system.current().epoch == 1);  // no generation started
    // The evidence is intact: `ahead` is still the newer recovery's.
    const auto still = flow::wait(ahead.lock.get_reply(newer));
    CHECK_FALSE(still.fenced);
    CHECK(still.locked_by == 2);
    CHECK(still.locked_by_recovery == 11);
    return 0;
  });
}

TEST_CASE("recovery from a stale state that lists the recovery which went on: stopped by the seal it left, not by its lock") {
  Cluster c(49);
  for (int p : {2, 3, 4}) c.start(p, "coordinator", [] { roles::run_coordinator(); });
  c.client([&c] {
    roles::TLogInterface ahead;
    roles::ClusterState old = old_generation(c, ahead);
    // Recovery 11 burned epoch 2 (the burn reached coordinator 2), locked `ahead`, wrote its new
    // state (which reached 3 and 4 only, later wiped) and sealed `ahead`. Coordinator 2 kept
    // the burn: a state that lists 11 among its lockers.
    roles::ClusterState burn = old;
    burn.epoch = 2;
    burn.lockers = {{2, 2, 11}};
    wt::TLogLockRequestT by11;
    by11.epoch = 2;
    by11.recovery = 11;
    by11.lockers = {wt::EpochsOfRecovery(2, 2, 11)};
    CHECK_FALSE(flow::wait(ahead.lock.get_reply(by11)).fenced);
    by11.seal = true;
    CHECK(flow::wait(ahead.lock.get_reply(by11)).sealed);
    roles::CoordinatedState cstate({c.at(2), c.at(3)}, "wiped");
    const std::optional<roles::ClusterState> held = stale_read(c, burn, cstate);
    REQUIRE(held.has_value());
    CHECK(held->unverified);
    CHECK(outcome(flow::spawn([&] { roles::recover(*held, 3, on(c.at(4)), &cstate, roles::kRecruitWithin, nullptr, 12); })) ==
          flow::ErrorCode::cluster_state_lost);
    return 0;
  });
}

TEST_CASE("recovery from a state that lists a recovery which died before sealing goes on, and seals the logs it ended") {
  Cluster c(50);
  for (int p : {2, 3, 4}) c.start(p, "coordinator", [] { roles::run_coordinator(); });
  c.client([&c] {
    roles::TLogInterface ahead;
    roles::ClusterState old = old_generation(c, ahead);
    // Recovery 11 burned epoch 2 and locked `ahead`, then died: its generation never served.
    wt::TLogLockRequestT by11;
    by11.epoch = 2;
    by11.recovery = 11;
    by11.lockers = {wt::EpochsOfRecovery(2, 2, 11)};
    CHECK_FALSE(flow::wait(ahead.lock.get_reply(by11)).fenced);
    roles::ClusterState burn = old;
    burn.epoch = 2;
    burn.lockers = {{2, 2, 11}};
    roles::CoordinatedState cstate({c.at(2), c.at(3), c.at(4)}, std::string(roles::kClusterStateKey));
    cstate.read();
    cstate.write(roles::encode_cluster_state(burn));
    const std::optional<roles::ClusterState> held = roles::read_cluster_state(cstate);
    REQUIRE(held.has_value());
    CHECK_FALSE(held->unverified);
    const roles::Recovered r = roles::recover(*held, 3, on(c.at(4)), &cstate, roles::kRecruitWithin, nullptr, 12);
    CHECK(r.recovery_version == 200);
    // The ended generation's logs are sealed: no later lock, whoever asks, gets through.
    wt::TLogLockRequestT later;
    later.epoch = 4;
    later.recovery = 13;
    later.lockers = {wt::EpochsOfRecovery(2, 2, 11), wt::EpochsOfRecovery(3, 3, 12), wt::EpochsOfRecovery(4, 4, 13)};
    const auto f = flow::wait(ahead.lock.get_reply(later));
    CHECK(f.fenced);
    CHECK(f.sealed);
    CHECK(f.locked_by == 3);
    CHECK(f.locked_by_recovery == 12);
    return 0;
  });
}

TEST_CASE("recovery from an unverified cluster state whose every log answers, none locked by a stranger, goes on and verifies the state") {
  Cluster c(48);
  for (int p : {2, 3, 4}) c.start(p, "coordinator", [] { roles::run_coordinator(); });
  c.client([&c] {
    roles::TLogInterface ahead;
    const roles::ClusterState old = old_generation(c, ahead);
    roles::CoordinatedState cstate({c.at(2), c.at(3)}, "wiped");
    const std::optional<roles::ClusterState> held = stale_read(c, old, cstate);
    REQUIRE(held.has_value());
    CHECK(held->unverified);
    const roles::Recovered r = roles::recover(*held, 2, on(c.at(4)), &cstate, roles::kRecruitWithin, nullptr, 12);
    CHECK(r.recovery_version == 200);
    CHECK_FALSE(r.state.unverified);
    CHECK(r.state.lockers.empty());
    const std::optional<roles::ClusterState> after = roles::read_cluster_state(cstate);
    REQUIRE(after.has_value());
    CHECK(after->epoch == 2);
    CHECK_FALSE(after->unverified);
    return 0;
  });
}

TEST_CASE("recovery: split_among_resolvers covers the key space in n ranges, the system keys on their own") {
  for (size_t n = 1; n <= static_cast<size_t>(roles::kRoleCountMax); ++n) {
    CAPTURE(n);
    const std::vector<roles::KeyRange> ranges = roles::split_among_resolvers(n);
    REQUIRE(ranges.size() == n);
    CHECK(ranges.front().begin.empty());
    CHECK(ranges.back().end == roles::kKeyspaceEnd);
    for (size_t i = 0; i < n; ++i) {
      CHECK_FALSE(ranges[i].empty());
      if (i + 1 < n) CHECK(ranges[i].end == ranges[i + 1].begin);
    }
    if (n >= 2) CHECK(ranges.back().begin == "\xff");
  }
}

TEST_CASE("recovery: a new generation with another number of resolvers keeps their ranges in the state, and commits across them") {
  Cluster c(47);
  c.client([&c] {
    roles::TLogInterface ahead;
    const roles::ClusterState old = old_generation(c, ahead);
    const roles::PlaceGeneration one = on(c.at(4));
    const roles::Recovered r = roles::recover(old, 2, [&one](uint64_t e, Version v, const std::vector<roles::KeyRange>&) {
      return one(e, v, roles::split_among_resolvers(3));
    });
    CHECK(r.state.resolver_ranges == roles::split_among_resolvers(3));
    REQUIRE(r.plan.resolvers.size() == 3);
    REQUIRE(r.state.running.has_value());
    CHECK(r.state.running->resolvers.size() == 3);
    // The state with its new ranges and running roles decodes (a new leader would adopt it).
    const flow::ErrorOr<roles::ClusterState> back = roles::decode_cluster_state(roles::encode_cluster_state(r.state));
    REQUIRE(back.ok());
    CHECK(back.get().resolver_ranges == r.state.resolver_ranges);
    REQUIRE(roles::running_plan(back.get()).has_value());
    CHECK(roles::running_plan(back.get())->resolvers.size() == 3);
    roles::publish_log_system(r.state, flow::now());
    client::Database db({r.generation.grv_proxies, r.generation.commit_proxies});
    // One transaction writing keys of two resolvers' ranges, then a read of both.
    db.run([](client::Transaction& t) {
      t.set("a", "x");
      t.set("\x90", "y");
    });
    CHECK(read(db, "a") == std::optional<std::string>("x"));
    CHECK(read(db, "\x90") == std::optional<std::string>("y"));
    CHECK(read(db, "b") == std::optional<std::string>("2"));
    return 0;
  });
}

TEST_CASE("recovery: responsive_workers keeps the workers that answer, and a silent one costs little once half have answered") {
  Cluster c(48);
  c.client([&c] {
    const std::vector<flow::NetworkAddress> all{c.at(1), c.at(2), c.at(3), c.at(4)};
    // Worker 3 hears nothing for a minute: it cannot answer.
    c.sim.network().clog_receive(c.at(3).ip, std::chrono::seconds(60));
    flow::Time began = flow::now();
    const std::vector<flow::NetworkAddress> answered = roles::responsive_workers(all, std::chrono::seconds(5));
    CHECK(answered == std::vector<flow::NetworkAddress>{c.at(1), c.at(2), c.at(4)});
    // The others answered within milliseconds: the silent one got three times that, at least
    // 20 ms, not the whole 5 s.
    CHECK(flow::now() - began < std::chrono::milliseconds(500));
    // With every worker silent, the whole `within` passes and none is kept.
    for (int p = 1; p <= 4; ++p) c.sim.network().clog_receive(c.at(p).ip, std::chrono::seconds(60));
    began = flow::now();
    CHECK(roles::responsive_workers(all, std::chrono::milliseconds(300)).empty());
    CHECK(flow::now() - began >= std::chrono::milliseconds(300));
    CHECK(roles::responsive_workers({}, std::chrono::milliseconds(300)).empty());
    return 0;
  });
}

TEST_CASE("recovery: responsive_workers does not let the caller's own worker, which answers at once, set the pace") {
  Cluster c(49);
  c.start(0, "worker", [] { roles::run_worker(); });
  c.client([&c] {
    flow::wait(flow::delay(std::chrono::milliseconds(10)));
    // Worker 1 answers in about 30 ms (what it hears is held that long): well within 200 ms.
    c.sim.network().clog_receive(c.at(1).ip, std::chrono::milliseconds(30));
    const std::vector<flow::NetworkAddress> both{c.at(0), c.at(1)};
    CHECK(roles::responsive_workers(both, std::chrono::milliseconds(200)) == both);
    return 0;
  });
}

TEST_CASE("recovery: recruit_within gives 1 s, doubling with each timed-out attempt, up to 12 s") {
  using std::chrono::seconds;
  CHECK(roles::recruit_within(0) == seconds(1));
  CHECK(roles::recruit_within(1) == seconds(2));
  CHECK(roles::recruit_within(3) == seconds(8));
  CHECK(roles::recruit_within(4) == seconds(12));
  CHECK(roles::recruit_within(1000) == seconds(12));
  CHECK(roles::recruit_within(-1) == seconds(1));
}

TEST_CASE("recovery: a silent old log costs a short grace, not 200 ms, and the wait for the first old log is reported") {
  Cluster c(50);
  c.client([&c] {
    roles::TLogInterface ahead;
    const roles::ClusterState old = old_generation(c, ahead);
    // The log behind hears nothing for a minute: only the one ahead answers its lock.
    c.sim.network().clog_receive(c.at(2).ip, std::chrono::seconds(60));
    double waited = -1;
    const flow::Time began = flow::now();
    const roles::Recovered r = roles::recover(old, 2, on(c.at(4)), nullptr, roles::kRecruitWithin, &waited);
    CHECK(waited >= 0);
    CHECK(waited < 0.1);
    REQUIRE(r.state.log_system.generations.size() == 2);
    CHECK(r.state.log_system.generations[0].logs.size() == 1);  // the silent one is not kept
    // Locking gave the silent log three times the first answer's few milliseconds (at least
    // 20 ms), not 200 ms; the rest of the recovery is quick in a quiet cluster.
    CHECK(flow::now() - began < std::chrono::milliseconds(150));
    return 0;
  });
}

TEST_CASE("recovery: while every old log is silent the recovery waits, and says how long") {
  Cluster c(51);
  c.client([&c] {
    roles::TLogInterface ahead;
    const roles::ClusterState old = old_generation(c, ahead);
    c.sim.network().clog_receive(c.at(1).ip, std::chrono::milliseconds(1500));
    c.sim.network().clog_receive(c.at(2).ip, std::chrono::milliseconds(1500));
    double waited = -1;
    const roles::Recovered r = roles::recover(old, 2, on(c.at(4)), nullptr, roles::kRecruitWithin, &waited);
    CHECK(waited >= 1.4);
    CHECK(r.state.epoch == 2);
    return 0;
  });
}
