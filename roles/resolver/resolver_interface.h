#pragma once
// The resolver as other roles see it (docs/database.md, "resolver"): the only header of the
// resolver that another role includes.

#include <cstdint>

#include "net/rpc.h"
#include "roles/common/types.h"
#include "roles/resolver/resolver_generated.h"

namespace roles {

namespace wire_resolver = strata::wire::resolver;

using ResolveBatchStream =
    net::RequestStream<wire_resolver::ResolveBatchRequestT, wire_resolver::ResolveBatchReplyT>;

struct ResolverInterface {
  ResolveBatchStream resolve;  // ResolveBatch: one commit batch, in version order
};

// What a resolver starts with.
struct ResolverInit {
  uint64_t epoch = 1;
  // The version before the first batch: the first batch's prev_version.
  Version start_version = 0;
};

// Serves `interface` (made in the current process) until cancelled. May suspend.
void run_resolver(ResolverInterface interface, ResolverInit init);

}  // namespace roles
