// The worker: it starts the roles it is asked for and answers with their interfaces, answers a
// repeated request again and refuses a different one, refuses malformed requests without
// asserting, reports each role's end (a long poll), brings its logs and storage servers back
// from their records after a reboot (and only those), and reports a record it cannot read. Its
// record format catches every flipped bit. And a database started through workers serves a
// transaction, before and after the storage server's process reboots.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <string>
#include <vector>

#include "client/database.h"
#include "flow/flow.h"
#include "roles/worker/interface_wire.h"
#include "roles/worker/role_endpoints.h"
#include "roles/worker/role_record.h"
#include "roles/worker/start_generation.h"
#include "roles/worker/worker_interface.h"
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

// The report of a worker whose process was just rebooted: asked again while the connection
// that the kill broke fails (a request can be lost with it).
ww::GetRolesReplyT roles_once_up(const WorkerInterface& w) {
  for (int attempt = 0;; ++attempt) {
    try {
      return roles_of(w);
    } catch (const flow::Error& e) {
      if (e.code() == flow::ErrorCode::operation_cancelled || attempt == 20) throw;
    }
    flow::wait(flow::delay(100ms));
  }
}

// One generation: master, resolver and proxies on process 1, the log on 2, the storage
// server on 3.
roles::GenerationPlan plan_for(Cluster& c) {
  const roles::KeyRange all{"", std::string(roles::kKeyspaceEnd)};
  roles::GenerationPlan plan;
  plan.master = c.at(1);
  plan.grv_proxies = {c.at(1)};
  plan.commit_proxies = {c.at(1), c.at(1)};
  plan.logs = {c.at(2)};
  plan.resolvers = {{{"", "m"}, c.at(1)}, {{"m", all.end}, c.at(1)}};
  plan.storage_teams = {{all, {c.at(3)}}};
  plan.queue_file_bytes = 1 << 20;
  plan.engine_options.log_file_bytes = 1 << 20;
  return plan;
}

}  // namespace

TEST_CASE("worker: a database started through workers commits and reads, and again after its storage process reboots") {
  Cluster c(1, 4);
  c.client([&c] {
    roles::Generation g = roles::start_generation(plan_for(c));
    // A first transaction through the first proxy: its first batch writes the shard map.
    client::Database({g.grv_proxies, {g.commit_proxies.front()}}).run([](client::Transaction& t) {
      const std::string key = "bring-up";
      t.add_write_conflict_range(key, key + '\0');
    });
    client::Database db({g.grv_proxies, g.commit_proxies});
    db.run([](client::Transaction& t) { t.set("hello", "world"); });
    CHECK(db.run([](client::Transaction& t) { return t.get("hello"); }) == std::optional<std::string>("world"));
    // The shard map the first proxy wrote with its first batch.
    CHECK(db.run([](client::Transaction& t) {
      t.set_access_system_keys(true);
      return t.get(std::string(roles::kKeyServersPrefix));
    }).has_value());
    CHECK(running(roles_of(c.worker(1))) ==
          std::vector<std::string>{"commit_proxy0.e1", "commit_proxy1.e1", "grv_proxy0.e1", "master.e1", "resolver0.e1", "resolver1.e1"});
    CHECK(running(roles_of(c.worker(3))) == std::vector<std::string>{"storage1"});
    flow::wait(flow::delay(6s));  // the value is durable in the engine and popped from the log
    c.sim.kill_process(c.sim.process(3));
    flow::wait(flow::delay(1s));
    c.sim.reboot_process(c.sim.process(3));
    // The rebooted worker brought its storage server back from its record.
    CHECK(running(roles_once_up(c.worker(3))) == std::vector<std::string>{"storage1"});
    CHECK(db.run([](client::Transaction& t) { return t.get("hello"); }) == std::optional<std::string>("world"));
    db.run([](client::Transaction& t) { t.set("after", "reboot"); });
    CHECK(db.run([](client::Transaction& t) { return t.get("after"); }) == std::optional<std::string>("reboot"));
    return 0;
  });
}

