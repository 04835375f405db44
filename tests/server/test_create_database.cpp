// Creating the database on a cluster of strata-server's shape (server/bring_up.h), in the
// simulator: every process runs a worker, a coordinator, a registration and a candidate whose
// leadership creates databases. Until a client says "configure new" the controller answers that
// there is no database; then it places the first generation on the registered workers, and
// the cluster recovers from the loss of a process like any other.
#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "client/database.h"
#include "client/transaction.h"
#include "flow/flow.h"
#include "roles/cluster_controller/worker_registration.h"
#include "server/server_process.h"
#include "tests/roles/role_cluster.h"

using namespace std::chrono_literals;
using roles_testing::RoleCluster;

namespace {

// Processes 1..n as strata-server runs them (server::serve_process); coordinators on 1..3.
roles::ClusterDescription start_servers(RoleCluster& c, int n) {
  roles::ClusterDescription d{"test", "first", {}};
  for (int p = 1; p <= 3; ++p) d.coordinators.push_back(c.sim.process(p).address);
  for (int p = 1; p <= n; ++p) {
    const roles::WorkerRegistration me{c.sim.process(p).address, "m" + std::to_string(p), roles::ProcessClass::unset};
    c.start(p, "server", [d, me] {
      roles::ClusterDescription known;
      const std::vector<flow::Future<flow::Void>> running = server::serve_process(d, me, &known);
      flow::wait(flow::wait_all(running));
    });
  }
  return d;
}

// What `fn` throws, or success. May suspend.
template <class Fn>
flow::ErrorCode error_of(Fn fn) {
  try {
    fn();
    return flow::ErrorCode::success;
  } catch (const flow::Error& e) {
    if (e.code() == flow::ErrorCode::operation_cancelled) throw;
    return e.code();
  }
}

bool has(const std::string& json, const std::string& text) {
  return json.find(text) != std::string::npos;
}

}  // namespace

TEST_CASE(
    "create database: none until configure new; then commits, and a second creation is refused") {
  RoleCluster c(11, 5);
  const roles::ClusterDescription d = start_servers(c, 4);
  c.client([d] {
    client::Database db(d);
    const std::string before = db.controller_status();
    CHECK(has(before, "\"recovery_state\": \"unconfigured\""));
    CHECK(error_of([&] { db.configure("logs=2"); }) == flow::ErrorCode::database_not_created);
    CHECK(error_of([&] { db.lock("0123456789abcdef"); }) == flow::ErrorCode::database_not_created);
    CHECK(error_of([&] { db.configure("new triple"); }) == flow::ErrorCode::success);
    db.run([](client::Transaction& t) { t.set("hello", "world"); });
    CHECK(db.run([](client::Transaction& t) { return t.get("hello"); }) ==
          std::optional<std::string>("world"));
    CHECK(error_of([&] { db.configure("new single"); }) ==
          flow::ErrorCode::database_already_created);
    const std::string after = db.controller_status();
    CHECK(has(after, "\"recovery_state\": \"accepting_commits\""));
    CHECK(has(after, "\"replication\": 3"));
    CHECK(has(after, "\"machine\": \"m4\""));
  });
}

TEST_CASE(
    "create database: too few machines for the copies asked for is not_enough_workers, and nothing "
    "is made") {
  RoleCluster c(12, 4);
  const roles::ClusterDescription d =
      start_servers(c, 2);  // two servers; the third coordinator serves none
  c.client([d] {
    client::Database db(d);
    CHECK(error_of([&] { db.configure("new triple"); }) == flow::ErrorCode::not_enough_workers);
    CHECK(has(db.controller_status(), "\"recovery_state\": \"unconfigured\""));
    CHECK(error_of([&] { db.configure("new double ssd"); }) == flow::ErrorCode::success);
    db.run([](client::Transaction& t) { t.set("k", "v"); });
  });
}

TEST_CASE(
    "create database: the created database recovers when a process dies, keeping what committed") {
  RoleCluster c(13, 6);
  const roles::ClusterDescription d = start_servers(c, 5);
  c.client([&c, d] {
    client::Database db(d);
    db.configure("new double");
    for (int i = 0; i < 20; ++i)
      db.run([i](client::Transaction& t) { t.set("k" + std::to_string(i), "v"); });
    // Kill the process of the first commit proxy, unless it is a coordinator (keep a majority).
    const std::string status = db.controller_status();
    int victim = 4;
    for (int p = 1; p <= 5; ++p)
      if (has(status, "\"commit_proxies\": [\"" + c.sim.process(p).address.to_string())) victim = p;
    if (victim <= 3) victim = 4;
    c.sim.kill_process(c.sim.process(victim));
    db.run([](client::Transaction& t) { t.set("after", "kill"); });
    for (int i = 0; i < 20; ++i)
      CHECK(db.run([i](client::Transaction& t) {
                return t.get("k" + std::to_string(i));
              }).has_value());
    CHECK(db.run([](client::Transaction& t) { return t.get("after"); }) ==
          std::optional<std::string>("kill"));
  });
}
