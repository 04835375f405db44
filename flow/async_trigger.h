#pragma once
// AsyncTrigger — wakes everyone waiting on on_trigger() each time trigger() is called.

#include <utility>

#include "flow/future.h"

namespace flow {

class AsyncTrigger {
 public:
  // Ready at the next trigger() after this call.
  Future<Void> on_trigger() const { return promise_.get_future(); }
  void trigger() {
    Promise<Void> fired = std::exchange(promise_, Promise<Void>());
    fired.send();
  }

 private:
  Promise<Void> promise_;
};

}  // namespace flow
