#pragma once
// FailureMonitor — what one process believes about the reachability of others.
//
// An address is available once a connection to it completed its handshake, and failed once a
// connection attempt to it failed or an open connection to it ended. Before either it is unknown.
// Roles wait on on_failed() to notice a peer going away, and on on_available() to learn it is
// back; while anyone waits on on_available(), the transport keeps trying to connect (with its
// usual backoff), so "back" is noticed without traffic.

#include <map>

#include "flow/async_trigger.h"
#include "flow/future.h"
#include "flow/network_address.h"

namespace net {

class Transport;

class FailureMonitor {
 public:
  enum class Status { kUnknown, kAvailable, kFailed };

  explicit FailureMonitor(Transport& transport) : transport_(transport) {}

  Status status(const flow::NetworkAddress& a) const;
  // Ready once `a` is failed (at once if it is now).
  flow::Future<flow::Void> on_failed(const flow::NetworkAddress& a);
  // Ready once `a` is available (at once if it is now, or if `a` is this process's own address).
  // Keeps the transport reconnecting.
  flow::Future<flow::Void> on_available(const flow::NetworkAddress& a);
  // Ready at the next connection attempt's outcome for `a`, whatever it is.
  flow::Future<flow::Void> on_attempt(const flow::NetworkAddress& a);

  // The transport reports each connection outcome.
  void set_status(const flow::NetworkAddress& a, Status s);

 private:
  struct Entry {
    Status status = Status::kUnknown;
    flow::AsyncTrigger attempt;
  };

  Transport& transport_;
  std::map<flow::NetworkAddress, Entry> entries_;
};

}  // namespace net