TEST_CASE("worker: a shard's team of two serves every read and commit while either replica is down") {
  Cluster c(2, 5);
  c.client([&c] {
    roles::GenerationPlan plan = plan_for(c);
    plan.storage_teams = {{{"", "m"}, {c.at(3), c.at(4)}}, {{"m", std::string(roles::kKeyspaceEnd)}, {c.at(4), c.at(3)}}};
    roles::Generation g = roles::start_generation(plan);
    REQUIRE(g.shards.shards().size() == 2);
    CHECK(g.shards.shards()[0].servers.size() == 2);
    CHECK(g.shards.shards()[1].servers[0].tag == 3);  // tags run on across the teams
    client::Database db({g.grv_proxies, g.commit_proxies});
    db.run([](client::Transaction& t) {
      t.set("a", "1");
      t.set("z", "1");
    });
    // Each replica down in turn: every key is still read and written, through the other.
    for (int down : {3, 4}) {
      CAPTURE(down);
      c.sim.kill_process(c.sim.process(down));
      const std::string value = std::to_string(down);
      db.run([&](client::Transaction& t) {
        t.set("a", value);
        t.set("z", value);
      });
      for (int i = 0; i < 10; ++i) {  // reads pick a replica at random: try several
        CHECK(db.run([](client::Transaction& t) { return t.get("a"); }) == std::optional<std::string>(value));
        CHECK(db.run([](client::Transaction& t) { return t.get("z"); }) == std::optional<std::string>(value));
      }
      c.sim.reboot_process(c.sim.process(down));
      flow::wait(flow::delay(2s));  // it catches up from the log
    }
    // Both replicas of each shard hold the same rows at one version.
    const roles::Version v = db.run([](client::Transaction& t) { return t.get_read_version(); });
    for (const roles::Shard& s : g.shards.shards()) {
      std::vector<std::optional<std::string>> seen;
      for (const roles::StorageServerRef& ref : s.servers) {
        strata::wire::storage::GetValueRequestT get;
        const std::string key = s.range.begin.empty() ? "a" : "z";
        get.key.assign(key.begin(), key.end());
        get.version = v;
        const auto reply = flow::wait(roles::StorageServerInterface::remote(ref.address, ref.tag).get_value.get_reply(get));
        seen.push_back(reply.present ? std::optional<std::string>(std::string(reply.value.begin(), reply.value.end()))
                                     : std::nullopt);
      }
      CHECK(seen[0] == std::optional<std::string>("4"));
      CHECK(seen[1] == seen[0]);
    }
    return 0;
  });
}

TEST_CASE("worker: a repeated request is answered with the same interface; another for the same role is refused") {
  Cluster c(2);
  c.client([&c] {
    const WorkerInterface w = c.worker(1);
    const auto first = flow::wait(w.initialize_tlog.get_reply(tlog_request(3)));
    const auto again = flow::wait(w.initialize_tlog.get_reply(tlog_request(3)));
    REQUIRE(first.interface);
    REQUIRE(again.interface);
    const std::optional<roles::TLogInterface> a = roles::from_wire(*first.interface);
    const std::optional<roles::TLogInterface> b = roles::from_wire(*again.interface);
    REQUIRE(a);
    REQUIRE(b);
    CHECK(a->commit.endpoint() == b->commit.endpoint());
    CHECK(a->commit.endpoint() == roles::tlog_endpoints(&c.at(1), 1, 3).commit.endpoint());
    ww::InitializeTLogRequestT other = tlog_request(3);
    other.start_version = 500;
    CHECK(outcome(w.initialize_tlog.get_reply(other)) == flow::ErrorCode::role_already_running);
    CHECK(running(roles_of(w)) == std::vector<std::string>{"tlog3.e1"});
    // One master an epoch: another request for epoch 1 is refused; epoch 2's is another role
    // (a recovery's), with endpoints of its own.
    ww::InitializeMasterRequestT m;
    m.epoch = 1;
    CHECK(outcome(w.initialize_master.get_reply(m)) == flow::ErrorCode::success);
    m.start_version = 500;
    CHECK(outcome(w.initialize_master.get_reply(m)) == flow::ErrorCode::role_already_running);
    m.epoch = 2;
    const auto second = flow::wait(w.initialize_master.get_reply(m));
    REQUIRE(second.interface);
    CHECK(roles::from_wire(*second.interface)->get_commit_version.endpoint() ==
          roles::master_endpoints(&c.at(1), 2).get_commit_version.endpoint());
    CHECK(running(roles_of(w)) == std::vector<std::string>{"master.e1", "master.e2", "tlog3.e1"});
    return 0;
  });
}

