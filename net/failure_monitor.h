#pragma once
// FailureMonitor — what one process believes about the reachability of others.
//
// What it promises:
//   - An address is available while at least one connection to it is up (handshake done),
//     whichever side opened it: a connection we dialled, or one the peer dialled and whose Hello
//     named that address as the peer's listening address (its IP checked against the socket's).
//   - It becomes failed when the last such connection ends, for any reason (closed by either
//     side, reset, a checksum or verification failure, or the idle monitor: a peer silent through
//     a ping — for connection_idle_seconds while requests to it are outstanding, for
//     connection_idle_timeout_seconds otherwise), or when an attempt to connect fails while none
//     is up. Before any of these it is unknown.
//   - So a peer that loses power is noticed by every process connected to it, client or server:
//     within about 3 × connection_idle_seconds (6 s) by one waiting for a reply from it, and
//     within 3 × connection_idle_seconds + connection_idle_timeout_seconds (16 s) by one that is
//     not. A role that needs the faster verdict keeps a request outstanding (FoundationDB's
//     waitFailure does the same).
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

  // The transport reports each connection outcome: a new status, or an attempt that changed
  // nothing (another connection to `a` is still up).
  void set_status(const flow::NetworkAddress& a, Status s);
  void note_attempt(const flow::NetworkAddress& a) { entries_[a].attempt.trigger(); }

 private:
  struct Entry {
    Status status = Status::kUnknown;
    flow::AsyncTrigger attempt;
  };

  Transport& transport_;
  std::map<flow::NetworkAddress, Entry> entries_;
};

}  // namespace net
