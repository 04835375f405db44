#pragma once
// Where a worker puts the endpoints of the roles it hosts: well known, by kind and index (a
// storage server's follow from its tag, StorageServerInterface::remote), so that a role
// restarted in its process, or brought back after a reboot, is reached where it was.
//
// Each function with `at` null makes the streams in the current process (to serve them), else
// names them at `*at` (to send to them).

#include <cstdint>

#include "flow/network_address.h"
#include "roles/commit_proxy/commit_proxy_interface.h"
#include "roles/grv_proxy/grv_proxy_interface.h"
#include "roles/master/master_interface.h"
#include "roles/resolver/resolver_interface.h"
#include "roles/tlog/tlog_interface.h"

namespace roles {

// Roles of one kind a worker hosts at most, per generation (indices 0 .. kRoleIndexMax - 1).
inline constexpr uint32_t kRoleIndexMax = 64;

MasterInterface master_endpoints(const flow::NetworkAddress* at);
GrvProxyInterface grv_proxy_endpoints(const flow::NetworkAddress* at, uint32_t index);
CommitProxyInterface commit_proxy_endpoints(const flow::NetworkAddress* at, uint32_t index);
ResolverInterface resolver_endpoints(const flow::NetworkAddress* at, uint32_t index);
TLogInterface tlog_endpoints(const flow::NetworkAddress* at, uint32_t index);

}  // namespace roles
