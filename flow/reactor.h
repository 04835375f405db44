#pragma once
// IReactor — how the scheduler meets the world: world time, and waiting for outside events.
//
// The scheduler runs ready actors; when none is ready it asks the reactor to wait for the next
// outside event (socket or disk completion) or the next timer, whichever comes first. The
// simulated world and VirtualReactor jump time straight to the next timer; the real world sleeps
// in its event loop. Implementations put the continuations of outside events in the ready queue
// by setting promises.

#include "flow/time.h"

namespace flow {

class IReactor {
 public:
  virtual ~IReactor() = default;

  // World time: monotonic, shared by every process of the run.
  virtual Time now() const = 0;

  // Called when no actor is ready. Waits for outside events until `deadline` (the next timer, or
  // kTimeMax when there is none) and delivers them. Returns false when nothing can ever happen
  // again (no deadline and no source of outside events): the run is quiescent.
  virtual bool wait_for_events(Time deadline) = 0;

  // Called between tasks from time to time: deliver outside events that are ready now, without
  // blocking, so that a busy scheduler does not starve I/O.
  virtual void poll_ready_events() {}

  // Whether this thread has lately waited for a CPU (the machine has more runnable threads than
  // CPUs). Work handed to a peer early then gains no parallelism and only costs extra writes and
  // wake-ups, so the wire batches instead. Always false in simulation, where it would make a run
  // depend on the machine.
  virtual bool cpu_contended() const { return false; }
};

// The minimal deterministic world: no outside events, and time that jumps to the next timer
// whenever nothing is ready.
class VirtualReactor final : public IReactor {
 public:
  Time now() const override { return now_; }
  bool wait_for_events(Time deadline) override {
    if (deadline == kTimeMax) return false;
    if (deadline > now_) now_ = deadline;
    return true;
  }

 private:
  Time now_ = kTimeZero;
};

}  // namespace flow
