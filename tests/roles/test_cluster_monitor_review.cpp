// Regressions from an adversarial review of the client's way to the database
// (client/cluster_monitor.h, roles/cluster_controller/open_database.h): a client never polls a
// controller in a tight loop (a new leader with no generation yet, one with an older
// generation); one controller's word (a huge epoch) binds nothing after it; coordinators that
// forward in a circle are followed at a bounded pace; a flood of polls is held only up to a bound,
// the rest answered at once; a description with no coordinators is refused, not asserted.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "client/database.h"
#include "flow/actor_collection.h"
#include "flow/flow.h"
#include "roles/cluster_controller/leader_election.h"
#include "roles/cluster_controller/open_database.h"
#include "tests/roles/coordinators_testing.h"
#include "tests/roles/role_cluster.h"

using namespace std::chrono_literals;
using roles_testing::RoleCluster;

namespace {

roles::ClientGeneration gen(uint64_t epoch) {
  if (epoch == 0) return {};
  return roles::ClientGeneration{epoch, {roles::GrvProxyInterface{}}, {roles::CommitProxyInterface{}}, ""};
}

// Each leadership k publishes script[k] (a list of (delay before, epoch)); leaderships past the
// script publish nothing more than their last. OpenDatabase requests reaching each leadership are
// counted, then handed to the real serve_open_database.
struct Script {
  std::vector<std::vector<std::pair<flow::Duration, uint64_t>>> steps;
  int leaderships = 0;
  std::vector<int64_t> requests;  // per leadership
  std::vector<flow::NetworkAddress> where;
};

void lead_scripted(Script& s, flow::NetworkAddress self) {
  const int me = s.leaderships++;
  s.requests.push_back(0);
  s.where.push_back(self);
  const roles::ClusterControllerInterface controller = roles::cluster_controller_endpoints(nullptr);
  const auto& steps = s.steps[std::min<size_t>(static_cast<size_t>(me), s.steps.size() - 1)];
  flow::AsyncVar<roles::ClientGeneration> published;
  const roles::OpenDatabaseStream inner;
  const flow::Future<flow::Void> serving =
      flow::spawn([inner, &published] { roles::serve_open_database(inner, &published); });
  const flow::Future<flow::Void> counting = flow::spawn([&s, me, controller, inner] {
    flow::ActorCollection forwards;
    for (;;) {
      auto in = flow::wait_next(controller.open_database.requests());
      ++s.requests[static_cast<size_t>(me)];
      forwards.add(flow::spawn([inner, in = std::move(in)]() mutable {
        std::optional<roles::wire_cc::OpenDatabaseReplyT> r;
        try {
          r = flow::wait(inner.get_reply(in.request));
        } catch (const flow::Error& e) {
          if (e.code() == flow::ErrorCode::operation_cancelled) throw;
        }
        if (r) in.reply.send(std::move(*r));
      }));
    }
  });
  for (const auto& [after, epoch] : steps) {
    if (after > flow::Duration::zero()) flow::wait(flow::delay(after));
    published.set_unconditionally(gen(epoch));
  }
  flow::wait(flow::never<flow::Void>());
}

void start_scripted(RoleCluster& c, const roles::ClusterDescription& d, int n, Script& s) {
  for (int p = 1; p <= 5; ++p) c.start(p, "coordinator", [] { roles::run_coordinator(); });
  for (int p = 1; p <= n; ++p) {
    const flow::NetworkAddress self = c.sim.process(p).address;
    c.start(p, "candidate", [d, self, &s] {
      roles::ClusterDescription known = d;
      roles::campaign(&known, self, [&s, self] { lead_scripted(s, self); });
    });
  }
}

int process_at(RoleCluster& c, flow::NetworkAddress a) {
  for (size_t p = 0; p < c.sim.process_count(); ++p)
    if (c.sim.process(p).address == a) return static_cast<int>(p);
  return -1;
}

flow::NetworkAddress proxy_host(client::Database& db) { return db.grv_proxy().get_read_version.endpoint().address; }

// Kills the first leader once the client knows its generation; returns how many OpenDatabase
// requests the second leadership received in `window` after it began.
int64_t requests_at_second_leader(Script& s, uint64_t seed, flow::Duration window) {
  RoleCluster c(seed, 6);
  const roles::ClusterDescription d = roles_testing::at(c, "first", {1, 2, 3});
  start_scripted(c, d, 4, s);
  int64_t counted = -1;
  c.client([&] {
    client::Database db(d);
    const flow::NetworkAddress first = proxy_host(db);
    REQUIRE(s.leaderships == 1);
    c.sim.kill_process(c.sim.process(process_at(c, first)));
    while (s.leaderships < 2) flow::wait(flow::delay(10ms));
    const int64_t before = s.requests[1];
    flow::wait(flow::delay(window));
    counted = s.requests[1] - before;
    MESSAGE("second leadership got " << counted << " OpenDatabase requests in "
                                     << flow::to_seconds(window) << " s; client's proxy host now "
                                     << proxy_host(db).to_string());
    return 0;
  });
  return counted;
}

}  // namespace

