#pragma once
// Where a worker puts the endpoints of the roles it hosts: well known, by epoch, kind and index
// (a storage server's follow from its tag, StorageServerInterface::remote), so that a role
// restarted in its process, or brought back after a reboot, is reached where it was, and the
// roles of two generations on one process never share one.
//
// Each function with `at` null makes the streams in the current process (to serve them), else
// names them at `*at` (to send to them).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "flow/network_address.h"
#include "roles/commit_proxy/commit_proxy_interface.h"
#include "roles/grv_proxy/grv_proxy_interface.h"
#include "roles/master/master_interface.h"
#include "roles/resolver/resolver_interface.h"
#include "roles/tlog/tlog_interface.h"

namespace roles {

// Roles of one kind a worker hosts at most, per generation (indices 0 .. kRoleIndexMax - 1).
inline constexpr uint32_t kRoleIndexMax = 64;

// Epochs a worker tells apart (1 .. kEpochMax): the epoch is the high half of the tokens.
inline constexpr uint64_t kEpochMax = 0xffff'ffff;

// The name a worker reports a role by: kind, index (none for the master) and epoch, as
// "commit_proxy2.e3" or "master.e3".
std::string role_name(std::string_view kind, std::optional<uint32_t> index, uint64_t epoch);

MasterInterface master_endpoints(const flow::NetworkAddress* at, uint64_t epoch);
GrvProxyInterface grv_proxy_endpoints(const flow::NetworkAddress* at, uint64_t epoch, uint32_t index);
CommitProxyInterface commit_proxy_endpoints(const flow::NetworkAddress* at, uint64_t epoch, uint32_t index);
ResolverInterface resolver_endpoints(const flow::NetworkAddress* at, uint64_t epoch, uint32_t index);
TLogInterface tlog_endpoints(const flow::NetworkAddress* at, uint64_t epoch, uint32_t index);

}  // namespace roles
