// The cluster state's encoding (roles/cluster_controller/cluster_state.h): what is written reads
// back the same, and bytes from a coordinator that are not a whole, valid state are refused with
// malformed_message, never believed: truncations, flipped bytes, an epoch out of range, resolver
// ranges with a gap, a lock uid too long.
#include <doctest/doctest.h>

#include <string>

#include "flow/deterministic_random.h"
#include "flow/flow.h"
#include "roles/cluster_controller/cluster_state.h"
#include "roles/common/database_lock.h"
#include "roles/worker/role_endpoints.h"
#include "tests/roles/role_cluster.h"

namespace {

roles::ClusterState sample(roles_testing::RoleCluster& c) {
  roles::ClusterState s;
  s.epoch = 7;
  const roles::TLogInterface log = c.make_interface<roles::TLogInterface>(1);
  s.log_system.generations = {{3, {log}, 500}, {7, {log}, roles::kVersionMax}};
  auto map = roles::ShardMap::make({{{"", "m"}, {{c.sim.process(1).address, 1}}},
                                    {{"m", std::string(roles::kKeyspaceEnd)}, {{c.sim.process(1).address, 2}}}});
  REQUIRE(map.ok());
  s.shards = map.get();
  s.resolver_ranges = {{"", "g"}, {"g", std::string(roles::kKeyspaceEnd)}};
  s.storage_durable_min = 400;
  s.lock_uid = "holder";
  return s;
}

}  // namespace

TEST_CASE("cluster state: encoded and decoded, it is the same state") {
  roles_testing::RoleCluster c(51, 2);
  const roles::ClusterState s = sample(c);
  const std::string bytes = roles::encode_cluster_state(s);
  const flow::ErrorOr<roles::ClusterState> back = roles::decode_cluster_state(bytes);
  REQUIRE(back.ok());
  CHECK(back.get().epoch == 7);
  CHECK(back.get().log_system.generations.size() == 2);
  CHECK(back.get().log_system.generations[0].end_version == 500);
  CHECK(back.get().shards.shards().size() == 2);
  CHECK(back.get().resolver_ranges.size() == 2);
  CHECK(back.get().storage_durable_min == 400);
  CHECK(back.get().lock_uid == "holder");
  CHECK(roles::encode_cluster_state(back.get()) == bytes);
}

TEST_CASE("cluster state: bytes that are not a whole, valid state are malformed_message") {
  roles_testing::RoleCluster c(52, 2);
  const roles::ClusterState good = sample(c);
  const auto refused = [](const std::string& bytes) {
    const flow::ErrorOr<roles::ClusterState> d = roles::decode_cluster_state(bytes);
    return !d.ok() && d.error().code() == flow::ErrorCode::malformed_message;
  };
  CHECK(refused(""));
  CHECK(refused("not a flatbuffer at all"));
  const std::string bytes = roles::encode_cluster_state(good);
  for (size_t n = 0; n < bytes.size(); n += 7) CHECK(refused(bytes.substr(0, n)));
  // Flipped bytes: refused or, where the flip lands in a value, a state still valid.
  const uint64_t seed = flow::deterministic_random().random_uint64();
  MESSAGE("seed " << seed);
  flow::DeterministicRandom rng(seed);
  for (int i = 0; i < 500; ++i) {
    std::string flipped = bytes;
    flipped[static_cast<size_t>(rng.random_int(0, static_cast<int64_t>(flipped.size())))] ^=
        static_cast<char>(1 << rng.random_int(0, 8));
    const flow::ErrorOr<roles::ClusterState> d = roles::decode_cluster_state(flipped);
    if (d.ok()) CHECK(roles::decode_cluster_state(roles::encode_cluster_state(d.get())).ok());
  }
  roles::ClusterState s = good;
  s.epoch = 0;
  CHECK(refused(roles::encode_cluster_state(s)));
  s = good;
  s.epoch = 3;  // older than its log system's current generation
  CHECK(refused(roles::encode_cluster_state(s)));
  s = good;
  s.resolver_ranges = {{"", "g"}, {"h", std::string(roles::kKeyspaceEnd)}};
  CHECK(refused(roles::encode_cluster_state(s)));
  s = good;
  s.resolver_ranges.clear();
  CHECK(refused(roles::encode_cluster_state(s)));
  s = good;
  s.lock_uid = std::string(roles::kLockUidBytesMax + 1, 'u');
  CHECK(refused(roles::encode_cluster_state(s)));
  s = good;
  s.storage_durable_min = -1;
  CHECK(refused(roles::encode_cluster_state(s)));
}

