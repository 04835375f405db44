// The master, the GRV proxy and the transaction log against a hostile or unlucky peer, from an
// adversarial review: what a peer sends never reaches an assertion or wedges a role, oversized
// or malformed commits are dropped with the log still serving, acknowledged data survives a
// reboot, and peeks cut by size or racing pops lose and repeat nothing.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "flow/flow.h"
#include "roles/grv_proxy/grv_proxy_interface.h"
#include "roles/master/master_interface.h"
#include "roles/resolver/resolver_interface.h"
#include "roles/tlog/tlog_interface.h"
#include "roles/worker/role_endpoints.h"
#include "tests/roles/role_cluster.h"

using namespace std::chrono_literals;
using roles::TLogInterface;
using roles_testing::outcome;
namespace wt = strata::wire::tlog;
namespace ww = strata::wire;
namespace wm = strata::wire::master;
namespace wg = strata::wire::grv_proxy;

namespace {


struct LogCluster : roles_testing::RoleCluster {
  explicit LogCluster(uint64_t seed) : RoleCluster(seed) {
    start(1, "tlog", [] {
      const TLogInterface in = roles::tlog_endpoints(nullptr, 1, 0);
      roles::run_tlog(in, {.epoch = 1, .start_version = 100, .name = "log"});
    });
    const flow::NetworkAddress a = sim.process(1).address;
    log = roles::tlog_endpoints(&a, 1, 0);
  }
  void reboot_log() {
    sim.kill_process(sim.process(1));
    sim.reboot_process(sim.process(1));
  }
  TLogInterface log;
};

struct W {
  std::vector<uint16_t> tags;
  std::string key;
  std::string value;
};

wt::TLogCommitRequestT commit(roles::Version prev, roles::Version v, std::vector<W> writes) {
  wt::TLogCommitRequestT r;
  r.epoch = 1;
  r.prev_version = prev;
  r.version = v;
  r.known_committed_version = prev;
  for (const W& w : writes) {
    auto m = std::make_unique<ww::TaggedMutationT>();
    m->tags = w.tags;
    m->mutation = std::make_unique<ww::MutationT>(
        roles::to_wire({roles::MutationType::kSet, w.key, w.value}));
    r.messages.push_back(std::move(m));
  }
  return r;
}

wt::TLogPeekRequestT peek(uint16_t tag, roles::Version begin) {
  wt::TLogPeekRequestT r;
  r.epoch = 1;
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

// A peek retried over the connection a reboot broke.
std::optional<wt::TLogPeekReplyT> peek_retrying(const TLogInterface& log, uint16_t tag,
                                                roles::Version begin) {
  for (int attempt = 0; attempt < 10; ++attempt) {
    auto f = log.peek.get_reply(peek(tag, begin));
    const auto code = outcome(flow::timeout(f, 5s));
    if (code == flow::ErrorCode::success && f.is_ready() && !f.is_error()) return f.get();
    MESSAGE("peek attempt: " << (code == flow::ErrorCode::success ? "timed out" : flow::Error(code).name()));
    flow::wait(flow::delay(100ms));
  }
  return std::nullopt;
}

}  // namespace

// A commit whose prev_version the chain has passed, but whose version lies ahead, can never be
// appended: dropped, never held (where an invariant would assert on it).
TEST_CASE("adversarial: a commit overlapping the chain never reaches an assertion") {
  LogCluster c(11);
  c.client([&c] {
    CHECK(flow::wait(c.log.commit.get_reply(commit(100, 200, {{{1}, "a", "1"}}))).version == 200);
    auto hostile = c.log.commit.get_reply(commit(150, 250, {{{1}, "h", "h"}}));
    flow::wait(flow::delay(100ms));
    CHECK(flow::wait(c.log.commit.get_reply(commit(200, 300, {{{1}, "b", "2"}}))).version == 300);
    return 0;
  });
}

// Commits held for a turn that never comes fill the log's bound; the commit whose turn has come
// still goes through (and a nearer one displaces the furthest held).
TEST_CASE("adversarial: commits held for a turn that never comes do not wedge the log") {
  LogCluster c(12);
  c.client([&c] {
    std::vector<flow::Future<wt::TLogCommitReplyT>> junk;
    for (int i = 0; i < 1000; ++i)
      junk.push_back(c.log.commit.get_reply(commit(1'000'000 + 10 * i, 1'000'005 + 10 * i, {})));
    flow::wait(flow::delay(1s));
    auto legit = c.log.commit.get_reply(commit(100, 200, {{{1}, "a", "1"}}));
    const auto code = outcome(flow::timeout(legit, 10s));
    CHECK(code == flow::ErrorCode::success);
    CHECK(legit.is_ready());
    return 0;
  });
}

// A commit larger than the DiskQueue's default record limit (16 MiB) but within a message's: the
// log's queue takes records up to 64 MiB, and whatever the answer, the log goes on serving.
TEST_CASE("adversarial: a commit over the queue's record limit does not end the log") {
  LogCluster c(13);
  c.client([&c] {
    const std::string big(17 << 20, 'x');
    auto f = c.log.commit.get_reply(commit(100, 200, {{{1}, "big", big}}));
    const auto first = outcome(f);
    MESSAGE("the oversized commit ended with " << flow::Error(first).name());
    // Whatever it answered, the log must go on serving.
    auto small = c.log.commit.get_reply(commit(100, 200, {{{1}, "a", "1"}}));
    CHECK(outcome(small) == flow::ErrorCode::success);
    auto p = c.log.peek.get_reply(peek(1, 0));
    CHECK(outcome(p) == flow::ErrorCode::success);
    return 0;
  });
}

// A message's tag count is 2 bytes on disk: a commit with more distinct tags than that is
// refused, never acknowledged and then unreadable after a reboot.
TEST_CASE("adversarial: a commit with more tags than a record holds is refused; the log recovers") {
  LogCluster c(14);
  c.client([&c] {
    std::vector<uint16_t> all;
    for (uint32_t t = 0; t < 65536; ++t) all.push_back(static_cast<uint16_t>(t));
    CHECK(outcome(c.log.commit.get_reply(commit(100, 200, {{all, "k", "v"}}))) ==
          flow::ErrorCode::broken_promise);
    all.pop_back();  // 65,535 tags fit
    CHECK(flow::wait(c.log.commit.get_reply(commit(100, 200, {{all, "k", "v"}}))).version == 200);
    CHECK(flow::wait(c.log.peek.get_reply(peek(7, 0))).versions.size() == 1);
    return 0;
  });
  c.reboot_log();
  c.client([&c] {
    auto r = peek_retrying(c.log, 7, 0);
    REQUIRE(r.has_value());
    CHECK(r->versions.size() == 1);
    return 0;
  });
}

// Expected to hold: a walk of peeks cut at the size limit sees every version exactly once.
TEST_CASE("adversarial: peeks cut by size continue without loss or duplication") {
  LogCluster c(15);
  c.client([&c] {
    roles::Version prev = 100;
    std::vector<roles::Version> expected;
    for (int i = 1; i <= 12; ++i) {
      const roles::Version v = prev + 7;
      std::vector<W> w{{{1}, "k" + std::to_string(v), std::string(300 << 10, 'a')}};
      if (i % 3 == 0) w.push_back({{1}, "k2" + std::to_string(v), std::string(500 << 10, 'b')});
      if (i % 4 == 0) w = {{{2}, "other", "x"}};
      else expected.push_back(v);
      flow::wait(c.log.commit.get_reply(commit(prev, v, w)));
      prev = v;
    }
    std::vector<roles::Version> seen;
    roles::Version begin = 0;
    int replies = 0;
    for (;;) {
      const auto r = flow::wait(c.log.peek.get_reply(peek(1, begin)));
      ++replies;
      for (const auto& v : r.versions) {
        CHECK(v->version >= begin);
        CHECK(v->version < r.end_version);
        seen.push_back(v->version);
      }
      CHECK(r.end_version >= begin);
      if (r.end_version == prev + 1) break;
      REQUIRE(r.end_version > begin);
      begin = r.end_version;
    }
    CHECK(seen == expected);
    CHECK(replies > 1);
    return 0;
  });
}

// Expected to hold: after pops of different tags and a reboot, each tag's data from its popped
// version on is all there, and empty versions do not hold the queue.
TEST_CASE("adversarial: pop, reboot, peek: nothing a tag has not popped is lost") {
  LogCluster c(16);
  std::map<uint16_t, std::vector<roles::Version>> has;
  c.client([&c, &has] {
    roles::Version prev = 100;
    for (roles::Version v = 200; v <= 3000; v += 100) {
      std::vector<W> w;
      const int k = static_cast<int>(v / 100);
      if (k % 5 != 0) {
        std::vector<uint16_t> tags{static_cast<uint16_t>(1 + k % 3)};
        if (k % 7 == 0) tags.push_back(2);
        w.push_back({tags, "k" + std::to_string(v), "v"});
        for (uint16_t t : tags)
          if (has[t].empty() || has[t].back() != v) has[t].push_back(v);
      }
      flow::wait(c.log.commit.get_reply(commit(prev, v, w)));
      prev = v;
    }
    flow::wait(c.log.pop.get_reply(pop(1, 2000)));
    flow::wait(c.log.pop.get_reply(pop(2, 1400)));
    flow::wait(c.log.pop.get_reply(pop(3, 2600)));
    // Another commit so that the queue's pop is durable.
    flow::wait(c.log.commit.get_reply(commit(3000, 3100, {})));
    return 0;
  });
  c.reboot_log();
  c.client([&c, &has] {
    const std::map<uint16_t, roles::Version> popped{{1, 2000}, {2, 1400}, {3, 2600}};
    for (const auto& [tag, from] : popped) {
      auto r = peek_retrying(c.log, tag, from);
      REQUIRE(r.has_value());
      std::vector<roles::Version> got;
      for (const auto& v : r->versions) got.push_back(v->version);
      std::vector<roles::Version> want;
      for (roles::Version v : has[tag])
        if (v >= from) want.push_back(v);
      CHECK(got == want);
      CHECK(r->popped_version <= from);
      CHECK(r->end_version == 3101);
    }
    return 0;
  });
}

// Expected to hold: many proxies, retries and out-of-order numbers: one chain, no burnt versions.
TEST_CASE("adversarial: the master's versions under many proxies and retries form one chain") {
  roles_testing::RoleCluster c(17, 3);
  const auto m = c.make_interface<roles::MasterInterface>(1);
  c.start(1, "master", [m] { roles::run_master(m, {.epoch = 1, .start_version = 1000}); });
  c.client([&m] {
    std::vector<flow::Future<wm::GetCommitVersionReplyT>> fs;
    std::vector<std::pair<uint32_t, uint64_t>> who;
    for (uint64_t round = 0; round < 10; ++round) {
      for (uint32_t proxy = 1; proxy <= 5; ++proxy) {
        // numbers 3r+1..3r+3 sent in reverse order, the middle one twice
        for (uint64_t k : {3u, 2u, 1u, 2u}) {
          wm::GetCommitVersionRequestT r;
          r.epoch = 1;
          r.proxy_id = proxy;
          r.request_number = 3 * round + k;
          r.most_recent_processed = 3 * round;
          fs.push_back(m.get_commit_version.get_reply(r));
          who.push_back({proxy, r.request_number});
        }
      }
      flow::wait(flow::delay(5ms));
    }
    std::map<std::pair<uint32_t, uint64_t>, wm::GetCommitVersionReplyT> replies;
    for (size_t i = 0; i < fs.size(); ++i) {
      if (outcome(fs[i]) != flow::ErrorCode::success) continue;  // a replaced duplicate
      const auto rep = fs[i].get();
      auto [it, fresh] = replies.try_emplace(who[i], rep);
      if (!fresh) {
        CHECK(it->second.version == rep.version);
        CHECK(it->second.prev_version == rep.prev_version);
      }
    }
    CHECK(replies.size() == 150);
    std::map<roles::Version, roles::Version> chain;  // prev -> version
    for (const auto& [k, r] : replies) {
      CHECK(r.version > r.prev_version);
      CHECK(chain.emplace(r.prev_version, r.version).second);
    }
    roles::Version at = 1000;
    size_t n = 0;
    while (chain.contains(at)) at = chain[at], ++n;
    CHECK(n == 150);
    return 0;
  });
}

// Probe: a log killed with a commit in flight; the retry after the reboot goes through, once.
TEST_CASE("adversarial: crash mid-commit, reboot, retry") {
  LogCluster c(18);
  c.client([&c] {
    CHECK(flow::wait(c.log.commit.get_reply(commit(100, 200, {{{1}, "a", "1"}}))).version == 200);
    auto inflight = c.log.commit.get_reply(commit(200, 300, {{{1}, "b", "2"}}));
    flow::wait(flow::delay(150us));
    return 0;
  });
  c.reboot_log();
  c.client([&c] {
    roles::Version got = 0;
    for (int attempt = 0; attempt < 10 && !got; ++attempt) {
      auto f = c.log.commit.get_reply(commit(200, 300, {{{1}, "b", "2"}}));
      if (outcome(f) == flow::ErrorCode::success) got = f.get().version;
      else flow::wait(flow::delay(100ms));
    }
    CHECK(got == 300);
    auto r = peek_retrying(c.log, 1, 0);
    REQUIRE(r.has_value());
    REQUIRE(r->versions.size() == 2);
    CHECK(r->versions[0]->version == 200);
    CHECK(r->versions[1]->version == 300);
    return 0;
  });
}

// The master's bound on one proxy's held requests: full of far-off ones, the proxy's next request
// is still answered.
TEST_CASE("adversarial: master: a proxy's held requests do not wedge its next one") {
  roles_testing::RoleCluster c(19, 2);
  const auto m = c.make_interface<roles::MasterInterface>(1);
  c.start(1, "master", [m] { roles::run_master(m, {.epoch = 1, .start_version = 0}); });
  c.client([&m] {
    std::vector<flow::Future<wm::GetCommitVersionReplyT>> held;
    for (uint64_t n = 100; n < 1100; ++n) {
      wm::GetCommitVersionRequestT r;
      r.epoch = 1;
      r.proxy_id = 1;
      r.request_number = n;
      held.push_back(m.get_commit_version.get_reply(r));
    }
    flow::wait(flow::delay(1s));
    wm::GetCommitVersionRequestT r;
    r.epoch = 1;
    r.proxy_id = 1;
    r.request_number = 1;
    CHECK(outcome(flow::timeout(m.get_commit_version.get_reply(r), 10s)) == flow::ErrorCode::success);
    return 0;
  });
}

TEST_CASE("adversarial: a retried commit of a version the chain never had is not acknowledged") {
  LogCluster c(20);
  c.client([&c] {
    CHECK(flow::wait(c.log.commit.get_reply(commit(100, 200, {{{1}, "a", "1"}}))).version == 200);
    CHECK(flow::wait(c.log.commit.get_reply(commit(200, 300, {{{1}, "b", "2"}}))).version == 300);
    CHECK(outcome(c.log.commit.get_reply(commit(120, 150, {{{1}, "x", "x"}}))) ==
          flow::ErrorCode::broken_promise);
    CHECK(flow::wait(c.log.commit.get_reply(commit(100, 200, {{{1}, "a", "1"}}))).version == 200);
    return 0;
  });
}

TEST_CASE("adversarial: resolver: a batch forking the chain is dropped; a flood does not wedge it") {
  namespace wr = strata::wire::resolver;
  roles_testing::RoleCluster c(21, 2);
  const auto r = c.make_interface<roles::ResolverInterface>(1);
  c.start(1, "resolver", [r] { roles::run_resolver(r, {.epoch = 1, .start_version = 100}); });
  const auto batch = [](roles::Version prev, roles::Version v) {
    wr::ResolveBatchRequestT b;
    b.epoch = 1;
    b.prev_version = prev;
    b.version = v;
    return b;
  };
  c.client([&] {
    CHECK(outcome(r.resolve.get_reply(batch(100, 200))) == flow::ErrorCode::success);
    CHECK(outcome(r.resolve.get_reply(batch(150, 250))) == flow::ErrorCode::broken_promise);
    std::vector<flow::Future<wr::ResolveBatchReplyT>> junk;
    for (int i = 0; i < 1000; ++i) junk.push_back(r.resolve.get_reply(batch(1'000'000 + 10 * i, 1'000'005 + 10 * i)));
    flow::wait(flow::delay(1s));
    // Held nearer than any of the flood, then the one whose turn has come.
    auto held = r.resolve.get_reply(batch(300, 400));
    CHECK(outcome(flow::timeout(r.resolve.get_reply(batch(200, 300)), 10s)) == flow::ErrorCode::success);
    CHECK(outcome(flow::timeout(held, 10s)) == flow::ErrorCode::success);
    return 0;
  });
}
