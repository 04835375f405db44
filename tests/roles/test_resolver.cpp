// The resolver role in a quiet simulated cluster: batches sent out of order are resolved in
// version order, a retried batch gets its answer again, and what a peer must not send (another
// epoch, a malformed batch) is dropped, never asserted on.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "flow/flow.h"
#include "roles/resolver/resolver_interface.h"
#include "sim/simulator.h"
#include "tests/roles/role_cluster.h"

using namespace std::chrono_literals;
using roles::ResolverInterface;
namespace wr = strata::wire::resolver;

namespace {

// A cluster with a resolver on process 1.
struct Cluster : roles_testing::RoleCluster {
  explicit Cluster(uint64_t seed) : RoleCluster(seed) {}
  ResolverInterface start_resolver(roles::ResolverInit init) {
    const auto in = make_interface<ResolverInterface>(1);
    start(1, "resolver", [in, init] { roles::run_resolver(in, init); });
    return in;
  }
};

std::unique_ptr<wr::KeyRangeT> range(const std::string& b, const std::string& e) {
  auto r = std::make_unique<wr::KeyRangeT>();
  r->begin.assign(b.begin(), b.end());
  r->end.assign(e.begin(), e.end());
  return r;
}

// A batch of one transaction that read `read` (at `read_version`) and wrote `write` (if any).
wr::ResolveBatchRequestT batch(roles::Version prev, roles::Version version,
                               roles::Version read_version, const std::string& read,
                               const std::string& write, uint64_t epoch = 1) {
  wr::ResolveBatchRequestT b;
  b.epoch = epoch;
  b.prev_version = prev;
  b.version = version;
  auto t = std::make_unique<wr::TransactionRangesT>();
  t->read_version = read_version;
  if (!read.empty()) t->reads.push_back(range(read, read + '\0'));
  if (!write.empty()) t->writes.push_back(range(write, write + '\0'));
  b.transactions.push_back(std::move(t));
  return b;
}

}  // namespace

TEST_CASE("resolver role: batches sent out of order are resolved in version order") {
  Cluster c(1);
  const ResolverInterface r = c.start_resolver({.epoch = 1, .start_version = 100});
  const auto verdicts = c.client([&r] {
    // Sent newest first. Batch 200 writes k; batch 300 read k at 150, before that write:
    // it conflicts only if 200 was resolved first, as its version says it must be.
    auto third = r.resolve.get_reply(batch(300, 400, 350, "k", ""));
    auto second = r.resolve.get_reply(batch(200, 300, 150, "k", ""));
    auto first = r.resolve.get_reply(batch(100, 200, 150, "", "k"));
    std::vector<wr::Verdict> v;
    for (auto* f : {&first, &second, &third}) v.push_back(flow::wait(*f).verdicts.at(0));
    return v;
  });
  CHECK(verdicts == std::vector{wr::Verdict::Committed, wr::Verdict::Conflict,
                                wr::Verdict::Committed});
}

TEST_CASE("resolver role: a retried batch gets the answer it had, not a second resolution") {
  Cluster c(2);
  const ResolverInterface r = c.start_resolver({.epoch = 1, .start_version = 0});
  const auto verdicts = c.client([&r] {
    std::vector<wr::Verdict> v;
    v.push_back(flow::wait(r.resolve.get_reply(batch(0, 10, 5, "a", "a"))).verdicts.at(0));
    // The same batch again: resolved afresh, its read of "a" at 5 would meet its own write at
    // 10 and conflict.
    v.push_back(flow::wait(r.resolve.get_reply(batch(0, 10, 5, "a", "a"))).verdicts.at(0));
    return v;
  });
  CHECK(verdicts == std::vector{wr::Verdict::Committed, wr::Verdict::Committed});
}

TEST_CASE("resolver role: another epoch's batch is refused (stale_epoch), a malformed one dropped, and the role goes on") {
  Cluster c(3);
  const ResolverInterface r = c.start_resolver({.epoch = 7, .start_version = 0});
  c.client([&r] {
    using roles_testing::outcome;
    CHECK(outcome(r.resolve.get_reply(batch(0, 10, 5, "a", "", /*epoch=*/6))) ==
          flow::ErrorCode::stale_epoch);
    CHECK(outcome(r.resolve.get_reply(batch(10, 10, 5, "a", "", 7))) ==
          flow::ErrorCode::broken_promise);  // version not after prev_version
    CHECK(outcome(r.resolve.get_reply(batch(0, 10, 5, "a", "", 7))) == flow::ErrorCode::success);
    return 0;
  });
}
