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

void* fast_allocate(size_t bytes);
void fast_free(void* p, size_t bytes);

// Derive from this to give a class the fast allocator.
struct FastAllocated {
  static void* operator new(size_t bytes) { return fast_allocate(bytes); }
  static void operator delete(void* p, size_t bytes) { fast_free(p, bytes); }
};

}  // namespace flow::detail
