#pragma once
// SimNetwork — byte-stream connections between simulated processes, and the faults between them.
//
// A connection is two one-way pipes. A write becomes a chunk in the peer's pipe that the peer can
// read from its delivery time on: now + a latency drawn for that chunk, pushed later by any clog
// that covers it (on the sender, on the receiver, or on the pair), and never earlier than the
// chunk before it, so order within a connection is kept (a chunk never overtakes the one before).
// Latency, as in FoundationDB's simulator, is drawn per packet: uniform in [min, max], except that
// a small fraction (slow_probability, 0.1%) is the slow tail, uniform in [min, max * slow_factor].
// Under buggify a write may be split into several chunks that arrive apart (partial writes).
//
// heal() ends every clog and partition at once; bytes a clog or a silent partition was holding
// arrive within one latency after it.
//
// Partitions come in two kinds, chosen by whoever cuts one:
//   kReset   the cut is seen at once, as a refused or reset TCP connection: every connection that
//            tries to send across it, and every connect across it, fails with connection_failed.
//   kSilent  packets are lost and nothing says so, as when a switch dies: writes succeed but their
//            bytes (and a close) are held until the partition ends, then arrive in order; a connect
//            across it gets no answer and fails after connect_timeout unless the cut ends first.
//            Only the endpoints' own timeouts (net's idle pinger) find such a failure.
// A partition may be symmetric or one way (from -> to only).
//
// Failures: while faults are enabled, a write may also fail its connection at random (at most
// one such failure per connection_failure_gap across the network). Killing a process fails all of
// its connections: the peer reads what was delivered before, then connection_failed (unless a
// silent partition hides the peer: then it learns when the partition ends). close() is seen by the
// peer after a latency, also as connection_failed after the data sent before it.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "flow/async_trigger.h"
#include "flow/network.h"
#include "flow/time.h"

namespace sim {

struct NetworkModel {
  flow::Duration min_latency = std::chrono::microseconds(50);
  flow::Duration max_latency = std::chrono::microseconds(2000);
  // The slow tail: this fraction of packets takes up to max_latency * slow_factor.
  double slow_probability = 0.001;
  int64_t slow_factor = 10;
  // How long a connect across a silent partition waits for an answer before it fails.
  flow::Duration connect_timeout = std::chrono::seconds(5);
};

enum class PartitionKind { kReset, kSilent };

struct NetworkFaults {
  bool enabled = false;
  double connection_failure_probability = 0;  // per write
};

class SimNetwork {
 public:
  // REQUIRES: model.min_latency <= model.max_latency (equal is a fixed latency).
  explicit SimNetwork(NetworkModel model = {});
  SimNetwork(const SimNetwork&) = delete;
  SimNetwork& operator=(const SimNetwork&) = delete;
  ~SimNetwork();

  NetworkFaults& faults() { return faults_; }
  const NetworkModel& model() const { return model_; }
  // From now on, no random connection failure within `gap` of the previous one, nor within `gap`
  // of now (FoundationDB's test option connectionFailuresDisableDuration: a huge gap turns them
  // off for the test).
  void set_connection_failure_gap(flow::Duration gap);

  // The network as the process at `ip` sees it.
  std::unique_ptr<flow::INetwork> network_for(uint32_t ip);

