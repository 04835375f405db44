#pragma once
// The roles' interfaces and the shard map in their wire form (roles/worker/worker.fbs), as the
// worker's messages carry them (the log's is the log's own: roles/tlog/log_system.h). A from_wire is nullopt for a form that is not whole (a missing
// endpoint, a shard without a server): input from the network, refused rather than trusted.

#include <optional>

#include "roles/commit_proxy/commit_proxy_interface.h"
#include "roles/common/shard_map.h"
#include "roles/grv_proxy/grv_proxy_interface.h"
#include "roles/master/master_interface.h"
#include "roles/resolver/resolver_interface.h"
#include "roles/storage_server/storage_server_interface.h"
#include "roles/tlog/tlog_interface.h"
#include "roles/worker/worker_generated.h"

namespace roles {

namespace wire_worker = strata::wire::worker;

wire_worker::MasterInterfaceT to_wire(const MasterInterface& i);
wire_worker::GrvProxyInterfaceT to_wire(const GrvProxyInterface& i);
wire_worker::CommitProxyInterfaceT to_wire(const CommitProxyInterface& i);
wire_worker::ResolverInterfaceT to_wire(const ResolverInterface& i);
wire_worker::StorageServerInterfaceT to_wire(const StorageServerInterface& i);

std::optional<MasterInterface> from_wire(const wire_worker::MasterInterfaceT& w);
std::optional<GrvProxyInterface> from_wire(const wire_worker::GrvProxyInterfaceT& w);
std::optional<CommitProxyInterface> from_wire(const wire_worker::CommitProxyInterfaceT& w);
std::optional<ResolverInterface> from_wire(const wire_worker::ResolverInterfaceT& w);
std::optional<StorageServerInterface> from_wire(const wire_worker::StorageServerInterfaceT& w);

strata::wire::KeyRangeT to_wire(const KeyRange& r);
KeyRange from_wire(const strata::wire::KeyRangeT& w);

// The shard map as GetKeyServerLocations answers it (ShardLocation); from_wire also refuses
// what ShardMap::make refuses (a map that is not sorted, contiguous and covering).
std::vector<std::unique_ptr<strata::wire::commit_proxy::ShardLocationT>> to_wire(const ShardMap& map);
std::optional<ShardMap> from_wire(
    const std::vector<std::unique_ptr<strata::wire::commit_proxy::ShardLocationT>>& w);

// `from_wire` of a table held by a unique_ptr that may be null.
template <class T>
auto from_wire_ptr(const std::unique_ptr<T>& w) -> decltype(from_wire(*w)) {
  if (!w) return std::nullopt;
  return from_wire(*w);
}

}  // namespace roles
