#pragma once
// The master (sequencer) as other roles see it (docs/database.md, "master (sequencer)"): the only
// header of the master that another role includes.

#include <cstdint>

#include "net/rpc.h"
#include "roles/common/types.h"
#include "roles/master/master_generated.h"

namespace roles {

namespace wire_master = strata::wire::master;

using GetCommitVersionStream =
    net::RequestStream<wire_master::GetCommitVersionRequestT, wire_master::GetCommitVersionReplyT>;
using ReportCommittedStream =
    net::RequestStream<wire_master::ReportCommittedRequestT, wire_master::ReportCommittedReplyT>;
using GetLiveCommittedVersionStream =
    net::RequestStream<wire_master::GetLiveCommittedVersionRequestT,
                       wire_master::GetLiveCommittedVersionReplyT>;

struct MasterInterface {
  GetCommitVersionStream get_commit_version;  // a commit batch's (prev_version, version)
  ReportCommittedStream report_committed;     // a version is durable on every log
  GetLiveCommittedVersionStream get_live_committed_version;  // the newest committed version
};

// What a master starts with.
struct MasterInit {
  uint64_t epoch = 1;
  // The version before the first commit batch: the first batch's prev_version, and the committed
  // version until a proxy reports a newer one.
  Version start_version = 0;
};

// Serves `interface` (made in the current process) until cancelled. May suspend.
void run_master(MasterInterface interface, MasterInit init);

}  // namespace roles
