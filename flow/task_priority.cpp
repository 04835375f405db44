#include "flow/task_priority.h"

namespace flow {

std::string_view task_priority_name(TaskPriority p) {
  static constexpr std::string_view kNames[kTaskPriorityCount] = {"Zero",
                                                                  "Min",
                                                                  "Low",
                                                                  "FetchKeys",
                                                                  "UpdateStorage",
                                                                  "DiskWrite",
                                                                  "DataDistribution",
                                                                  "Ratekeeper",
                                                                  "DefaultEndpoint",
                                                                  "DiskRead",
                                                                  "DefaultYield",
                                                                  "DefaultDelay",
                                                                  "DefaultOnMainThread",
                                                                  "DefaultPromiseEndpoint",
                                                                  "GetConsistentReadVersion",
                                                                  "ProxyCommit",
                                                                  "TLogCommit",
                                                                  "TLogPeek",
                                                                  "ClusterController",
                                                                  "Worker",
                                                                  "FailureMonitor",
                                                                  "Coordination",
                                                                  "ReadSocket",
                                                                  "DiskIOComplete",
                                                                  "WriteSocket",
                                                                  "RunLoop",
                                                                  "Max"};
  const auto i = static_cast<size_t>(p);
  return i < static_cast<size_t>(kTaskPriorityCount) ? kNames[i] : "Unknown";
}

}  // namespace flow
