#pragma once
// Starting one generation of the transaction system and its storage servers through the
// workers of the processes that host them (docs/database.md, "Bring-up"): the simulator's
// bring-up, db-bench and, later, the cluster controller's recruitment use it.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "flow/network_address.h"
#include "roles/commit_proxy/commit_proxy_interface.h"
#include "roles/common/shard_map.h"
#include "roles/grv_proxy/grv_proxy_interface.h"
#include "roles/master/master_interface.h"
#include "roles/tlog/tlog_interface.h"
#include "storage/key_value_store.h"

namespace roles {

// Where each role goes: the address of the process whose worker hosts it.
struct GenerationPlan {
  uint64_t epoch = 1;
  Version start_version = 0;
  flow::NetworkAddress master;
  std::vector<flow::NetworkAddress> grv_proxies;
  std::vector<flow::NetworkAddress> commit_proxies;
  std::vector<flow::NetworkAddress> logs;
  // Sorted, contiguous, covering ["", kKeyspaceEnd).
  struct Placed {
    KeyRange keys;
    flow::NetworkAddress at;
  };
  std::vector<Placed> resolvers;
  // The storage servers' shards, the same tiling, each with its team: the processes whose
  // servers each hold all of it (a server's tag: its place among all the teams' servers, from 1).
  // Empty for a recovery, whose storage servers run already: `shards` names them.
  struct Team {
    KeyRange keys;
    std::vector<flow::NetworkAddress> at;  // at least one
  };
  std::vector<Team> storage_teams;
  // The first storage server's tag; the others follow in team order. A creation that failed
  // after starting its storage servers leaves them on their workers, so the next attempt starts
  // past their tags (server/bring_up.h).
  Tag first_storage_tag = 1;
  std::optional<ShardMap> shards;
  std::string engine = "memory";
  int64_t queue_file_bytes = 0;  // the logs'; 0: their default
  storage::KeyValueStoreOptions engine_options;
  // A request lost with its connection is sent again until answered (the bring-up, which has
  // nothing else to do); false: the start fails with the error at once (a recovery, which starts
  // over on other processes).
  bool resend_lost_requests = true;
  // The database's lock holder (docs/database.md, "Database lock"); empty: unlocked. The first
  // commit proxy writes it to \xff/dbLocked with its first batch.
  std::string lock_uid;
};

struct Generation {
  MasterInterface master;
  std::vector<GrvProxyInterface> grv_proxies;
  std::vector<CommitProxyInterface> commit_proxies;
  std::vector<TLogInterface> logs;
  ShardMap shards;
};

// Asks the workers for every role of `plan`: the master, the logs, the resolvers, the storage
// servers (unless the plan names existing ones), then the proxies (each is told the interfaces of
// those it talks to). A request lost with its connection, or refused by the worker's disk, is
// sent again until answered; at a bring-up the first commit proxy writes the shard map with its
// first batch. Throws invalid_option_value for a plan
// whose ranges do not tile the keyspace or that has no proxy or log, and what a worker refuses
// with (invalid_role_request, role_already_running). May suspend.
Generation start_generation(const GenerationPlan& plan);

}  // namespace roles
