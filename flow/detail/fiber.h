#pragma once
// Fiber stacks and the raw context switch underneath actors.
//
// A stack is an anonymous private mapping (MAP_NORESERVE, no transparent huge pages), so only the
// pages an actor touches become resident. In every build the lowest page of each stack is made
// inaccessible, so an overflow faults at once instead of silently writing into whatever lies below
// (often another actor's stack); the scheduler's SIGSEGV handler recognizes a fault in a guard page
// and names the actor and its process (see scheduler.cpp). The pool keeps stacks for reuse, so the
// extra mprotect is paid once per mapping, not per spawn. Each guard page splits the mapping, and
// the kernel limits mappings per process (vm.max_map_count, 65530 by default), so at most
// kGuardedStacksMax stacks are guarded at a time; beyond that (a population of tens of thousands
// of actors, as in the stress tests) new stacks run unguarded.
//
// StackPool keeps released stacks for reuse, because mapping one costs a system call and spawning
// an actor must cost far less.
//
// switch_to() wraps Boost.Context's jump_fcontext and tells AddressSanitizer about every switch
// (__sanitizer_start_switch_fiber / __sanitizer_finish_switch_fiber), so ASan follows the stacks.

#include <cstddef>
#include <vector>

#include <boost/context/detail/fcontext.hpp>

namespace flow::detail {

using FContext = boost::context::detail::fcontext_t;
using Transfer = boost::context::detail::transfer_t;

struct Stack {
  void* mapping = nullptr;  // lowest address of the mapping (the guard page, if any)
  size_t mapping_bytes = 0;
  // Bytes left unused at the top. Every mapping is page-aligned, so without this the hot frames
  // of all fibers would sit at the same offset within a page: they would compete for the same L1
  // cache sets, and the CPU would suspect a store on one stack of aliasing a load on another
  // (4K aliasing). Each new stack starts at a different cache line of the page instead.
  size_t colour_bytes = 0;
  bool guarded = false;
  // Usable range: [bottom(), top()).
  char* bottom() const { return static_cast<char*>(mapping) + (guarded ? kPageBytes : 0); }
  char* top() const { return static_cast<char*>(mapping) + mapping_bytes - colour_bytes; }
  size_t usable_bytes() const { return static_cast<size_t>(top() - bottom()); }

  static constexpr size_t kPageBytes = 4096;
};

inline constexpr size_t kGuardedStacksMax = 16384;

class StackPool {
 public:
  // stack_bytes is rounded up to whole pages; cached_max bounds the stacks kept for reuse.
  StackPool(size_t stack_bytes, size_t cached_max);
  ~StackPool();
  StackPool(const StackPool&) = delete;
  StackPool& operator=(const StackPool&) = delete;

  Stack acquire();
  void release(Stack s);

  size_t stack_bytes() const { return stack_bytes_; }
  size_t cached() const { return cache_.size(); }
  size_t mapped() const { return mapped_; }

 private:
  void unmap(Stack s);

  size_t stack_bytes_;
  size_t cached_max_;
  std::vector<Stack> cache_;
  size_t mapped_ = 0;
  size_t guarded_ = 0;
  size_t maps_total_ = 0;  // stacks mapped so far, to pick each one's colour
};

// One side of a context switch: the suspended context and, for AddressSanitizer, the bounds of
// the stack it runs on.
struct ContextSide {
  FContext ctx = nullptr;
#if defined(STRATA_ASAN)
  const void* stack_bottom = nullptr;  // null for the thread's own stack until learned
  size_t stack_bytes = 0;
#endif
};

// Switches from the current context to `to`, passing `data`. Returns when some context switches
// back here; the result carries that context and the data it passed. `fake_stack` is ASan's
// per-context save slot; pass `leaving_forever` when the current context will never resume.
// Must be followed, first thing on arrival, by arrived().
#if defined(STRATA_ASAN)
Transfer switch_to(const ContextSide& to, void* data, void** fake_stack, bool leaving_forever);
// Records the bounds of the stack we came from into `from` (when not null), as ASan reports them.
void arrived(void* fake_stack, ContextSide* from);
#else
[[gnu::always_inline]] inline Transfer switch_to(const ContextSide& to, void* data, void**, bool) {
  return boost::context::detail::jump_fcontext(to.ctx, data);
}
inline void arrived(void*, ContextSide*) {}
#endif

// Creates a context on `s` that will start in `entry`.
FContext make_context(const Stack& s, void (*entry)(Transfer));

}  // namespace flow::detail
