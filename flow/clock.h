#pragma once
// IClock — a process's view of the time.
//
// The scheduler keeps world time (flow::now()); a process reads its own clock through IClock,
// which in simulation may be skewed and drifting relative to world time, as real machines' clocks
// are. Timers always run on world time. Implemented by the simulated world (sim/) and the real
// world (net/asio/).

#include "flow/time.h"

namespace flow {

class IClock {
 public:
  virtual ~IClock() = default;
  // This process's local time. Never goes backwards.
  virtual Time now() const = 0;
};

}  // namespace flow
