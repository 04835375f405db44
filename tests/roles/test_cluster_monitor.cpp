// How a client finds its database (client/cluster_monitor.h): from a description's coordinators
// to the leader, from the leader's controller to the generation's proxies; it follows a new
// leader when the old one's process dies, a new generation when the controller publishes one,
// and the cluster to new coordinators when the old ones forward it. A controller's reply that
// is not whole is never believed.
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <vector>

#include "client/database.h"
#include "flow/flow.h"
#include "roles/cluster_controller/leader_election.h"
#include "roles/cluster_controller/open_database.h"
#include "tests/roles/coordinators_testing.h"
#include "tests/roles/role_cluster.h"

using namespace std::chrono_literals;
using roles_testing::RoleCluster;

namespace {

// A stand-in controller's leadership: publishes generation `++*epochs` with one GRV proxy and
// one commit proxy of its own process, and after `next_after` (if set) the generation after.
struct Leaderships {
  uint64_t epochs = 0;
  std::optional<flow::Duration> next_after;
};

void lead_stand_in(Leaderships& l) {
  const roles::ClusterControllerInterface controller = roles::cluster_controller_endpoints(nullptr);
  const auto generation = [&l] {
    return roles::ClientGeneration{++l.epochs, {roles::GrvProxyInterface{}}, {roles::CommitProxyInterface{}}, ""};
  };
  flow::AsyncVar<roles::ClientGeneration> published(generation());
  const flow::Future<flow::Void> serving =
      flow::spawn([&controller, &published] { roles::serve_open_database(controller.open_database, &published); });
  if (l.next_after) {
    flow::wait(flow::delay(*l.next_after));
    published.set_unconditionally(generation());
  }
  flow::wait(flow::never<flow::Void>());
}

// Coordinators on processes 1..5 (cluster `d` lists some of them), candidates on 1..n.
void start_cluster(RoleCluster& c, const roles::ClusterDescription& d, int n, Leaderships& l) {
  for (int p = 1; p <= 5; ++p) c.start(p, "coordinator", [] { roles::run_coordinator(); });
  for (int p = 1; p <= n; ++p) {
    const flow::NetworkAddress self = c.sim.process(p).address;
    c.start(p, "candidate", [d, self, &l] {
      roles::ClusterDescription known = d;
      roles::campaign(&known, self, [&l] { lead_stand_in(l); });
    });
  }
}

// The process the database's GRV proxy is on, waiting for one to be known. May suspend.
flow::NetworkAddress proxy_host(client::Database& db) { return db.grv_proxy().get_read_version.endpoint().address; }

int process_at(RoleCluster& c, flow::NetworkAddress a) {
  for (size_t p = 0; p < c.sim.process_count(); ++p)
    if (c.sim.process(p).address == a) return static_cast<int>(p);
  return -1;
}

}  // namespace

TEST_CASE("cluster monitor: a client finds the proxies through the coordinators, and the next leader's") {
  RoleCluster c(71, 6);
  Leaderships l;
  const roles::ClusterDescription d = roles_testing::at(c, "first", {1, 2, 3});
  start_cluster(c, d, 4, l);
  c.client([&] {
    client::Database db(d);
    const flow::NetworkAddress first = proxy_host(db);  // waits for the election and the reply
    CHECK(l.epochs == 1);
    const int victim = process_at(c, first);
    REQUIRE(victim >= 1);
    c.sim.kill_process(c.sim.process(victim));
    // The lease, an election, and the client's look: well within 10 s.
    flow::wait(flow::delay(10s));
    CHECK(l.epochs == 2);
    const flow::NetworkAddress second = proxy_host(db);
    CHECK(second != first);
    CHECK(process_at(c, second) >= 1);
    return 0;
  });
}

TEST_CASE("cluster monitor: a client that knows a generation is told of the next one") {
  RoleCluster c(72, 6);
  Leaderships l;
  l.next_after = 3s;
  const roles::ClusterDescription d = roles_testing::at(c, "first", {1, 2, 3});
  start_cluster(c, d, 1, l);
  c.client([&] {
    client::Database db(d);
    const roles::GrvProxyInterface before = db.grv_proxy();
    CHECK(l.epochs == 1);
    flow::wait(flow::delay(4s));  // the controller publishes the next at 3 s; the held poll answers
    REQUIRE(l.epochs == 2);
    CHECK(db.grv_proxy().get_read_version.endpoint() != before.get_read_version.endpoint());
    CHECK(db.grv_proxy().get_read_version.endpoint().address == before.get_read_version.endpoint().address);
    return 0;
  });
}

