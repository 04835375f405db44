#pragma once
// The GRV proxy as clients and other roles see it (docs/database.md, "GRV proxy"): the only
// header of the GRV proxy that another role or the client includes.

#include <cstdint>
#include <string>
#include <vector>

#include "net/rpc.h"
#include "roles/common/types.h"
#include "roles/grv_proxy/grv_proxy_generated.h"
#include "roles/master/master_interface.h"
#include "roles/tlog/tlog_interface.h"

namespace roles {

namespace wire_grv = strata::wire::grv_proxy;

using GetReadVersionStream =
    net::RequestStream<wire_grv::GetReadVersionRequestT, wire_grv::GetReadVersionReplyT>;

struct GrvProxyInterface {
  GetReadVersionStream get_read_version;  // a read version: the newest committed version
};

// What a GRV proxy starts with.
struct GrvProxyInit {
  uint64_t epoch = 1;
  MasterInterface master;
  // The generation's logs: a read version is answered only while none is locked.
  std::vector<TLogInterface> logs;
  // The database's lock (docs/database.md, "Database lock"): when not empty, only lock-aware
  // requests get a read version; the others get database_locked.
  std::string lock_uid;
};

// Serves `interface` (made in the current process) until cancelled, or until the master or a
// log says this proxy's epoch is over (then it ends with stale_epoch). May suspend.
void run_grv_proxy(GrvProxyInterface interface, GrvProxyInit init);

}  // namespace roles
