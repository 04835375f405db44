// The GRV proxy role in a quiet simulated cluster, beside a master: a read version is the newest
// committed version, asked for after the request came (so it follows every commit acknowledged
// before); the requests of a busy moment share one version; the end of its epoch ends the proxy.
#include <doctest/doctest.h>

#include <chrono>
#include <vector>

#include "flow/flow.h"
#include "roles/grv_proxy/grv_proxy_interface.h"
#include "roles/master/master_interface.h"
#include "tests/roles/role_cluster.h"

using namespace std::chrono_literals;
using roles::GrvProxyInterface;
using roles::MasterInterface;
using roles_testing::outcome;
namespace wm = strata::wire::master;
namespace wg = strata::wire::grv_proxy;

namespace {

struct Cluster : roles_testing::RoleCluster {
  explicit Cluster(uint64_t seed) : RoleCluster(seed, 3) {}
  // A master on process 1 and a GRV proxy (of `grv_epoch`) on process 2.
  void start_both(uint64_t grv_epoch = 1) {
    master = make_interface<MasterInterface>(1);
    start(1, "master", [m = master] { roles::run_master(m, {.epoch = 1, .start_version = 10}); });
    grv = make_interface<GrvProxyInterface>(2);
    start(2, "grv_proxy", [g = grv, m = master, grv_epoch] {
      roles::run_grv_proxy(g, {.epoch = grv_epoch, .master = m, .logs = {}, .lock_uid = {}});
    });
  }
  MasterInterface master;
  GrvProxyInterface grv;
};

wg::GetReadVersionRequestT read_version_request(
    wg::ReadVersionPriority p = wg::ReadVersionPriority::Default) {
  wg::GetReadVersionRequestT r;
  r.priority = p;
  return r;
}

// Gets a commit version from the master and reports it committed, as a commit proxy does.
roles::Version commit_one(const MasterInterface& m, uint64_t number) {
  wm::GetCommitVersionRequestT ask;
  ask.epoch = 1;
  ask.proxy_id = 1;
  ask.request_number = number;
  ask.most_recent_processed = number - 1;
  const auto v = flow::wait(m.get_commit_version.get_reply(ask));
  wm::ReportCommittedRequestT report;
  report.epoch = 1;
  report.version = v.version;
  flow::wait(m.report_committed.get_reply(report));
  return v.version;
}

}  // namespace

TEST_CASE("GRV proxy: a read version is at or after every commit acknowledged before it was asked") {
  Cluster c(1);
  c.start_both();
  c.client([&c] {
    CHECK(flow::wait(c.grv.get_read_version.get_reply(read_version_request())).version == 10);
    for (uint64_t i = 1; i <= 20; ++i) {
      const roles::Version committed = commit_one(c.master, i);
      const auto priority = i % 2 ? wg::ReadVersionPriority::Default
                                  : wg::ReadVersionPriority::Immediate;
      const auto rv = flow::wait(c.grv.get_read_version.get_reply(read_version_request(priority)));
      CHECK(rv.version >= committed);
    }
    return 0;
  });
}

TEST_CASE("GRV proxy: the requests of one moment get one version, which never goes back") {
  Cluster c(2);
  c.start_both();
  c.client([&c] {
    std::vector<flow::Future<wg::GetReadVersionReplyT>> burst;
    for (int i = 0; i < 50; ++i)
      burst.push_back(c.grv.get_read_version.get_reply(read_version_request()));
    const roles::Version first = flow::wait(burst[0]).version;
    for (auto& f : burst) CHECK(flow::wait(f).version == first);
    const roles::Version committed = commit_one(c.master, 1);
    CHECK(committed > first);
    std::vector<flow::Future<wg::GetReadVersionReplyT>> later;
    for (int i = 0; i < 50; ++i)
      later.push_back(c.grv.get_read_version.get_reply(read_version_request()));
    for (auto& f : later) CHECK(flow::wait(f).version == committed);
    return 0;
  });
}

TEST_CASE("GRV proxy: a master of another epoch ends the proxy, and its clients hear stale_epoch") {
  Cluster c(3);
  c.start_both(/*grv_epoch=*/2);
  c.client([&c] {
    CHECK(outcome(c.grv.get_read_version.get_reply(read_version_request())) ==
          flow::ErrorCode::stale_epoch);
    // The proxy has ended: nobody answers any more (the endpoint stays while this test holds
    // the stream it was made from).
    flow::wait(flow::delay(100ms));
    CHECK(!flow::wait(flow::timeout(c.grv.get_read_version.get_reply(read_version_request()), 5s))
               .has_value());
    return 0;
  });
}
