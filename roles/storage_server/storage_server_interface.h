#pragma once
// The storage server as clients and other roles see it (docs/database.md, "storage server"): the
// only header of the storage server that another role or the client includes.

#include <cstdint>
#include <string>
#include <vector>

#include "net/rpc.h"
#include "roles/common/mutation.h"
#include "roles/common/types.h"
#include "roles/storage_server/storage_server_generated.h"
#include "roles/tlog/log_system.h"
#include "roles/tlog/tlog_interface.h"
#include "storage/key_value_store.h"

namespace roles {

namespace wire_storage = strata::wire::storage;

using GetValueStream =
    net::RequestStream<wire_storage::GetValueRequestT, wire_storage::GetValueReplyT>;
using GetKeyStream = net::RequestStream<wire_storage::GetKeyRequestT, wire_storage::GetKeyReplyT>;
using GetKeyValuesStream =
    net::RequestStream<wire_storage::GetKeyValuesRequestT, wire_storage::GetKeyValuesReplyT>;
using SetLogSystemStream =
    net::RequestStream<wire_storage::SetLogSystemRequestT, wire_storage::SetLogSystemReplyT>;

using GetMetricsStream =
    net::RequestStream<wire_storage::GetMetricsRequestT, wire_storage::GetMetricsReplyT>;

struct StorageServerInterface {
  GetValueStream get_value;
  GetKeyStream get_key;
  GetKeyValuesStream get_key_values;
  SetLogSystemStream set_log_system;  // a recovery's new logs (docs/database.md, "Recovery")
  GetMetricsStream get_metrics;       // what it holds (status)

  // The server of `tag` at `address`, as others reach it. Its endpoints are well known (by tag),
  // so they stay the same when its process reboots.
  static StorageServerInterface remote(flow::NetworkAddress address, Tag tag);
};

// What a storage server starts with.
struct StorageServerInit {
  uint64_t epoch = 1;
  Tag tag = 0;
  // The key ranges it owns (step 1: fixed at bring-up).
  std::vector<KeyRange> shards;
  // The logs it pulls its tag from (each holds every version) and pops, until a recovery gives
  // it a newer log system (which it keeps in its engine, and prefers to these after a restart).
  std::vector<TLogInterface> logs;
  // Its engine ("memory" or "ssd") and its files' name in the process's file system.
  std::string engine = "memory";
  std::string name = "storage";
  // The engine's options (the memory engine's log file size, the ssd engine's cache).
  storage::KeyValueStoreOptions engine_options;
  // The version its engine starts at when it is empty.
  Version start_version = 0;
};

// Opens (or creates) its engine, then pulls its tag from the logs and serves reads at versions,
// until cancelled. Makes durable only versions its logs know committed on every log of their
// generation (or that a recovery kept), so that a recovery's rollback never reaches its engine. Makes its interface's endpoints itself (StorageServerInterface::remote names
// them). Ends with the engine's or the disk's error, or checksum_failed if its engine's own
// records are missing or another server's. May suspend.
void run_storage_server(StorageServerInit init);

}  // namespace roles
