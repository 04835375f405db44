#pragma once
// One generation of the database on a quiet simulated cluster, for the tests of the commit proxy
// and the client. Process 1: master, two resolvers split at "m", GRV and commit proxies;
// process 2: the log; process 3: a storage server per shard (the shards split at `splits`), or
// with `process_per_server` each server on a process of its own, from 3 on (one process's disk
// holds about six servers' files).

#include <memory>
#include <string>
#include <vector>

#include "client/database.h"
#include "roles/commit_proxy/commit_proxy_interface.h"
#include "roles/common/database_lock.h"
#include "roles/common/shard_map.h"
#include "roles/grv_proxy/grv_proxy_interface.h"
#include "roles/master/master_interface.h"
#include "roles/resolver/resolver_interface.h"
#include "roles/storage_server/storage_server_interface.h"
#include "roles/tlog/tlog_interface.h"
#include "tests/roles/role_cluster.h"

namespace roles_testing {

struct DatabaseStack : RoleCluster {
  // `lock_uid`: the database's lock holder (empty: unlocked), as a recovery would start it.
  explicit DatabaseStack(uint64_t seed, std::vector<std::string> splits = {"m"}, bool process_per_server = false,
                         std::string lock_uid = {})
      : RoleCluster(seed, process_per_server ? static_cast<int>(splits.size()) + 4 : 4) {
    using namespace roles;
    const MasterInterface master = make_interface<MasterInterface>(1);
    start(1, "master", [master] { run_master(master, {.epoch = 1, .start_version = 0}); });
    std::vector<ResolverAssignment> resolvers;
    for (const KeyRange& keys : {KeyRange{"", "m"}, KeyRange{"m", std::string(kKeyspaceEnd)}}) {
      const auto r = make_interface<ResolverInterface>(1);
      start(1, "resolver", [r] { run_resolver(r, {.epoch = 1, .start_version = 0}); });
      resolvers.push_back({keys, r});
    }
    const TLogInterface log = make_interface<TLogInterface>(2);
    start(2, "tlog", [log] { run_tlog(log, {.epoch = 1, .start_version = 0, .name = "log"}); });
    std::vector<Shard> shards;
    std::string begin;
    splits.push_back(std::string(kKeyspaceEnd));
    for (const std::string& end : splits) {
      const int p = process_per_server ? static_cast<int>(shards.size()) + 3 : 3;
      shards.push_back({{begin, end}, {{sim.process(p).address, static_cast<Tag>(shards.size() + 1)}}});
      begin = end;
    }
    for (const Shard& s : shards) {
      const int p = process_per_server ? static_cast<int>(s.servers[0].tag) + 2 : 3;
      start(p, "storage", [log, s] {
        run_storage_server({.epoch = 1, .tag = s.servers[0].tag, .shards = {s.range}, .logs = {log},
                            .engine = "memory", .name = "ss" + std::to_string(s.servers[0].tag),
                            .engine_options = {}, .start_version = 0});
      });
      servers.push_back(StorageServerInterface::remote(s.servers[0].address, s.servers[0].tag));
      shard_ends.push_back(s.range.end);
    }
    grv = make_interface<GrvProxyInterface>(1);
    start(1, "grv_proxy", [g = grv, master, log, lock_uid] {
      run_grv_proxy(g, {.epoch = 1, .master = master, .logs = {log}, .lock_uid = lock_uid});
    });
    proxy = make_interface<CommitProxyInterface>(1);
    auto map = ShardMap::make(shards);
    REQUIRE(map.ok());
    std::vector<Mutation> first_batch = shard_map_mutations(map.get());
    first_batch.push_back(lock_mutation(lock_uid));
    start(1, "commit_proxy", [p = proxy, master, resolvers, log, map = map.get(), first_batch, lock_uid] {
      run_commit_proxy(p, {.epoch = 1, .proxy_id = 1, .master = master, .resolvers = resolvers,
                           .logs = {log}, .shards = map, .first_batch_mutations = first_batch,
                           .lock_uid = lock_uid});
    });
  }
  roles::GrvProxyInterface grv;
  roles::CommitProxyInterface proxy;
  std::vector<roles::StorageServerInterface> servers;  // one per shard, in key order
  std::vector<std::string> shard_ends;

  // A client's handle on this database (made in the client's process). May suspend.
  std::unique_ptr<client::Database> open() {
    return std::make_unique<client::Database>(client::ClusterInterfaces{{grv}, {proxy}});
  }

  roles::Version read_version() { return flow::wait(grv.get_read_version.get_reply({})).version; }

  // The value of `key` at `v` ("-" if absent), asked of its storage server directly. May suspend.
  std::string get(const std::string& key, roles::Version v) {
    strata::wire::storage::GetValueRequestT r;
    r.key.assign(key.begin(), key.end());
    r.version = v;
    size_t i = 0;
    while (shard_ends[i] <= key) ++i;
    const auto reply = flow::wait(servers[i].get_value.get_reply(r));
    return reply.present ? std::string(reply.value.begin(), reply.value.end()) : "-";
  }
};

}  // namespace roles_testing
