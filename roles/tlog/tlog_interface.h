#pragma once
// The transaction log as other roles see it (docs/database.md, "transaction log"): the only
// header of the log that another role includes.

#include <cstdint>
#include <string>

#include "net/rpc.h"
#include "roles/common/mutation.h"
#include "roles/common/types.h"
#include "roles/tlog/tlog_generated.h"

namespace roles {

namespace wire_tlog = strata::wire::tlog;

using TLogCommitStream =
    net::RequestStream<wire_tlog::TLogCommitRequestT, wire_tlog::TLogCommitReplyT>;
using TLogPeekStream = net::RequestStream<wire_tlog::TLogPeekRequestT, wire_tlog::TLogPeekReplyT>;
using TLogPopStream = net::RequestStream<wire_tlog::TLogPopRequestT, wire_tlog::TLogPopReplyT>;
using TLogLockStream = net::RequestStream<wire_tlog::TLogLockRequestT, wire_tlog::TLogLockReplyT>;
using TLogConfirmStream =
    net::RequestStream<wire_tlog::TLogConfirmRequestT, wire_tlog::TLogConfirmReplyT>;

struct TLogInterface {
  TLogCommitStream commit;  // a version's tagged mutations; answered once durable
  TLogPeekStream peek;      // a tag's mutations from a version on (a long poll)
  TLogPopStream pop;        // a tag's data below a version may go
  TLogLockStream lock;      // a recovery ends the log's generation (docs/database.md, "Recovery")
  TLogConfirmStream confirm;  // whether the generation still commits (for read versions)
};

// What a log starts with.
struct TLogInit {
  uint64_t epoch = 1;
  // The version before the first commit, for a log with no files yet. A log that finds its files
  // goes on from the newest version in them instead.
  Version start_version = 0;
  // Its DiskQueue's files are `<name>.0` and `<name>.1` in the process's file system, each
  // preallocated to `queue_file_bytes` (storage/disk_queue.h).
  std::string name = "tlog";
  int64_t queue_file_bytes = int64_t{64} << 20;
};

// Recovers the log from its files (or creates them), then serves `interface` (made in the
// current process) until cancelled. A locked log refuses commits with stale_epoch, and stays
// locked after a restart. Ends with the disk's error if a commit to its DiskQueue
// fails (a failed sync ends the process), or checksum_failed if its files are corrupt beyond
// what the DiskQueue repairs. May suspend.
void run_tlog(TLogInterface interface, TLogInit init);

}  // namespace roles
