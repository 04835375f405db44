#pragma once
// TaskPriority — the order in which ready work runs.
//
// The scheduler always runs the highest-priority ready task first, FIFO among equals. The table
// follows FoundationDB's: I/O completion and replies outrank new work, background work (data
// movement, storage flushes) runs when nothing more urgent is ready. Values are dense so that the
// ready queue can keep one FIFO per priority.

#include <cstdint>
#include <string_view>

namespace flow {

enum class TaskPriority : uint8_t {
  Zero = 0,
  Min,
  Low,
  FetchKeys,
  UpdateStorage,
  DiskWrite,
  DataDistribution,
  Ratekeeper,
  DefaultEndpoint,
  DiskRead,
  DefaultYield,
  DefaultDelay,
  DefaultOnMainThread,
  DefaultPromiseEndpoint,
  GetConsistentReadVersion,
  ProxyCommit,
  TLogCommit,
  TLogPeek,
  ClusterController,
  Worker,
  FailureMonitor,
  Coordination,
  ReadSocket,
  DiskIOComplete,
  WriteSocket,
  RunLoop,
  Max,
};

inline constexpr int kTaskPriorityCount = static_cast<int>(TaskPriority::Max) + 1;

std::string_view task_priority_name(TaskPriority p);

}  // namespace flow
