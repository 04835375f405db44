#pragma once
// The commit proxy as clients and other roles see it (docs/database.md, "commit proxy"): the only
// header of the commit proxy that another role or the client includes.

#include <cstdint>
#include <string>
#include <vector>

#include "net/rpc.h"
#include "roles/common/shard_map.h"
#include "roles/common/types.h"
#include "roles/commit_proxy/commit_proxy_generated.h"
#include "roles/master/master_interface.h"
#include "roles/resolver/resolver_interface.h"
#include "roles/tlog/tlog_interface.h"

namespace roles {

namespace wire_proxy = strata::wire::commit_proxy;

using CommitTransactionStream =
    net::RequestStream<wire_proxy::CommitTransactionRequestT, wire_proxy::CommitTransactionReplyT>;
using GetKeyServerLocationsStream =
    net::RequestStream<wire_proxy::GetKeyServerLocationsRequestT,
                       wire_proxy::GetKeyServerLocationsReplyT>;

struct CommitProxyInterface {
  CommitTransactionStream commit;                        // a transaction to commit
  GetKeyServerLocationsStream get_key_server_locations;  // which servers hold which keys
};

// A resolver and the keys it decides for.
struct ResolverAssignment {
  KeyRange keys;
  ResolverInterface resolver;
};

// What a commit proxy starts with.
struct CommitProxyInit {
  uint64_t epoch = 1;
  uint32_t proxy_id = 0;  // unique among the generation's commit proxies
  MasterInterface master;
  // Sorted, contiguous, covering ["", kKeyspaceEnd).
  std::vector<ResolverAssignment> resolvers;
  std::vector<TLogInterface> logs;
  ShardMap shards;
  // Mutations written with the first batch this proxy commits, whatever its transactions' fates:
  // the bring-up's shard map (shard_map_mutations), given to one proxy of the generation.
  std::vector<Mutation> first_batch_mutations;
  // The database's lock (docs/database.md, "Database lock"): when not empty, only lock-aware
  // transactions commit; the others get database_locked.
  std::string lock_uid;
};

// A shard as GetKeyServerLocations answers it.
wire_proxy::ShardLocationT to_wire(const Shard& s);

// Serves `interface` (made in the current process) until cancelled, or until a role it depends
// on says its epoch is over (then it ends with stale_epoch). May suspend.
void run_commit_proxy(CommitProxyInterface interface, CommitProxyInit init);

}  // namespace roles
