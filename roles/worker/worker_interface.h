#pragma once
// The worker as other roles see it (docs/database.md, "worker"): one per process, it starts the
// roles it is asked to, answers with their interfaces, restarts a log or a storage server after
// an error of its disk, brings them back after the process reboots, and reports what it hosts.
// The only header of the worker that another role or a bring-up includes.

#include <cstdint>

#include "net/rpc.h"
#include "roles/worker/worker_generated.h"

namespace roles {

namespace wire_worker = strata::wire::worker;

using InitializeMasterStream =
    net::RequestStream<wire_worker::InitializeMasterRequestT, wire_worker::InitializeMasterReplyT>;
using InitializeGrvProxyStream =
    net::RequestStream<wire_worker::InitializeGrvProxyRequestT, wire_worker::InitializeGrvProxyReplyT>;
using InitializeCommitProxyStream =
    net::RequestStream<wire_worker::InitializeCommitProxyRequestT,
                       wire_worker::InitializeCommitProxyReplyT>;
using InitializeResolverStream =
    net::RequestStream<wire_worker::InitializeResolverRequestT, wire_worker::InitializeResolverReplyT>;
using InitializeTLogStream =
    net::RequestStream<wire_worker::InitializeTLogRequestT, wire_worker::InitializeTLogReplyT>;
using InitializeStorageServerStream =
    net::RequestStream<wire_worker::InitializeStorageServerRequestT,
                       wire_worker::InitializeStorageServerReplyT>;
using GetRolesStream = net::RequestStream<wire_worker::GetRolesRequestT, wire_worker::GetRolesReplyT>;
using RebootStream = net::RequestStream<wire_worker::RebootRequestT, wire_worker::RebootReplyT>;
using RetireRolesStream =
    net::RequestStream<wire_worker::RetireRolesRequestT, wire_worker::RetireRolesReplyT>;

struct WorkerInterface {
  InitializeMasterStream initialize_master;
  InitializeGrvProxyStream initialize_grv_proxy;
  InitializeCommitProxyStream initialize_commit_proxy;
  InitializeResolverStream initialize_resolver;
  InitializeTLogStream initialize_tlog;
  InitializeStorageServerStream initialize_storage_server;
  GetRolesStream get_roles;
  RetireRolesStream retire_roles;
  RebootStream reboot;  // ends the process (strata-cli's kill)

  // The worker at `address`. Its endpoints are well known: a process's worker is reached
  // knowing only its address.
  static WorkerInterface remote(flow::NetworkAddress address);
};

// Serves the current process's worker until cancelled: first restarts the logs and storage
// servers it was asked for before (their requests are kept in files, `<role>.role`, next to the
// roles' own), then takes requests. A role that ends is reported, not restarted, unless it
// ended with an error of its disk (io_error, io_timeout, disk_full): a log or a storage server
// recovers from its files, so it is started again after a pause. May suspend.
void run_worker();

}  // namespace roles
