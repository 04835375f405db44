#pragma once
// ConsistencyCheck — what FoundationDB runs after every database test: the database agrees with
// itself. Run by the spec runner after each test that used the database, and as a workload of
// that name (its check()). At one read version it checks:
//   - the shard map the commit proxies give out covers ["", \xff\xff) exactly, every shard with
//     a server;
//   - each storage server's shard reads the same every way the server can be asked: one
//     forward range read, a reverse one, reads in small random row limits both ways, a point
//     read of every key, a key selector from the shard's start; and a key past its shard is
//     refused with wrong_shard_server;
//   - the client's read of the whole keyspace is the servers' shards put end to end;
//   - \xff/keyServers/ and \xff/serverKeys/ hold that shard map, exactly (the bring-up's first
//     transaction wrote them).
// A server that cannot be reached, or a version that goes too old while it reads, is tried
// again at a new version (a bounded number of times). A disagreement is a SevError event naming
// the server, the key and both answers.

#include "workloads/workload.h"

namespace workloads {

// The checks above, on the run's database (nothing to check if no workload started one).
// May suspend.
bool check_database_consistency(WorkloadContext& ctx);

}  // namespace workloads