TEST_CASE("worker: malformed requests are refused with invalid_role_request, and the worker goes on") {
  Cluster c(3);
  c.client([&c] {
    const WorkerInterface w = c.worker(1);
    const auto log = roles::from_wire(*flow::wait(w.initialize_tlog.get_reply(tlog_request(0))).interface);
    REQUIRE(log);
    const auto refused = flow::ErrorCode::invalid_role_request;

    CHECK(outcome(w.initialize_tlog.get_reply(tlog_request(roles::kRoleIndexMax))) == refused);
    auto tiny_queue = tlog_request(1);
    tiny_queue.queue_file_bytes = 4096;
    CHECK(outcome(w.initialize_tlog.get_reply(tiny_queue)) == refused);
    auto negative = tlog_request(1);
    negative.start_version = -1;
    CHECK(outcome(w.initialize_tlog.get_reply(negative)) == refused);

    auto tag0 = storage_request(0, *log);
    CHECK(outcome(w.initialize_storage_server.get_reply(tag0)) == refused);
    auto engine = storage_request(1, *log);
    engine.engine = "rocks";
    CHECK(outcome(w.initialize_storage_server.get_reply(engine)) == refused);
    auto no_logs = storage_request(1, *log);
    no_logs.logs.clear();
    CHECK(outcome(w.initialize_storage_server.get_reply(no_logs)) == refused);
    auto half_log = storage_request(1, *log);
    half_log.logs[0]->peek.reset();
    CHECK(outcome(w.initialize_storage_server.get_reply(half_log)) == refused);
    auto inverted = storage_request(1, *log);
    inverted.shards[0] = std::make_unique<strata::wire::KeyRangeT>(roles::to_wire(roles::KeyRange{"z", "a"}));
    CHECK(outcome(w.initialize_storage_server.get_reply(inverted)) == refused);
    auto past_end = storage_request(1, *log);
    past_end.shards[0] = std::make_unique<strata::wire::KeyRangeT>(roles::to_wire(roles::KeyRange{"a", "\xff\xff\x01"}));
    CHECK(outcome(w.initialize_storage_server.get_reply(past_end)) == refused);

    ww::InitializeGrvProxyRequestT grv;
    grv.epoch = 1;
    CHECK(outcome(w.initialize_grv_proxy.get_reply(grv)) == refused);  // no master

    ww::InitializeCommitProxyRequestT proxy;
    proxy.epoch = 1;
    proxy.proxy_id = 1;
    proxy.master = std::make_unique<ww::MasterInterfaceT>(roles::to_wire(roles::master_endpoints(&c.at(2), 1)));
    proxy.logs.push_back(std::make_unique<roles::wire_tlog::TLogInterfaceT>(roles::to_wire(*log)));
    const auto with_resolvers = [&](std::vector<roles::KeyRange> ranges) {
      proxy.resolvers.clear();
      for (const roles::KeyRange& k : ranges) {
        auto a = std::make_unique<ww::ResolverAssignmentT>();
        a->keys = std::make_unique<strata::wire::KeyRangeT>(roles::to_wire(k));
        a->resolver = std::make_unique<ww::ResolverInterfaceT>(roles::to_wire(roles::resolver_endpoints(&c.at(2), 1, 0)));
        proxy.resolvers.push_back(std::move(a));
      }
    };
    const std::string end(roles::kKeyspaceEnd);
    flow::ErrorOr<roles::ShardMap> map = roles::ShardMap::make({{{"", end}, {{c.at(2), 1}}}});
    REQUIRE(map.ok());
    proxy.shards = roles::to_wire(map.get());
    with_resolvers({{"", "m"}});  // not covering
    CHECK(outcome(w.initialize_commit_proxy.get_reply(proxy)) == refused);
    with_resolvers({{"", "m"}, {"n", end}});  // a gap
    CHECK(outcome(w.initialize_commit_proxy.get_reply(proxy)) == refused);
    with_resolvers({{"", end}});
    proxy.shards.pop_back();  // no shard map
    CHECK(outcome(w.initialize_commit_proxy.get_reply(proxy)) == refused);
    proxy.shards = roles::to_wire(map.get());
    proxy.proxy_id = 0;
    CHECK(outcome(w.initialize_commit_proxy.get_reply(proxy)) == refused);
    proxy.proxy_id = 1;
    auto bad = std::make_unique<strata::wire::MutationT>();
    bad->type = 250;  // no such mutation
    proxy.first_batch_mutations.push_back(std::move(bad));
    CHECK(outcome(w.initialize_commit_proxy.get_reply(proxy)) == refused);

    // After all that, it hosts just the log, and still starts what it is asked for well.
    CHECK(running(roles_of(w)) == std::vector<std::string>{"tlog0.e1"});
    CHECK(outcome(w.initialize_storage_server.get_reply(storage_request(1, *log))) == flow::ErrorCode::success);
    CHECK(running(roles_of(w)) == std::vector<std::string>{"storage1", "tlog0.e1"});
    return 0;
  });
}