TEST_CASE("configuration: role counts parse from configure's words, and anything else is refused with why") {
  using roles::parse_configuration;
  using roles::RoleCounts;
  const RoleCounts current{3, 2, 4, 0};
  const flow::ErrorOr<RoleCounts> some = parse_configuration("  logs=2   grv_proxies=1 ", current);
  REQUIRE(some.ok());
  CHECK(some.get() == RoleCounts{1, 2, 2, 0});
  CHECK(parse_configuration("commit_proxies=8", {}).get() == RoleCounts{0, 8, 0, 0});
  CHECK(parse_configuration("resolvers=3 logs=1", current).get() == RoleCounts{3, 2, 1, 3});
  const auto refused = [](std::string_view text, std::string_view said) {
    std::string why;
    const flow::ErrorOr<RoleCounts> r = parse_configuration(text, {}, &why);
    CHECK_FALSE(r.ok());
    if (!r.ok()) CHECK(r.error().code() == flow::ErrorCode::invalid_option_value);
    CHECK(why.find(said) != std::string::npos);
  };
  refused("", "nothing to change");
  refused("double", "data movement");
  refused("storage_engine=ssd", "data movement");
  refused("resolvers=0", "1..8");
  refused("resolvers=9", "1..8");
  refused("logs", "data movement");
  refused("logs=0", "1..8");
  refused("logs=9", "1..8");
  refused("logs=-1", "1..8");
  refused("logs=123", "1..8");
  refused("logs=2x", "1..8");
  refused("logs=2 logs=3", "twice");
}

TEST_CASE("cluster state: role counts and a move under way are kept; counts out of range are malformed") {
  roles_testing::RoleCluster c(53, 2);
  roles::ClusterState s = sample(c);
  s.counts = {2, 3, 1, 5};
  s.moving_to = roles::ClusterDescription{"n", "abc", {c.sim.process(1).address}};
  const flow::ErrorOr<roles::ClusterState> back = roles::decode_cluster_state(roles::encode_cluster_state(s));
  REQUIRE(back.ok());
  CHECK(back.get().counts == roles::RoleCounts{2, 3, 1, 5});
  REQUIRE(back.get().moving_to.has_value());
  CHECK(*back.get().moving_to == *s.moving_to);
  s.counts.logs = roles::kRoleCountMax + 1;
  CHECK_FALSE(roles::decode_cluster_state(roles::encode_cluster_state(s)).ok());
  s.counts.logs = 1;
  s.counts.resolvers = -1;
  CHECK_FALSE(roles::decode_cluster_state(roles::encode_cluster_state(s)).ok());
}

TEST_CASE("cluster state: the running generation's roles are kept, and a new leader takes it over only at the state's epoch") {
  roles_testing::RoleCluster c(53, 3);
  roles::ClusterState s = sample(c);
  const flow::NetworkAddress a = c.sim.process(1).address, b = c.sim.process(2).address;
  s.running = roles::RunningRoles{7, a, {a, b}, {b}, {a, b}, {b, a}};
  const flow::ErrorOr<roles::ClusterState> back = roles::decode_cluster_state(roles::encode_cluster_state(s));
  REQUIRE(back.ok());
  REQUIRE(back.get().running.has_value());
  CHECK(*back.get().running == *s.running);
  const std::optional<roles::GenerationPlan> plan = roles::running_plan(back.get());
  REQUIRE(plan.has_value());
  CHECK(plan->epoch == 7);
  CHECK(plan->master == a);
  CHECK(plan->grv_proxies == std::vector<flow::NetworkAddress>{a, b});
  CHECK(plan->commit_proxies == std::vector<flow::NetworkAddress>{b});
  CHECK(plan->logs == std::vector<flow::NetworkAddress>{b, a});
  REQUIRE(plan->resolvers.size() == 2);
  CHECK(plan->resolvers[1].keys.begin == "g");
  CHECK(plan->resolvers[1].at == b);
  CHECK(roles::running_roles(*plan) == *s.running);

  // A recovery has begun since (it wrote the state with its newer epoch): recover.
  roles::ClusterState later = back.get();
  later.epoch = 8;
  CHECK_FALSE(roles::running_plan(later).has_value());
  roles::ClusterState none = back.get();
  none.running.reset();
  CHECK_FALSE(roles::running_plan(none).has_value());

  // Running roles that could not be: refused, never believed.
  const auto refused = [&s](auto change) {
    roles::ClusterState bad = s;
    change(*bad.running);
    const flow::ErrorOr<roles::ClusterState> d = roles::decode_cluster_state(roles::encode_cluster_state(bad));
    return !d.ok() && d.error().code() == flow::ErrorCode::malformed_message;
  };
  CHECK(refused([](roles::RunningRoles& r) { r.epoch = 8; }));  // newer than the state
  CHECK(refused([](roles::RunningRoles& r) { r.epoch = 0; }));
  CHECK(refused([](roles::RunningRoles& r) { r.grv_proxies.clear(); }));
  CHECK(refused([](roles::RunningRoles& r) { r.commit_proxies.clear(); }));
  CHECK(refused([](roles::RunningRoles& r) { r.logs.clear(); }));
  CHECK(refused([&a](roles::RunningRoles& r) { r.resolvers.push_back(a); }));  // three for two ranges
  CHECK(refused([&a](roles::RunningRoles& r) { r.logs.assign(roles::kRoleIndexMax + 1, a); }));
  CHECK(refused([](roles::RunningRoles& r) { r.master = {}; }));  // "0.0.0.0:0"
}