TEST_CASE("cluster monitor: a client that knows only the old coordinators follows the cluster to the new") {
  RoleCluster c(73, 6);
  Leaderships l;
  const roles::ClusterDescription old_set = roles_testing::at(c, "first", {1, 2, 3});
  const roles::ClusterDescription new_set = roles_testing::at(c, "second", {3, 4, 5});
  start_cluster(c, old_set, 2, l);
  c.client([&] {
    client::Database db(old_set);
    proxy_host(db);
    REQUIRE(l.epochs == 1);
    roles::forward_cluster(old_set, new_set);
    // The candidates follow and one is elected there; the client follows the forward to it.
    flow::wait(flow::delay(15s));
    CHECK(db.cluster() == new_set);
    CHECK(l.epochs == 2);
    client::Database late(old_set);  // opened after the move, from the old description alone
    proxy_host(late);
    CHECK(late.cluster() == new_set);
    return 0;
  });
}

TEST_CASE("cluster monitor: a reply that is not whole is never believed") {
  RoleCluster c(74, 6);
  const roles::ClusterDescription d = roles_testing::at(c, "first", {1, 2, 3});
  for (int p = 1; p <= 3; ++p) c.start(p, "coordinator", [] { roles::run_coordinator(); });
  const flow::NetworkAddress self = c.sim.process(4).address;
  int asked = 0;
  c.start(4, "candidate", [d, self, &asked] {
    roles::ClusterDescription known = d;
    roles::campaign(&known, self, [&asked] {
      const roles::ClusterControllerInterface controller = roles::cluster_controller_endpoints(nullptr);
      for (;;) {
        auto in = flow::wait_next(controller.open_database.requests());
        ++asked;
        // A generation with GRV proxies and no commit proxy; then one whose endpoint is missing.
        roles::wire_cc::OpenDatabaseReplyT bad = roles::to_wire({7, {roles::GrvProxyInterface{}}, {}, ""});
        if (asked % 2 == 0) {
          bad = roles::to_wire({7, {roles::GrvProxyInterface{}}, {roles::CommitProxyInterface{}}, ""});
          bad.commit_proxies[0]->commit.reset();
        }
        in.reply.send(bad);
      }
    });
  });
  c.client([&] {
    client::Database db(d);
    const auto found = flow::wait(flow::timeout(flow::spawn([&db] { return proxy_host(db); }), 10s));
    CHECK_FALSE(found.has_value());
    CHECK(asked >= 2);
    return 0;
  });
}

TEST_CASE("cluster monitor: a client learns of a move from the controller it reached through the old coordinators") {
  // The old coordinators still name the process that now leads among the new ones (it led both):
  // the client reaches the right controller, which says where the cluster is.
  RoleCluster c(75, 6);
  const roles::ClusterDescription old_set = roles_testing::at(c, "first", {1, 2, 3});
  const roles::ClusterDescription new_set = roles_testing::at(c, "second", {3, 4, 5});
  for (int p = 1; p <= 5; ++p) c.start(p, "coordinator", [] { roles::run_coordinator(); });
  c.start(4, "controller", [new_set] {
    const roles::ClusterControllerInterface controller = roles::cluster_controller_endpoints(nullptr);
    flow::AsyncVar<roles::ClientGeneration> published(
        roles::ClientGeneration{3, {roles::GrvProxyInterface{}}, {roles::CommitProxyInterface{}}, new_set.to_string()});
    roles::serve_open_database(controller.open_database, &published);
  });
  const flow::NetworkAddress leader = c.sim.process(4).address;
  c.client([&] {
    roles::CoordinatedState r(old_set, std::string(roles::kLeaderKey));
    r.read();
    r.write(roles::encode_leader({leader, 1, 1}));
    client::Database db(old_set);
    CHECK(proxy_host(db) == leader);
    CHECK(db.cluster() == new_set);
    return 0;
  });
}