TEST_CASE("worker: a role's end is reported to a waiting GetRoles, with its error") {
  Cluster c(4);
  c.client([&c] {
    const WorkerInterface w = c.worker(1);
    ww::InitializeMasterRequestT m;
    m.epoch = 1;
    const auto master = roles::from_wire(*flow::wait(w.initialize_master.get_reply(m)).interface);
    REQUIRE(master);
    // A GRV proxy of another epoch than its master's: its first batch is told stale_epoch, and it ends.
    ww::InitializeGrvProxyRequestT g;
    g.epoch = 2;
    g.master = std::make_unique<ww::MasterInterfaceT>(roles::to_wire(*master));
    g.logs.push_back(std::make_unique<roles::wire_tlog::TLogInterfaceT>(roles::to_wire(roles::tlog_endpoints(&c.at(2), 1, 0))));
    const auto grv = roles::from_wire(*flow::wait(w.initialize_grv_proxy.get_reply(g)).interface);
    REQUIRE(grv);
    const ww::GetRolesReplyT before = roles_of(w);
    auto waiting = w.get_roles.get_reply([&] {
      ww::GetRolesRequestT r;
      r.after_change = before.change;
      r.incarnation = before.incarnation;
      return r;
    }());
    flow::wait(flow::delay(100ms));
    CHECK(!waiting.is_ready());  // nothing changed yet: the poll waits
    strata::wire::grv_proxy::GetReadVersionRequestT read;
    CHECK(outcome(grv->get_read_version.get_reply(read)) == flow::ErrorCode::stale_epoch);
    const ww::GetRolesReplyT after = flow::wait(waiting);
    CHECK(after.change > before.change);
    REQUIRE(after.roles.size() == 2);
    CHECK(after.roles[0]->name == "grv_proxy0.e2");
    CHECK(!after.roles[0]->running);
    CHECK(after.roles[0]->ended_with == static_cast<int32_t>(flow::ErrorCode::stale_epoch));
    CHECK(after.roles[1]->name == "master.e1");
    CHECK(after.roles[1]->running);
    // An ended role may be asked for again: it starts anew.
    g.epoch = 1;
    CHECK(outcome(w.initialize_grv_proxy.get_reply(g)) == flow::ErrorCode::success);
    CHECK(running(roles_of(w)) == std::vector<std::string>{"grv_proxy0.e1", "master.e1"});
    return 0;
  });
}

