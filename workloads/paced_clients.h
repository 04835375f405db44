#pragma once
// PacedClients — what the history-recording workloads (ListAppend, Register, Serializability)
// share: client actors that each run transaction after transaction, with random pauses that
// spread `transactionsPerSecond` over all `clients`, from start() until testDuration ends.
//
// Options it reads: testDuration (s, 10), clients (4: 1 to 1000), transactionsPerSecond (100:
// over all clients, in (0, 1e6]).

#include <cstdint>
#include <functional>

#include "flow/combinators.h"
#include "flow/time.h"
#include "workloads/workload.h"

namespace workloads {

class PacedClients {
 public:
  explicit PacedClients(WorkloadOptions& o);

  int64_t clients() const { return clients_; }

  // Runs the clients until testDuration from now: client c calls `transaction(c)` after each
  // pause, until the time is up, and returns once every client has. May suspend.
  void run(const std::function<void(uint32_t client)>& transaction) const;

 private:
  flow::Duration duration_;
  int64_t clients_;
  double rate_;
};

// Simulated time as integer nanoseconds, as histories record it.
inline int64_t now_ns() { return flow::now().time_since_epoch().count(); }

}  // namespace workloads
