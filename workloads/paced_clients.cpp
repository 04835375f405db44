#include "workloads/paced_clients.h"

#include <vector>

#include "flow/actor.h"
#include "flow/combinators.h"
#include "flow/deterministic_random.h"

namespace workloads {

PacedClients::PacedClients(WorkloadOptions& o)
    : duration_(o.get_seconds("testDuration", 10.0)),
      clients_(o.get_int("clients", 4)),
      rate_(o.get_double("transactionsPerSecond", 100.0)) {
  o.require(clients_ >= 1 && clients_ <= 1000, "clients", "must be in [1, 1000]");
  o.require(rate_ > 0 && rate_ <= 1e6, "transactionsPerSecond", "must be in (0, 1e6]");
}

void PacedClients::run(const std::function<void(uint32_t client)>& transaction) const {
  const flow::Time end = flow::now() + duration_;
  // Each client's pauses average the gap that makes `rate_` over all of them.
  const flow::Duration gap = flow::from_seconds(static_cast<double>(clients_) / rate_);
  std::vector<flow::Future<flow::Void>> actors;
  for (int64_t c = 0; c < clients_; ++c) {
    actors.push_back(flow::spawn([&transaction, end, gap, c] {
      auto& rng = flow::deterministic_random();
      while (flow::now() < end) {
        flow::wait(flow::delay(rng.random_duration(flow::Duration(0), 2 * gap)));
        transaction(static_cast<uint32_t>(c));
      }
    }));
  }
  flow::wait(flow::wait_all(actors));
}

}  // namespace workloads
