#pragma once
// Memory for a store's many long-lived objects, from chunks the kernel may back with 2 MiB pages.
//
// Why: the memory engine keeps every key and value in the process, hundreds of megabytes for a
// million keys, in objects of a few dozen to a few hundred bytes. From malloc, each new 4 KiB page
// of that costs a page fault on first touch, and on a virtual machine a fault costs microseconds:
// loading a million keys spent more time faulting than inserting. Here small blocks come from
// per-size-class free lists carved out of 2 MiB chunks marked MADV_HUGEPAGE (a fault per 2 MiB),
// and large blocks (an index's slot array) get their own such mapping.
//
// Small blocks (up to kHugePageSmallMax bytes) are recycled, never returned to the OS, like
// flow/detail/fast_alloc.h; large ones are unmapped when freed. Single-threaded, like flow. Under
// AddressSanitizer everything goes to the ordinary allocator, so that misuse stays visible.
// Addresses never influence behaviour, so reuse is no threat to determinism. Where the kernel
// gives no huge pages, this is an ordinary, slightly cheaper allocator.

#include <cstddef>
#include <new>

namespace flow {

inline constexpr size_t kHugePageSmallMax = 1024;

// A block of at least `bytes` bytes, aligned to 16. Throws std::bad_alloc.
void* huge_page_allocate(size_t bytes);
// Frees a block from huge_page_allocate(bytes), with the same `bytes`.
void huge_page_free(void* p, size_t bytes) noexcept;

// A standard allocator over the heap, for containers of a store's data.
template <class T>
struct HugePageAllocator {
  using value_type = T;
  HugePageAllocator() = default;
  template <class U>
  HugePageAllocator(const HugePageAllocator<U>&) noexcept {}
  T* allocate(size_t n) {
    static_assert(alignof(T) <= 16);
    return static_cast<T*>(huge_page_allocate(n * sizeof(T)));
  }
  void deallocate(T* p, size_t n) noexcept { huge_page_free(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const HugePageAllocator<U>&) const noexcept {
    return true;
  }
};

}  // namespace flow
