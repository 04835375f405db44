// Leader election through the coordinators (roles/cluster_controller/leader_election.h): one
// candidate leads at a time; when the leader's process dies another takes over after the lease;
// a leader cut off from the coordinators stops leading before another starts; a leader record
// that is not one (from the coordinators, over the network) is no leader.
#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "flow/flow.h"
#include "roles/cluster_controller/leader_election.h"
#include "tests/roles/role_cluster.h"

using namespace std::chrono_literals;
using roles_testing::RoleCluster;

namespace {

// Who leads, as the candidates' work reports it.
struct Leadership {
  int leading = 0;      // how many lead now
  int most_at_once = 0;
  std::vector<flow::NetworkAddress> leaders;  // in the order they began
  flow::Time last_began{};
  flow::Time last_ended{};
};

// Candidates on processes 1..n, coordinators on 1..3.
void start_candidates(RoleCluster& c, int n, Leadership& l) {
  std::vector<flow::NetworkAddress> coordinators;
  for (int p = 1; p <= 3; ++p) {
    c.start(p, "coordinator", [] { roles::run_coordinator(); });
    coordinators.push_back(c.sim.process(p).address);
  }
  for (int p = 1; p <= n; ++p) {
    const flow::NetworkAddress self = c.sim.process(p).address;
    c.start(p, "candidate", [coordinators, self, &l] {
      roles::campaign(coordinators, self, [&l, self] {
        struct Leading {
          Leadership& l;
          explicit Leading(Leadership& x, flow::NetworkAddress at) : l(x) {
            l.most_at_once = std::max(l.most_at_once, ++l.leading);
            l.leaders.push_back(at);
            l.last_began = flow::now();
          }
          ~Leading() {
            --l.leading;
            l.last_ended = flow::now();
          }
        } leading(l, self);
        flow::wait(flow::never<flow::Void>());
      });
    });
  }
}

}  // namespace

TEST_CASE("leader election: one leads; when its process dies another takes over after the lease") {
  RoleCluster c(61, 5);
  Leadership l;
  start_candidates(c, 4, l);
  c.client([&] {
    flow::wait(flow::delay(5s));
    CHECK(l.leading == 1);
    REQUIRE(l.leaders.size() == 1);
    const flow::NetworkAddress first = l.leaders[0];
    int victim = 0;
    for (int p = 1; p <= 4; ++p)
      if (c.sim.process(p).address == first) victim = p;
    REQUIRE(victim != 0);
    const flow::Time killed = flow::now();
    c.sim.kill_process(c.sim.process(victim));
    flow::wait(flow::delay(10s));
    CHECK(l.leading == 1);
    REQUIRE(l.leaders.size() == 2);
    CHECK(l.leaders[1] != first);
    CHECK(l.last_began - killed >= roles::kLeaderLease);  // the lease ran out first
    CHECK(l.last_began - killed < roles::kLeaderLease + 3s);
    c.sim.reboot_process(c.sim.process(victim));
    flow::wait(flow::delay(10s));
    CHECK(l.leaders.size() == 2);  // the rebooted one campaigns, and waits: the leader renews
    CHECK(l.most_at_once == 1);
    return 0;
  });
}

TEST_CASE("leader election: a leader cut off from the coordinators stops before another begins") {
  RoleCluster c(62, 5);
  Leadership l;
  start_candidates(c, 4, l);
  c.client([&] {
    flow::wait(flow::delay(5s));
    REQUIRE(l.leaders.size() == 1);
    int leader = 0;
    for (int p = 1; p <= 4; ++p)
      if (c.sim.process(p).address == l.leaders[0]) leader = p;
    REQUIRE(leader != 0);
    // Its messages out are held for 20 s: it cannot renew, nor can its own coordinator be asked.
    c.sim.network().clog_send(c.sim.process(leader).address.ip, 20s);
    flow::wait(flow::delay(10s));
    REQUIRE(l.leaders.size() == 2);
    CHECK(l.most_at_once == 1);
    CHECK(l.last_ended <= l.last_began);
    return 0;
  });
}

TEST_CASE("leader election: a record that is not a leader's is no leader") {
  const roles::LeaderInfo leader{{0x0a000001, 4500}, 77, 9};
  const std::string bytes = roles::encode_leader(leader);
  CHECK(roles::decode_leader(bytes) == leader);
  CHECK_FALSE(roles::decode_leader("").has_value());
  CHECK_FALSE(roles::decode_leader(bytes.substr(1)).has_value());
  CHECK_FALSE(roles::decode_leader(bytes + "x").has_value());
  std::string wrong_magic = bytes;
  wrong_magic[0] ^= 1;
  CHECK_FALSE(roles::decode_leader(wrong_magic).has_value());
}