  // Delays everything `ip` sends (or receives) until now + d.
  void clog_send(uint32_t ip, flow::Duration d);
  void clog_receive(uint32_t ip, flow::Duration d);
  // Delays everything from `from` to `to` until now + d.
  void clog_pair(uint32_t from, uint32_t to, flow::Duration d);
  // Ends the send and receive clogs of `ip` now (FoundationDB's unclogInterface): what they held
  // arrives within one latency, unless another clog still covers it.
  void unclog(uint32_t ip);
  // `from` can no longer reach `to` (and, if symmetric, the reverse); see the header comment for
  // the kinds. Cutting a pair already cut replaces its kind.
  void partition(uint32_t from, uint32_t to, bool symmetric,
                 PartitionKind kind = PartitionKind::kReset);
  // Ends the cut; what a silent one held arrives within one latency.
  void unpartition(uint32_t from, uint32_t to, bool symmetric);
  // Removes every partition and clog.
  void heal();
  bool can_send(uint32_t from, uint32_t to) const { return !blocked_.contains({from, to}); }
  // The kind of the cut from -> to, if there is one.
  std::optional<PartitionKind> cut(uint32_t from, uint32_t to) const;
  // The last time every cut of from -> to was ended (unpartition of the pair, heal), and the last
  // time a clog of `ip` was ended early (unclog, heal), by whoever ended it; kTimeZero if never.
  // A fault that began before then is over, and what it held may have arrived: a workload that
  // checks its faults (RandomClogging) must know even when another workload ended them.
  flow::Time cut_released_at(uint32_t from, uint32_t to) const;
  flow::Time clog_released_at(uint32_t ip) const;

  // The process at `ip` died: its listeners close and its connections fail.
  void kill_address(uint32_t ip);

  // What a write put on the wire, for an observer that draws the run (strata-sim --timeline).
  struct WriteRecord {
    uint32_t from, to;
    flow::Time sent;
    flow::Time arrives;  // kHeld while a silent partition holds it
    size_t bytes;
  };
  // Calls `observer` with every write from now on (nothing: stops). The observer only records:
  // it may not touch the simulation, so the run is the same with or without it.
  void set_write_observer(std::function<void(const WriteRecord&)> observer) {
    write_observer_ = std::move(observer);
  }

  // Bytes written to connections so far (whether or not they arrive).
  uint64_t bytes_sent() const { return bytes_sent_; }

  // When a chunk sent now from `from` to `to` may arrive (before ordering within a connection):
  // now + latency(from, to), pushed past any clog that covers it.
  flow::Time delivery_time(uint32_t from, uint32_t to);
  // One packet's latency from `a` to `b`, drawn from the model (min_latency to oneself).
  flow::Duration latency(uint32_t a, uint32_t b);
  // The delivery time of bytes a silent partition holds.
  static constexpr flow::Time kHeld = flow::kTimeMax;

 private:
  friend class SimProcessNetwork;
  friend class SimConnection;
  friend class SimListener;

  NetworkModel model_;
  NetworkFaults faults_;
  uint64_t bytes_sent_ = 0;
  std::map<uint32_t, flow::Time> send_clogs_;
  std::map<uint32_t, flow::Time> receive_clogs_;
  std::map<std::pair<uint32_t, uint32_t>, flow::Time> pair_clogs_;
  std::map<std::pair<uint32_t, uint32_t>, PartitionKind> blocked_;  // (from, to): from can't reach to
  flow::AsyncTrigger cuts_changed_;  // a partition ended (a waiting connect looks again)
  // When faults were ended early (released_at).
  std::map<std::pair<uint32_t, uint32_t>, flow::Time> pair_released_;
  std::map<uint32_t, flow::Time> ip_released_;
  flow::Time all_released_ = flow::kTimeZero;
  flow::Duration connection_failure_gap_ = flow::Duration(0);
  flow::Time last_random_failure_ = flow::kTimeZero;
  std::map<flow::NetworkAddress, class SimListener*> listeners_;
  // Every live connection endpoint, by owning address, in creation order.
  std::map<uint32_t, std::vector<std::weak_ptr<class SimConnection>>> connections_;
  uint16_t next_ephemeral_port_ = 40000;
  std::function<void(const WriteRecord&)> write_observer_;

  void track(uint32_t ip, std::weak_ptr<class SimConnection> c);
  // Whether a write now may fail its connection at random (draws only while faults are enabled).
  bool draw_random_failure();
  // Releases what silent cuts hold on connections from `from` to `to` that are no longer cut.
  void release_held(uint32_t from, uint32_t to);
};

}  // namespace sim
