#pragma once
// FlowKnobs — the runtime's own tuning parameters.

#include <cstdint>

namespace flow {

class KnobSet;

struct FlowKnobs {
  // Bytes of address space per actor stack; only touched pages cost memory.
  int64_t fiber_stack_bytes = 256 * 1024;
  // Released stacks kept for reuse instead of unmapped.
  int64_t fiber_stack_pool_max = 1024;
  // Tasks between non-blocking polls of the world's outside events.
  int64_t reactor_poll_interval = 64;

  void declare(KnobSet& set);
};

}  // namespace flow