TEST_CASE("worker: after a reboot it brings back its logs and storage servers, not its memory-only roles") {
  Cluster c(5);
  c.client([&c] {
    const WorkerInterface w = c.worker(1);
    const auto log = roles::from_wire(*flow::wait(w.initialize_tlog.get_reply(tlog_request(0))).interface);
    REQUIRE(log);
    CHECK(outcome(w.initialize_storage_server.get_reply(storage_request(2, *log))) == flow::ErrorCode::success);
    ww::InitializeResolverRequestT r;
    r.epoch = 1;
    CHECK(outcome(w.initialize_resolver.get_reply(r)) == flow::ErrorCode::success);
    CHECK(running(roles_of(w)) == std::vector<std::string>{"resolver0.e1", "storage2", "tlog0.e1"});
    c.sim.kill_process(c.sim.process(1));
    c.sim.reboot_process(c.sim.process(1));
    CHECK(running(roles_once_up(w)) == std::vector<std::string>{"storage2", "tlog0.e1"});
    // The same requests again are answered as repeats (the records hold them).
    CHECK(outcome(w.initialize_tlog.get_reply(tlog_request(0))) == flow::ErrorCode::success);
    CHECK(outcome(w.initialize_storage_server.get_reply(storage_request(2, *log))) == flow::ErrorCode::success);
    CHECK(running(roles_of(w)) == std::vector<std::string>{"storage2", "tlog0.e1"});
    return 0;
  });
}

TEST_CASE("worker: a record it cannot read is reported (checksum_failed) and kept; a half-written one is removed") {
  Cluster c(6);
  c.client([&c] {
    const WorkerInterface w = c.worker(1);
    CHECK(outcome(w.initialize_tlog.get_reply(tlog_request(0))) == flow::ErrorCode::success);
    c.sim.kill_process(c.sim.process(1));
    // While it is down: its tlog0 record gets a flipped bit, and a record half written is left.
    auto damage = flow::spawn_in(*c.sim.process(1).process, [] {
      flow::IFileSystem& fs = flow::current_process().file_system();
      auto f = flow::wait(fs.open("tlog0.e1.role", flow::OpenMode::kReadWrite));
      std::vector<uint8_t> byte(1);
      flow::wait(f->read(byte, 30));
      byte[0] ^= 0x10;
      flow::wait(f->write(byte, 30));
      flow::wait(f->sync());
      auto t = flow::wait(fs.open("tlog1.e1.role.tmp", flow::OpenMode::kReadWriteCreate));
      flow::wait(t->write(std::vector<uint8_t>{1, 2, 3}, 0));
      flow::wait(t->sync());
      return 0;
    });
    REQUIRE(flow::wait(damage) == 0);
    c.sim.reboot_process(c.sim.process(1));
    const ww::GetRolesReplyT report = roles_once_up(w);
    REQUIRE(report.roles.size() == 1);
    CHECK(report.roles[0]->name == "tlog0.e1");
    CHECK(!report.roles[0]->running);
    CHECK(report.roles[0]->ended_with == static_cast<int32_t>(flow::ErrorCode::checksum_failed));
    auto kept = flow::spawn_in(*c.sim.process(1).process, [] {
      flow::IFileSystem& fs = flow::current_process().file_system();
      return flow::wait(fs.exists("tlog0.e1.role")) && !flow::wait(fs.exists("tlog1.e1.role.tmp"));
    });
    CHECK(flow::wait(kept));
    return 0;
  });
}

