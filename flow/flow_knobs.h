#pragma once
// FlowKnobs — the runtime's own tuning parameters.

#include <string>
#include <string_view>
#include <cstdint>

#include "flow/time.h"

namespace flow {

class KnobSet;

struct FlowKnobs {
  // Bytes of address space per actor stack; only touched pages cost memory.
  int64_t fiber_stack_bytes = 256 * 1024;
  // Released stacks whose memory is kept for reuse; beyond them a released stack's pages go back
  // to the kernel.
  int64_t fiber_stack_pool_max = 1024;
  // Tasks between non-blocking polls of the world's outside events.
  int64_t reactor_poll_interval = 64;

  // The wire (net/). They live here until net has a knob set of its own.
  // Largest frame payload accepted or sent; a bigger incoming frame closes the connection.
  int64_t max_message_bytes = 64 << 20;
  // Durations are set by knob name in seconds: initial_reconnect_seconds=0.05.
  // Reconnection backoff after a failed connection: starts here, doubles to the max, with jitter.
  Duration initial_reconnect = std::chrono::milliseconds(50);
  Duration max_reconnect = std::chrono::seconds(2);
  // A connection that moves no bytes either way for this long is pinged. With requests
  // outstanding, it is closed (IdleTimeout) if the ping then goes unanswered as long again;
  // without, if it goes unanswered for connection_idle_timeout (a busy peer is not a dead one, and
  // only the failure monitor is waiting for the verdict).
  Duration connection_idle = std::chrono::seconds(2);
  Duration connection_idle_timeout = std::chrono::seconds(10);
  // Requests waiting in one endpoint's queue, and bytes of requests an endpoint holds (waiting or
  // being served); a request beyond either gets endpoint_queue_full (net/request_quota.h).
  int64_t endpoint_queue_max = 100'000;
  int64_t endpoint_queue_bytes_max = 256 << 20;
  // Bytes waiting to be written on one connection (also while it reconnects); past this the
  // connection is closed (SendQueueFull) and its requests get request_maybe_delivered. Never less
  // than one largest message.
  int64_t connection_send_queue_bytes_max = 160 << 20;

  // The database (roles/). FoundationDB's name: whether, in simulation with buggify on, a
  // recovery may drop one of its recruitment requests (the recovery then times out and starts
  // again), to test that path. LowLatency specs turn it off: its recoveries must be quick.
  bool cc_recovery_init_req_allow_drop_in_sim = true;

  void declare(KnobSet& set);
};

// Why the flow knob assignment "name=value" would be refused, in words ("" if it would not): for
// a program to name the bad --knob, where the runtime says only unknown_knob or
// invalid_knob_value.
std::string knob_refusal(std::string_view assignment);

}  // namespace flow
