// Adversarial review of the worker role (roles/worker/). Each test states the promise it tries to
// break. Seeds are fixed per test (printed with MESSAGE where a loop draws several). Tests of a
// crash (an ASSERT) run the cluster in a forked child (tests/flow/child_process.h) so that the
// rest of the suite survives.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "flow/flow.h"
#include "roles/storage_server/storage_server_interface.h"
#include "roles/worker/interface_wire.h"
#include "roles/worker/role_endpoints.h"
#include "roles/worker/role_record.h"
#include "roles/worker/worker_interface.h"
#include "tests/flow/child_process.h"
#include "tests/roles/worker_cluster.h"

using namespace std::chrono_literals;
using roles::WorkerInterface;
using roles_testing::outcome;
using roles_testing::roles_of;
using roles_testing::running;
using roles_testing::storage_request;
using roles_testing::tlog_request;
using Cluster = roles_testing::WorkerCluster;
namespace ww = strata::wire::worker;

namespace {

// GetRoles(after) sent again (each try bounded by `each`) until answered or `tries` run out.
std::optional<ww::GetRolesReplyT> roles_within(const WorkerInterface& w, uint64_t after, int tries,
                                               flow::Duration each = 1s, uint64_t incarnation = 0) {
  for (int i = 0; i < tries; ++i) {
    ww::GetRolesRequestT r;
    r.after_change = after;
    r.incarnation = incarnation;
    try {
      std::optional<ww::GetRolesReplyT> got = flow::wait(flow::timeout(w.get_roles.get_reply(r), each));
      if (got) return got;
    } catch (const flow::Error& e) {
      if (e.code() == flow::ErrorCode::operation_cancelled) throw;
    }
    flow::wait(flow::delay(each));  // (after an error; outside the catch block)
  }
  return std::nullopt;
}

const ww::RoleReportT* find_role(const ww::GetRolesReplyT& reply, const std::string& name) {
  for (const auto& r : reply.roles)
    if (r->name == name) return r.get();
  return nullptr;
}

std::string describe(const ww::GetRolesReplyT& reply) {
  std::string out = "change " + std::to_string(reply.change) + ":";
  for (const auto& r : reply.roles)
    out += " " + r->name + (r->running ? "(running" : "(ended " + std::to_string(r->ended_with)) +
           " restarts " + std::to_string(r->restarts) + ")";
  return out;
}

// Whether process p's data folder holds `file` (checked from inside p). May suspend.
bool has_file(Cluster& c, int p, const std::string& file) {
  auto f = flow::spawn_in(*c.sim.process(p).process,
                          [file] { return flow::wait(flow::current_process().file_system().exists(file)); });
  return flow::wait(f);
}

void report_child(const flow::testing::ChildResult& r) {
  const size_t keep = 3000;
  MESSAGE("child: signal " << r.signal << ", exit " << r.exit_code << ", output tail:\n"
                           << (r.err.size() > keep ? r.err.substr(r.err.size() - keep) : r.err));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Promise: malformed / out-of-bounds requests are refused (invalid_role_request) and never reach
// an ASSERT.

TEST_CASE("review: worker: a commit proxy's first-batch mutation past the keyspace is refused, not asserted on") {
  const auto r = flow::testing::run_in_child([] {
    Cluster c(11, 3);
    c.client([&c] {
      const WorkerInterface w1 = c.worker(1), w2 = c.worker(2);
      ww::InitializeMasterRequestT m;
      m.epoch = 1;
      const auto master = roles::from_wire(*flow::wait(w1.initialize_master.get_reply(m)).interface);
      ww::InitializeResolverRequestT rr;
      rr.epoch = 1;
      const auto resolver = roles::from_wire(*flow::wait(w1.initialize_resolver.get_reply(rr)).interface);
      const auto log = roles::from_wire(*flow::wait(w2.initialize_tlog.get_reply(tlog_request(0))).interface);
      if (!master || !resolver || !log) std::_Exit(3);
      const std::string end(roles::kKeyspaceEnd);
      ww::InitializeCommitProxyRequestT proxy;
      proxy.epoch = 1;
      proxy.proxy_id = 1;
      proxy.master = std::make_unique<ww::MasterInterfaceT>(roles::to_wire(*master));
      proxy.logs.push_back(std::make_unique<roles::wire_tlog::TLogInterfaceT>(roles::to_wire(*log)));
      auto a = std::make_unique<ww::ResolverAssignmentT>();
      a->keys = std::make_unique<strata::wire::KeyRangeT>(roles::to_wire(roles::KeyRange{"", end}));
      a->resolver = std::make_unique<ww::ResolverInterfaceT>(roles::to_wire(*resolver));
      proxy.resolvers.push_back(std::move(a));
      flow::ErrorOr<roles::ShardMap> map = roles::ShardMap::make({{{"", end}, {{c.at(2), 1}}}});
      if (!map.ok()) std::_Exit(3);
      proxy.shards = roles::to_wire(map.get());
      // A well-typed Set whose key is past the keyspace: from_wire(Mutation) checks the type only.
      auto bad = std::make_unique<strata::wire::MutationT>();
      bad->type = static_cast<uint8_t>(roles::MutationType::kSet);
      const std::string key = end + "\x01";
      bad->param1.assign(key.begin(), key.end());
      bad->param2 = {'x'};
      proxy.first_batch_mutations.push_back(std::move(bad));
      const flow::ErrorCode o = outcome(w1.initialize_commit_proxy.get_reply(proxy));
      std::fprintf(stderr, "INITIALIZE %d\n", static_cast<int>(o));
      if (o != flow::ErrorCode::success) return 0;
      // Accepted: the proxy's first batch (made by any commit) tags the mutation.
      const auto iface = roles::commit_proxy_endpoints(&c.at(1), 1, 0);
      strata::wire::commit_proxy::CommitTransactionRequestT t;
      t.read_version = 0;
      const auto got = flow::wait(flow::timeout(iface.commit.get_reply(t), 5s));
      std::fprintf(stderr, "COMMIT answered %d\n", got ? 1 : 0);
      return 0;
    });
  });
  report_child(r);
  CHECK(r.signal == 0);
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("INITIALIZE 1702") != std::string::npos);  // invalid_role_request
}

TEST_CASE("review: worker: a master whose start_version is near INT64_MAX is refused, not asserted on") {
  const auto r = flow::testing::run_in_child([] {
    Cluster c(12, 2);
    c.client([&c] {
      const WorkerInterface w = c.worker(1);
      ww::InitializeMasterRequestT m;
      m.epoch = 1;
      m.start_version = std::numeric_limits<int64_t>::max() - 1;
      const flow::ErrorCode o = outcome(w.initialize_master.get_reply(m));
      std::fprintf(stderr, "INITIALIZE %d\n", static_cast<int>(o));
      if (o != flow::ErrorCode::success) return 0;
      // Any peer may ask the master for a version (as a commit proxy does).
      const auto master = roles::master_endpoints(&c.at(1), 1);
      strata::wire::master::GetCommitVersionRequestT v;
      v.epoch = 1;
      v.proxy_id = 1;
      v.request_number = 1;
      const auto got = flow::wait(flow::timeout(master.get_commit_version.get_reply(v), 5s));
      std::fprintf(stderr, "VERSION answered %d\n", got ? 1 : 0);
      return 0;
    });
  });
  report_child(r);
  CHECK(r.signal == 0);
  CHECK(r.exit_code == 0);
}

TEST_CASE("review: worker: hostile but well-formed requests at the bounds are served with the right endpoints") {
  Cluster c(13, 2);
  c.client([&c] {
    const WorkerInterface w = c.worker(1);
    const auto log = roles::from_wire(*flow::wait(w.initialize_tlog.get_reply(tlog_request(63))).interface);
    REQUIRE(log);
    CHECK(log->commit.endpoint() == roles::tlog_endpoints(&c.at(1), 1, 63).commit.endpoint());
    // The highest tag.
    const auto s = flow::wait(w.initialize_storage_server.get_reply(storage_request(65535, *log)));
    REQUIRE(s.interface);
    const auto ss = roles::from_wire(*s.interface);
    REQUIRE(ss);
    CHECK(ss->get_value.endpoint() == roles::StorageServerInterface::remote(c.at(1), 65535).get_value.endpoint());
    // Index 64 everywhere, and unknown engines, epochs at the top: refused, the worker goes on.
    ww::InitializeResolverRequestT rr;
    rr.index = 64;
    CHECK(outcome(w.initialize_resolver.get_reply(rr)) == flow::ErrorCode::invalid_role_request);
    rr.index = 0xffffffff;
    CHECK(outcome(w.initialize_resolver.get_reply(rr)) == flow::ErrorCode::invalid_role_request);
    ww::InitializeGrvProxyRequestT g;
    g.index = 0xffffffff;
    g.master = std::make_unique<ww::MasterInterfaceT>(roles::to_wire(roles::master_endpoints(&c.at(1), 1)));
    CHECK(outcome(w.initialize_grv_proxy.get_reply(g)) == flow::ErrorCode::invalid_role_request);
    auto huge_queue = tlog_request(1);
    huge_queue.queue_file_bytes = std::numeric_limits<int64_t>::max();
    CHECK(outcome(w.initialize_tlog.get_reply(huge_queue)) == flow::ErrorCode::invalid_role_request);
    auto neg_queue = tlog_request(1);
    neg_queue.queue_file_bytes = std::numeric_limits<int64_t>::min();
    CHECK(outcome(w.initialize_tlog.get_reply(neg_queue)) == flow::ErrorCode::invalid_role_request);
    auto neg_cache = storage_request(7, *log);
    neg_cache.cache_kib = -1;
    CHECK(outcome(w.initialize_storage_server.get_reply(neg_cache)) == flow::ErrorCode::invalid_role_request);
    // (A null table in a vector cannot be encoded: flatbuffers vectors of tables hold no nulls.)
    auto empty_shard = storage_request(7, *log);
    empty_shard.shards[0] = std::make_unique<strata::wire::KeyRangeT>(roles::to_wire(roles::KeyRange{"a", "a"}));
    CHECK(outcome(w.initialize_storage_server.get_reply(empty_shard)) == flow::ErrorCode::invalid_role_request);
    const ww::GetRolesReplyT report = roles_of(w);
    CHECK(running(report) == std::vector<std::string>{"storage65535", "tlog63.e1"});
    return 0;
  });
}

TEST_CASE("review: worker: every well-known token of every role kind, index, tag and the worker is distinct") {
  const flow::NetworkAddress a{0x0a000001, 1};
  std::set<net::Token> seen;
  size_t count = 0;
  const auto add = [&](const net::Endpoint& e) {
    seen.insert(e.token);
    ++count;
  };
  for (const uint64_t epoch : {uint64_t{1}, uint64_t{2}, roles::kEpochMax}) {
    const auto m = roles::master_endpoints(&a, epoch);
    add(m.get_commit_version.endpoint());
    add(m.report_committed.endpoint());
    add(m.get_live_committed_version.endpoint());
    for (uint32_t i = 0; i < roles::kRoleIndexMax; ++i) {
      add(roles::grv_proxy_endpoints(&a, epoch, i).get_read_version.endpoint());
      const auto p = roles::commit_proxy_endpoints(&a, epoch, i);
      add(p.commit.endpoint());
      add(p.get_key_server_locations.endpoint());
      add(roles::resolver_endpoints(&a, epoch, i).resolve.endpoint());
      const auto t = roles::tlog_endpoints(&a, epoch, i);
      add(t.commit.endpoint());
      add(t.peek.endpoint());
      add(t.pop.endpoint());
      add(t.lock.endpoint());
      add(t.confirm.endpoint());
    }
  }
  for (uint32_t tag = 0; tag <= 0xffff; ++tag) {
    const auto s = roles::StorageServerInterface::remote(a, static_cast<roles::Tag>(tag));
    add(s.get_value.endpoint());
    add(s.get_key.endpoint());
    add(s.get_key_values.endpoint());
    add(s.set_log_system.endpoint());
  }
  const WorkerInterface w = WorkerInterface::remote(a);
  add(w.initialize_master.endpoint());
  add(w.initialize_grv_proxy.endpoint());
  add(w.initialize_commit_proxy.endpoint());
  add(w.initialize_resolver.endpoint());
  add(w.initialize_tlog.endpoint());
  add(w.initialize_storage_server.endpoint());
  add(w.get_roles.endpoint());
  CHECK(seen.size() == count);
}

// ---------------------------------------------------------------------------------------------
// Promise: a repeated identical request is answered again; a different one is refused.

TEST_CASE("review: worker: identical and different requests sent at once, while the record is written") {
  Cluster c(14, 2);
  c.client([&c] {
    const WorkerInterface w = c.worker(1);
    auto a = w.initialize_tlog.get_reply(tlog_request(2));
    auto b = w.initialize_tlog.get_reply(tlog_request(2));
    auto other = tlog_request(2);
    other.start_version = 500;  // another request for the same role (another epoch is another role)
    auto d = w.initialize_tlog.get_reply(other);
    auto e = w.initialize_tlog.get_reply(tlog_request(2));
    const auto ra = flow::wait(a);
    const auto rb = flow::wait(b);
    CHECK(outcome(d) == flow::ErrorCode::role_already_running);
    CHECK(outcome(e) == flow::ErrorCode::success);
    REQUIRE(ra.interface);
    REQUIRE(rb.interface);
    CHECK(roles::from_wire(*ra.interface)->commit.endpoint() == roles::from_wire(*rb.interface)->commit.endpoint());
    const ww::GetRolesReplyT report = roles_of(w);
    REQUIRE(report.roles.size() == 1);
    CHECK(report.roles[0]->name == "tlog2.e1");
    CHECK(report.roles[0]->running);
    CHECK(report.roles[0]->restarts == 0u);
    return 0;
  });
}

// ---------------------------------------------------------------------------------------------
// Promise: GetRoles is a long poll on a change counter.

TEST_CASE("review: worker: more than 100 GetRoles waiters: 100 wait, the rest are answered at once, and all on a change") {
  Cluster c(15, 2);
  c.client([&c] {
    const WorkerInterface w = c.worker(1);
    const ww::GetRolesReplyT first = roles_of(w);
    const uint64_t now = first.change;
    std::vector<flow::Future<ww::GetRolesReplyT>> polls;
    for (int i = 0; i < 150; ++i) {
      ww::GetRolesRequestT r;
      r.after_change = now;
      r.incarnation = first.incarnation;
      polls.push_back(w.get_roles.get_reply(r));
    }
    flow::wait(flow::delay(200ms));
    int ready = 0;
    for (auto& p : polls) ready += p.is_ready() ? 1 : 0;
    CHECK(ready == 50);
    ww::InitializeMasterRequestT m;
    m.epoch = 1;
    flow::wait(w.initialize_master.get_reply(m));
    flow::wait(flow::delay(200ms));
    ready = 0;
    for (auto& p : polls) ready += p.is_ready() ? 1 : 0;
    CHECK(ready == 150);
    // The slots are free again: a new long poll waits.
    ww::GetRolesRequestT r;
    r.after_change = roles_of(w).change;
    r.incarnation = first.incarnation;
    auto next = w.get_roles.get_reply(r);
    flow::wait(flow::delay(200ms));
    CHECK(!next.is_ready());
    return 0;
  });
}

TEST_CASE("review: worker: long polls whose requesters gave up do not turn every later long poll into a busy poll") {
  Cluster c(16, 2);
  c.client([&c] {
    const WorkerInterface w = c.worker(1);
    const ww::GetRolesReplyT first = roles_of(w);
    const uint64_t now = first.change;
    // 100 pollers that time out and go away (as reboot_storage's 1 s timeout would).
    for (int i = 0; i < 100; ++i) {
      ww::GetRolesRequestT r;
      r.after_change = now;
      r.incarnation = first.incarnation;
      CHECK(!flow::wait(flow::timeout(w.get_roles.get_reply(r), 10ms)).has_value());
    }
    // Their places come back once each waited its longest (5 s): then a live long poll waits.
    flow::wait(flow::delay(5s));
    ww::GetRolesRequestT r;
    r.after_change = now;
    r.incarnation = first.incarnation;
    auto live = w.get_roles.get_reply(r);
    flow::wait(flow::delay(500ms));
    CHECK_MESSAGE(!live.is_ready(), "a long poll with nothing changed was answered at once: "
                                        "abandoned waiters hold all the slots");
    return 0;
  });
}

TEST_CASE("review: worker: a GetRoles long poll from before a reboot learns of the reboot") {
  Cluster c(17, 2);
  c.client([&c] {
    const WorkerInterface w = c.worker(1);
    CHECK(outcome(w.initialize_tlog.get_reply(tlog_request(0))) == flow::ErrorCode::success);
    ww::InitializeMasterRequestT m;
    m.epoch = 1;
    CHECK(outcome(w.initialize_master.get_reply(m)) == flow::ErrorCode::success);
    for (uint32_t i = 0; i < 5; ++i) {
      ww::InitializeResolverRequestT rr;
      rr.epoch = 1;
      rr.index = i;
      CHECK(outcome(w.initialize_resolver.get_reply(rr)) == flow::ErrorCode::success);
    }
    const ww::GetRolesReplyT before = roles_of(w);
    MESSAGE("before the reboot: " << describe(before));
    c.sim.kill_process(c.sim.process(1));
    c.sim.reboot_process(c.sim.process(1));
    // A poller (a cluster controller) waits for the next change after the last it saw: the master
    // and resolvers are gone, which it must learn.
    const std::optional<ww::GetRolesReplyT> after = roles_within(w, before.change, 20, 1s, before.incarnation);
    CHECK_MESSAGE(after.has_value(), "no answer in 20 s to a poll past change " << before.change);
    if (after) {
      MESSAGE("after: " << describe(*after));
      CHECK(running(*after) == std::vector<std::string>{"tlog0.e1"});
    }
    const auto now = roles_within(w, 0, 5);
    if (now) MESSAGE("the rebooted worker's own counter: " << describe(*now));
    return 0;
  });
}

// ---------------------------------------------------------------------------------------------
// Promise: after a reboot it brings back exactly the logs and storage servers whose records exist.

TEST_CASE("review: worker: a transient disk error while it reads its records does not end the worker for good") {
  Cluster c(18, 2);
  const std::string trace_file = "/tmp/review_worker_recover_trace.txt";
  std::remove(trace_file.c_str());
  c.rt.trace().add_sink(flow::make_file_trace_sink(trace_file, flow::SevWarn));
  c.client([&c] {
    const WorkerInterface w = c.worker(1);
    CHECK(outcome(w.initialize_tlog.get_reply(tlog_request(0))) == flow::ErrorCode::success);
    c.sim.kill_process(c.sim.process(1));
    // The disk fails every operation for the first second after the reboot, then heals.
    c.disk(1).faults().enabled = true;
    c.disk(1).faults().io_error_probability = 1.0;
    c.sim.reboot_process(c.sim.process(1));
    flow::wait(flow::delay(1s));
    c.disk(1).faults().enabled = false;
    c.disk(1).faults().io_error_probability = 0;
    const std::optional<ww::GetRolesReplyT> report = roles_within(w, 0, 20);
    CHECK_MESSAGE(report.has_value(), "the worker never answers after its disk healed");
    if (report) {
      MESSAGE(describe(*report));
      CHECK(running(*report) == std::vector<std::string>{"tlog0.e1"});
    }
    return 0;
  });
  c.rt.trace().flush();
  std::ifstream in(trace_file);
  std::string line, failed;
  while (std::getline(in, line))
    if (line.find("RoleFailed") != std::string::npos) failed = line;
  MESSAGE("the worker's end, if any: " << failed);
  CHECK(failed.empty());
}

TEST_CASE("review: worker: a power cut at any moment of a log request: answered means brought back; no torn record") {
  // The record is written in about 1-6 ms (a sync); kill the machine every 0.4 ms across that.
  int answered_then_back = 0, not_answered = 0;
  for (int k = 0; k < 24; ++k) {
    const uint64_t seed = 1000 + static_cast<uint64_t>(k);
    Cluster c(seed, 2);
    c.client([&c, k, seed, &answered_then_back, &not_answered] {
      const WorkerInterface w = c.worker(1);
      auto f = w.initialize_tlog.get_reply(tlog_request(0));
      flow::wait(flow::delay(std::chrono::microseconds(400 * k)));
      const bool answered = f.is_ready() && !f.is_error();
      c.sim.kill_machine(*c.sim.process(1).machine);
      flow::wait(flow::delay(100ms));
      c.sim.reboot_machine(*c.sim.process(1).machine, false);
      const std::optional<ww::GetRolesReplyT> report = roles_within(w, 0, 20);
      REQUIRE_MESSAGE(report.has_value(), "seed " << seed);
      const ww::RoleReportT* t = find_role(*report, "tlog0.e1");
      INFO("seed " << seed << " delay " << 400 * k << "us answered " << answered << ": " << describe(*report));
      if (answered) {
        CHECK(t != nullptr);
        ++answered_then_back;
      } else {
        ++not_answered;
      }
      if (t != nullptr) CHECK(t->ended_with != static_cast<int32_t>(flow::ErrorCode::checksum_failed));
      CHECK(!has_file(c, 1, "tlog0.e1.role.tmp"));
      return 0;
    });
  }
  MESSAGE("answered then brought back: " << answered_then_back << ", not answered before the cut: " << not_answered);
  CHECK(answered_then_back > 0);
  CHECK(not_answered > 0);
}

TEST_CASE("review: worker: a record renamed to another role's name is reported, not started as that role") {
  Cluster c(19, 2);
  c.client([&c] {
    const WorkerInterface w = c.worker(1);
    CHECK(outcome(w.initialize_tlog.get_reply(tlog_request(0))) == flow::ErrorCode::success);
    c.sim.kill_process(c.sim.process(1));
    auto moved = flow::spawn_in(*c.sim.process(1).process, [] {
      flow::wait(flow::current_process().file_system().rename("tlog0.e1.role", "tlog1.e1.role"));
      return 0;
    });
    flow::wait(moved);
    c.sim.reboot_process(c.sim.process(1));
    const auto report = roles_within(w, 0, 20);
    REQUIRE(report);
    MESSAGE(describe(*report));
    REQUIRE(report->roles.size() == 1);
    CHECK(report->roles[0]->name == "tlog1.e1");
    CHECK(!report->roles[0]->running);
    CHECK(report->roles[0]->ended_with == static_cast<int32_t>(flow::ErrorCode::checksum_failed));
    CHECK(has_file(c, 1, "tlog1.e1.role"));
    return 0;
  });
}

// ---------------------------------------------------------------------------------------------
// Promise: disk errors in the record write are answered, never crash the worker; a log that ends
// with a disk error is started again after 0.1-1 s.

TEST_CASE("review: worker: a record write that fails is answered with the error, and nothing is hosted") {
  Cluster c(20, 2);
  c.client([&c] {
    const WorkerInterface w = c.worker(1);
    c.disk(1).faults().enabled = true;
    c.disk(1).faults().io_error_probability = 1.0;
    const flow::ErrorCode o = outcome(w.initialize_tlog.get_reply(tlog_request(0)));
    CHECK(o == flow::ErrorCode::io_error);
    c.disk(1).faults().enabled = false;
    c.disk(1).faults().io_error_probability = 0;
    CHECK(roles_of(w).roles.empty());
    // A failing sync ends the process (fail-stop); it comes back without the role.
    c.disk(1).faults().enabled = true;
    c.disk(1).faults().sync_error_probability = 1.0;
    const flow::ErrorCode o2 = outcome(w.initialize_tlog.get_reply(tlog_request(0)));
    CHECK(o2 != flow::ErrorCode::success);
    c.disk(1).faults().enabled = false;
    c.disk(1).faults().sync_error_probability = 0;
    flow::wait(flow::delay(3s));
    const auto report = roles_within(w, 0, 20);
    REQUIRE(report);
    CHECK(report->roles.empty());
    CHECK(!has_file(c, 1, "tlog0.e1.role.tmp"));
    CHECK(outcome(w.initialize_tlog.get_reply(tlog_request(0))) == flow::ErrorCode::success);
    CHECK(running(roles_of(w)) == std::vector<std::string>{"tlog0.e1"});
    return 0;
  });
}

TEST_CASE("review: worker: a log that ends with disk_full is restarted after 0.1-1 s, counted once, and serves again") {
  Cluster c(21, 2);
  c.client([&c] {
    const WorkerInterface w = c.worker(1);
    c.disk(1).set_capacity(64 << 10);  // room for the record; the queue is not preallocated
    const auto log = roles::from_wire(*flow::wait(w.initialize_tlog.get_reply(tlog_request(0))).interface);
    REQUIRE(log);
    const ww::GetRolesReplyT before_report = roles_of(w);
    const uint64_t before = before_report.change;
    // A commit larger than the disk: the queue's write fails with disk_full, and the log ends.
    strata::wire::tlog::TLogCommitRequestT commit;
    commit.epoch = 1;
    commit.prev_version = 0;
    commit.version = 1;
    auto m = std::make_unique<strata::wire::TaggedMutationT>();
    m->tags = {1};
    m->mutation = std::make_unique<strata::wire::MutationT>();
    m->mutation->type = static_cast<uint8_t>(roles::MutationType::kSet);
    m->mutation->param1 = {'k'};
    m->mutation->param2.assign(200 << 10, 'v');
    commit.messages.push_back(std::move(m));
    auto committed = log->commit.get_reply(commit);
    const ww::GetRolesReplyT failed = roles_of(w, before, before_report.incarnation);
    const flow::Time failed_at = flow::now();
    MESSAGE("at the failure: " << describe(failed) << "; commit " << std::string(committed.is_ready() ? "answered" : "pending"));
    const ww::RoleReportT* t = find_role(failed, "tlog0.e1");
    REQUIRE(t != nullptr);
    CHECK(t->restarts == 1u);
    // When does the log answer again? Peek until it does.
    std::optional<flow::Time> back;
    while (flow::now() < failed_at + 3s) {
      strata::wire::tlog::TLogPeekRequestT peek;
      peek.epoch = 1;
      peek.tag = 1;
      peek.begin_version = 0;
      bool ok = false;
      try {
        ok = flow::wait(flow::timeout(log->peek.get_reply(peek), 50ms)).has_value();
      } catch (const flow::Error& e) {
        if (e.code() == flow::ErrorCode::operation_cancelled) throw;
      }
      if (ok) {
        back = flow::now();
        break;
      }
      flow::wait(flow::delay(5ms));
    }
    REQUIRE(back);
    const double gap = flow::to_seconds(*back - failed_at);
    MESSAGE("serving again " << gap << " s after the failure");
    CHECK(gap >= 0.1);
    CHECK(gap <= 1.1);
    flow::wait(flow::delay(2s));
    const ww::GetRolesReplyT later = roles_of(w);
    MESSAGE(describe(later));
    CHECK(running(later) == std::vector<std::string>{"tlog0.e1"});
    CHECK(find_role(later, "tlog0.e1")->restarts == 1u);
    return 0;
  });
}

// ---------------------------------------------------------------------------------------------
// Promise: everything is deterministic.

TEST_CASE("review: worker: the same seed gives the same run (requests, restarts, a reboot)") {
  const auto transcript = [](uint64_t seed) {
    Cluster c(seed, 2);
    std::string out;
    c.client([&c, &out] {
      const WorkerInterface w = c.worker(1);
      c.disk(1).set_capacity(64 << 10);
      flow::wait(w.initialize_tlog.get_reply(tlog_request(1)));
      ww::InitializeMasterRequestT m;
      m.epoch = 3;
      flow::wait(w.initialize_master.get_reply(m));
      flow::wait(flow::delay(2500ms));
      c.disk(1).set_capacity(int64_t{1} << 30);
      out += describe(roles_of(w)) + " @" + std::to_string(flow::to_ns(flow::now())) + "\n";
      c.sim.kill_machine(*c.sim.process(1).machine);
      c.sim.reboot_machine(*c.sim.process(1).machine, false);
      const auto r = roles_within(w, 0, 20);
      out += (r ? describe(*r) : std::string("none")) + " @" + std::to_string(flow::to_ns(flow::now())) + "\n";
      return 0;
    });
    return out + "trace digest " + std::to_string(c.rt.trace().digest()) + "\n";
  };
  const std::string a = transcript(22), b = transcript(22);
  MESSAGE(a);
  CHECK(a == b);
}
