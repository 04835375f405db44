#pragma once
// Fiber stacks and the raw context switch underneath actors.
//
// Stacks are carved from slabs: one anonymous private mapping (MAP_NORESERVE, no transparent huge
// pages) holds kStacksPerSlab of them, so only the pages an actor touches become resident, and a
// simulation that grows to thousands of live actors pays one mmap per slab instead of three system
// calls per stack. In every build the lowest page of each stack is a guard, so an overflow faults
// at once instead of silently writing into whatever lies below (in a slab, another actor's
// stack); the scheduler's SIGSEGV handler recognizes a fault in a guard page and names the actor
// and its process (see scheduler.cpp).
//
// A guard is a guard region (madvise MADV_GUARD_INSTALL, Linux 6.13 and later), which costs one
// cheap call and leaves the slab one mapping. Where the kernel refuses it (an older kernel, a
// locked mapping, a seccomp filter) it is an mprotect, which splits the mapping; the kernel limits
// mappings per process (vm.max_map_count, 65530 by default), so there at most kGuardedStacksMax
// stacks are guarded at a time and later ones run unguarded (a population of tens of thousands of
// actors, as in the stress tests). A frame larger than the guard page could jump over it: the
// build compiles with -fstack-clash-protection, so that large frames touch every page they take.
//
// The pool keeps released stacks for reuse, because preparing one costs system calls and page
// faults and spawning an actor must cost far less. Beyond cached_max kept stacks, a released
// stack gives its pages back to the kernel (MADV_DONTNEED) but keeps its place in the slab; the
// page tables under its address range stay until the pool ends (about 0.2% of the address space
// a burst of actors reached: 50 MB after 100,000 live stacks of 256 KiB).
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
  void* mapping = nullptr;  // lowest address of the stack's part of its slab (the guard page, if any)
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

inline constexpr size_t kGuardedStacksMax = 16384;  // with mprotect guards only
inline constexpr size_t kStacksPerSlab = 32;
inline constexpr size_t kSlabBytesMax = size_t{64} << 20;  // fewer stacks per slab when large

// How the pool guards its stacks.
enum class GuardKind { kGuardRegion, kMprotect };

class StackPool {
 public:
  // stack_bytes is rounded up to whole pages; cached_max bounds the stacks kept for reuse.
  // `guards` kMprotect starts with mprotect guards, as on a kernel without guard regions (tests).
  StackPool(size_t stack_bytes, size_t cached_max, GuardKind guards = GuardKind::kGuardRegion);
  ~StackPool();
  StackPool(const StackPool&) = delete;
  StackPool& operator=(const StackPool&) = delete;

  Stack acquire();
  void release(Stack s);

  size_t stack_bytes() const { return stack_bytes_; }
  // Released stacks whose pages are kept for the next actor.
  size_t cached() const { return cache_.size(); }
  // Stacks carved from slabs so far (in use, cached, or given back); slabs are unmapped only
  // when the pool ends.
  size_t mapped() const { return carved_; }
  size_t slabs() const { return slabs_.size(); }
  GuardKind guard_kind() const { return guard_kind_; }

 private:
  Stack carve();
  bool guard(void* page);

  struct Slab {
    void* mapping;
    size_t bytes;
  };

  size_t stack_bytes_;
  size_t cached_max_;
  size_t per_slab_;
  std::vector<Stack> cache_;     // released, pages kept: reused first
  std::vector<Stack> returned_;  // released beyond cached_max_, pages given back
  std::vector<Slab> slabs_;
  size_t carved_from_last_ = 0;  // stacks of slabs_.back() handed out so far
  size_t carved_ = 0;
  size_t guarded_ = 0;
  GuardKind guard_kind_ = GuardKind::kGuardRegion;
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
