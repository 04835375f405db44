#pragma once
// SimNetwork — byte-stream connections between simulated processes, and the faults between them.
//
// A connection is two one-way pipes. A write becomes a chunk in the peer's pipe that the peer can
// read from its delivery time on: now + the pair's latency (drawn once per pair of addresses),
// pushed later by any clog that covers it (on the sender, on the receiver, or on the pair), and
// never earlier than the chunk before it, so order within a connection is kept. Under buggify a
// write may be split into several chunks that arrive apart (partial writes).
//
// heal() ends every clog and partition at once; bytes a clog was holding arrive within one
// latency after it.
//
// Failures: a partition between two addresses (symmetric, or one way) fails every connection that
// tries to send across it, and every connect across it, with connection_failed. While faults are
// enabled, a write may also fail its connection at random. Killing a process fails all of its
// connections: the peer reads what was delivered before, then connection_failed. close() is seen by
// the peer after the latency, also as connection_failed after the data sent before it.

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#include "flow/network.h"
#include "flow/time.h"

namespace sim {

struct NetworkModel {
  flow::Duration min_latency = std::chrono::microseconds(50);
  flow::Duration max_latency = std::chrono::microseconds(2000);
};

struct NetworkFaults {
  bool enabled = false;
  double connection_failure_probability = 0;  // per write
};

class SimNetwork {
 public:
  explicit SimNetwork(NetworkModel model = {}) : model_(model) {}
  SimNetwork(const SimNetwork&) = delete;
  SimNetwork& operator=(const SimNetwork&) = delete;
  ~SimNetwork();

  NetworkFaults& faults() { return faults_; }

  // The network as the process at `ip` sees it.
  std::unique_ptr<flow::INetwork> network_for(uint32_t ip);

  // Delays everything `ip` sends (or receives) until now + d.
  void clog_send(uint32_t ip, flow::Duration d);
  void clog_receive(uint32_t ip, flow::Duration d);
  // Delays everything from `from` to `to` until now + d.
  void clog_pair(uint32_t from, uint32_t to, flow::Duration d);
  // `from` can no longer reach `to` (and, if symmetric, the reverse).
  void partition(uint32_t from, uint32_t to, bool symmetric);
  void unpartition(uint32_t from, uint32_t to, bool symmetric);
  // Removes every partition and clog.
  void heal();
  bool can_send(uint32_t from, uint32_t to) const { return !blocked_.contains({from, to}); }

  // The process at `ip` died: its listeners close and its connections fail.
  void kill_address(uint32_t ip);

  // When a chunk sent now from `from` to `to` may arrive (before ordering within a connection).
  flow::Time delivery_time(uint32_t from, uint32_t to);
  flow::Duration latency(uint32_t a, uint32_t b);

 private:
  friend class SimProcessNetwork;
  friend class SimConnection;
  friend class SimListener;

  NetworkModel model_;
  NetworkFaults faults_;
  std::map<std::pair<uint32_t, uint32_t>, flow::Duration> latencies_;
  std::map<uint32_t, flow::Time> send_clogs_;
  std::map<uint32_t, flow::Time> receive_clogs_;
  std::map<std::pair<uint32_t, uint32_t>, flow::Time> pair_clogs_;
  std::set<std::pair<uint32_t, uint32_t>> blocked_;  // (from, to): from cannot reach to
  std::map<flow::NetworkAddress, class SimListener*> listeners_;
  // Every live connection endpoint, by owning address, in creation order.
  std::map<uint32_t, std::vector<std::weak_ptr<class SimConnection>>> connections_;
  uint16_t next_ephemeral_port_ = 40000;

  void track(uint32_t ip, std::weak_ptr<class SimConnection> c);
};

}  // namespace sim
