#pragma once
// Size-class free lists for flow's small, short-lived objects (futures' shared states, actors).
//
// A ping-pong between two actors allocates a shared state per hop; glibc's malloc costs several
// times a fiber switch there. Blocks of up to kFastAllocMax bytes come from per-size-class free
// lists refilled 64 KiB at a time and are never returned to the OS. Single-threaded, like flow.
// Under AddressSanitizer everything goes to the ordinary allocator so that use-after-free and
// leaks stay visible. Addresses never influence behaviour, so reuse is no threat to determinism.

#include <cstddef>
#include <new>

namespace flow::detail {

inline constexpr size_t kFastAllocMax = 512;
inline constexpr size_t kFastAllocGranule = 16;

struct FreeBlock {
  FreeBlock* next;
};
// Free lists by size class ((bytes - 1) / 16). Per-process memory pool: its contents are recycled
// memory, never run state.
extern FreeBlock* g_fast_free[kFastAllocMax / kFastAllocGranule];

void* fast_allocate_slow(size_t bytes);

inline void* fast_allocate(size_t bytes) {
#if !defined(STRATA_ASAN)
  if (bytes - 1 < kFastAllocMax) {  // 1..kFastAllocMax (0 wraps around)
    FreeBlock*& head = g_fast_free[(bytes - 1) / kFastAllocGranule];
    if (FreeBlock* b = head) {
      head = b->next;
      return b;
    }
  }
#endif
  return fast_allocate_slow(bytes);
}

inline void fast_free(void* p, [[maybe_unused]] size_t bytes) {
#if !defined(STRATA_ASAN)
  if (p != nullptr && bytes - 1 < kFastAllocMax) {
    FreeBlock*& head = g_fast_free[(bytes - 1) / kFastAllocGranule];
    auto* b = static_cast<FreeBlock*>(p);
    b->next = head;
    head = b;
    return;
  }
#endif
  ::operator delete(p);
}

// Derive from this to give a class the fast allocator.
struct FastAllocated {
  static void* operator new(size_t bytes) { return fast_allocate(bytes); }
  static void operator delete(void* p, size_t bytes) { fast_free(p, bytes); }
};

}  // namespace flow::detail