// A new leader that has not yet published a generation (a recovery under way) holds the poll of
// a client that knew the last leader's: one or two requests, not a loop.
TEST_CASE("cluster monitor review: a new leader with no generation yet is not polled in a loop") {
  Script s;
  s.steps = {{{0s, 5}}, {{0s, 0}, {3s, 6}}};
  const int64_t n = requests_at_second_leader(s, 101, 2s);
  CHECK(n <= 5);
}

// A controller whose generation is older than the one the client knew (the leader before named a
// newer one): its word is taken, and the next poll is held.
TEST_CASE("cluster monitor review: a controller with an older generation is not polled in a loop") {
  Script s;
  s.steps = {{{0s, 5}}, {{0s, 3}}};
  const int64_t n = requests_at_second_leader(s, 102, 2s);
  CHECK(n <= 5);
}

TEST_CASE("cluster monitor review: one controller's huge epoch does not wedge the client") {
  Script s;
  s.steps = {{{0s, std::numeric_limits<uint64_t>::max()}}, {{0s, 1}, {1s, 2}}};
  RoleCluster c(103, 6);
  const roles::ClusterDescription d = roles_testing::at(c, "first", {1, 2, 3});
  start_scripted(c, d, 4, s);
  c.client([&] {
    client::Database db(d);
    const flow::NetworkAddress first = proxy_host(db);
    c.sim.kill_process(c.sim.process(process_at(c, first)));
    flow::wait(flow::delay(20s));
    REQUIRE(s.leaderships >= 2);
    CHECK(proxy_host(db) != first);
    CHECK(s.requests[1] <= 10);
    return 0;
  });
}

TEST_CASE("cluster monitor review: coordinators that forward in a circle are followed at a bounded pace") {
  RoleCluster c(104, 6);
  for (int p = 1; p <= 5; ++p) c.start(p, "coordinator", [] { roles::run_coordinator(); });
  // A circle of three: eight forwards a look end each look on another cluster than they began.
  const roles::ClusterDescription a = roles_testing::at(c, "aaa", {1, 2, 3});
  const roles::ClusterDescription b = roles_testing::at(c, "bbb", {3, 4, 5});
  const roles::ClusterDescription d = roles_testing::at(c, "ddd", {1, 4, 5});
  c.client([&] {
    for (const auto* x : {&a, &b, &d}) {
      roles::CoordinatedState r(*x, std::string(roles::kLeaderKey));
      r.read();
      r.write("junk");
    }
    roles::forward_cluster(a, b);
    roles::forward_cluster(b, d);
    roles::forward_cluster(d, a);
    client::Database db(a);
    int flips = 0;
    std::string last = db.cluster().id;
    const flow::Time t0 = flow::now();
    while (flow::now() - t0 < 1s) {
      flow::wait(flow::delay(1ms));
      if (db.cluster().id != last) {
        ++flips;
        last = db.cluster().id;
      }
    }
    // One change a look, about ten looks a second (669 changes before the bound; none if a look
    // never ends).
    CHECK(flips >= 3);
    CHECK(flips <= 20);
    return 0;
  });
}

TEST_CASE("cluster monitor review: a flood of polls is held only up to a bound, the rest answered at once") {
  RoleCluster c(105, 3);
  c.start(1, "controller", [] {
    const roles::ClusterControllerInterface controller = roles::cluster_controller_endpoints(nullptr);
    flow::AsyncVar<roles::ClientGeneration> published(gen(7));
    roles::serve_open_database(controller.open_database, &published);
  });
  const flow::NetworkAddress at = c.sim.process(1).address;
  c.client([&] {
    const roles::ClusterControllerInterface controller = roles::cluster_controller_endpoints(&at);
    roles::wire_cc::OpenDatabaseRequestT request;
    request.known = 7;
    const size_t n = roles::kOpenDatabaseHeldMax + 1000;
    std::vector<flow::Future<roles::wire_cc::OpenDatabaseReplyT>> pending;
    flow::wait(flow::delay(100ms));
    for (size_t i = 0; i < n; ++i) pending.push_back(controller.open_database.get_reply(request));
    flow::wait(flow::delay(2s));
    size_t answered = 0;
    for (auto& f : pending) answered += f.is_ready() && !f.is_error();
    CHECK(answered == n - roles::kOpenDatabaseHeldMax);
    flow::wait(flow::delay(roles::kOpenDatabasePollMax));
    answered = 0;
    for (auto& f : pending) answered += f.is_ready() && !f.is_error();
    CHECK(answered == n);  // the held ones after the poll's bound
    return 0;
  });
}

TEST_CASE("cluster monitor review: a description without coordinators, or with one twice, is refused") {
  RoleCluster c(106, 3);
  c.client([&] {
    roles::ClusterDescription none{"test", "none", {}};
    CHECK(roles_testing::outcome(flow::spawn([&none] { client::Database db(none); })) ==
          flow::ErrorCode::invalid_option_value);
    roles::ClusterDescription twice = roles_testing::at(c, "twice", {1, 1});
    CHECK(roles_testing::outcome(flow::spawn([&twice] { client::Database db(twice); })) ==
          flow::ErrorCode::invalid_option_value);
    return 0;
  });
}