TEST_CASE("worker: role records round-trip, and every flipped bit or cut is checksum_failed") {
  const roles::RoleRecord record{roles::RoleRecordKind::kStorageServer, {1, 2, 3, 4, 5, 6, 7, 8, 9}};
  const std::vector<uint8_t> bytes = roles::encode_role_record(record);
  flow::ErrorOr<roles::RoleRecord> back = roles::decode_role_record(bytes);
  REQUIRE(back.ok());
  CHECK(back.get().kind == record.kind);
  CHECK(back.get().request == record.request);
  for (size_t bit = 0; bit < bytes.size() * 8; ++bit) {
    std::vector<uint8_t> flipped = bytes;
    flipped[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    CHECK_MESSAGE(!roles::decode_role_record(flipped).ok(), "bit " << bit);
  }
  for (size_t n = 0; n < bytes.size(); ++n)
    CHECK(!roles::decode_role_record(std::span(bytes).first(n)).ok());
  std::vector<uint8_t> longer = bytes;
  longer.push_back(0);
  CHECK(!roles::decode_role_record(longer).ok());
}

TEST_CASE("worker: retiring ends the roles of old epochs not kept, with a log's files and record, and nothing newer") {
  Cluster c(21);
  c.client([&c] {
    const WorkerInterface w = c.worker(1);
    auto old_log = tlog_request(0);  // epoch 1: an ended generation no one needs
    auto kept_log = tlog_request(0);
    kept_log.epoch = 2;              // epoch 2: still in the log system
    auto new_log = tlog_request(1);
    new_log.epoch = 4;               // newer than the recovery that asks (a later attempt's)
    for (auto* r : {&old_log, &kept_log, &new_log})
      CHECK(outcome(w.initialize_tlog.get_reply(*r)) == flow::ErrorCode::success);
    ww::InitializeMasterRequestT m;
    m.epoch = 1;
    CHECK(outcome(w.initialize_master.get_reply(m)) == flow::ErrorCode::success);
    m.epoch = 3;
    CHECK(outcome(w.initialize_master.get_reply(m)) == flow::ErrorCode::success);
    auto server = storage_request(5, *roles::from_wire(*flow::wait(w.initialize_tlog.get_reply(kept_log)).interface));
    server.epoch = 2;  // it pulls from the log of epoch 2
    CHECK(outcome(w.initialize_storage_server.get_reply(server)) == flow::ErrorCode::success);
    flow::wait(flow::delay(500ms));  // the logs have made their files
    const auto exists = [&c](const std::string& file) {
      return flow::wait(flow::spawn_in(*c.sim.process(1).process, [file] {
        return flow::wait(flow::current_process().file_system().exists(file));
      }));
    };
    CHECK(exists("tlog0.e1.role"));
    CHECK(exists("tlog0.e1.0"));

    ww::RetireRolesRequestT retire;
    retire.current = 3;
    retire.keep = {2, 3};
    const auto retired = flow::wait(w.retire_roles.get_reply(retire));
    CHECK(retired.retired == std::vector<std::string>{"master.e1", "tlog0.e1"});
    const auto now_running = running(roles_of(w));
    INFO(fmt::format("{}", fmt::join(now_running, " ")));
    CHECK(now_running == std::vector<std::string>{"master.e3", "storage5", "tlog0.e2", "tlog1.e4"});
    CHECK(!exists("tlog0.e1.role"));
    CHECK(!exists("tlog0.e1.0"));
    CHECK(!exists("tlog0.e1.1"));
    CHECK(exists("tlog0.e2.role"));
    // Asked again: nothing more to retire. After a reboot the retired log stays gone.
    CHECK(flow::wait(w.retire_roles.get_reply(retire)).retired.empty());
    c.sim.kill_process(c.sim.process(1));
    c.sim.reboot_process(c.sim.process(1));
    CHECK(running(roles_once_up(w)) == std::vector<std::string>{"storage5", "tlog0.e2", "tlog1.e4"});
    return 0;
  });
}
