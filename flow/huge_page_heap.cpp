#include "flow/huge_page_heap.h"

#include <sys/mman.h>

#include <cstdint>

namespace flow {
#if !defined(STRATA_ASAN)
namespace {

constexpr size_t kGranule = 16;
constexpr size_t kChunkBytes = size_t{2} << 20;
// Large blocks round up to whole 4 KiB pages of their own mapping.
constexpr size_t kPageBytes = 4096;

struct FreeBlock {
  FreeBlock* next;
};
// Per size class ((bytes - 1) / 16): recycled memory, never run state.
FreeBlock* g_free[kHugePageSmallMax / kGranule];
char* g_bump = nullptr;  // the unused rest of the newest chunk
char* g_bump_end = nullptr;

// `bytes` of fresh anonymous memory, 2 MiB-aligned when at least 2 MiB, marked for huge pages.
void* map_huge(size_t bytes) {
  const size_t align = bytes >= kChunkBytes ? kChunkBytes : kPageBytes;
  void* raw = ::mmap(nullptr, bytes + align - kPageBytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  // Trim to an aligned start, so that whole 2 MiB ranges can be huge pages.
  auto* start = static_cast<char*>(raw);
  const auto at = reinterpret_cast<uintptr_t>(start);
  char* aligned = start + ((align - at % align) % align);
  if (aligned != start) ::munmap(start, static_cast<size_t>(aligned - start));
  char* end = start + bytes + align - kPageBytes;
  if (end != aligned + bytes) ::munmap(aligned + bytes, static_cast<size_t>(end - (aligned + bytes)));
#ifdef MADV_HUGEPAGE
  ::madvise(aligned, bytes, MADV_HUGEPAGE);  // a hint: without huge pages, ordinary ones
#endif
  return aligned;
}

size_t large_mapping_bytes(size_t bytes) {
  return (bytes + kPageBytes - 1) / kPageBytes * kPageBytes;
}

}  // namespace
#endif  // !STRATA_ASAN: under ASan every block goes to the ordinary allocator

void* huge_page_allocate(size_t bytes) {
#if defined(STRATA_ASAN)
  return ::operator new(bytes);
#else
  if (bytes == 0) bytes = 1;
  if (bytes > kHugePageSmallMax) return map_huge(large_mapping_bytes(bytes));
  const size_t size_class = (bytes - 1) / kGranule;
  if (FreeBlock* b = g_free[size_class]) {
    g_free[size_class] = b->next;
    return b;
  }
  const size_t block = (size_class + 1) * kGranule;
  if (static_cast<size_t>(g_bump_end - g_bump) < block) {
    // The rest of the old chunk is too small for this class: it goes to the class that fits it.
    const size_t rest = static_cast<size_t>(g_bump_end - g_bump);
    if (rest >= kGranule) {
      auto* b = reinterpret_cast<FreeBlock*>(g_bump);
      FreeBlock*& head = g_free[rest / kGranule - 1];
      b->next = head;
      head = b;
    }
    g_bump = static_cast<char*>(map_huge(kChunkBytes));
    g_bump_end = g_bump + kChunkBytes;
  }
  void* p = g_bump;
  g_bump += block;
  return p;
#endif
}

void huge_page_free(void* p, size_t bytes) noexcept {
  if (p == nullptr) return;
#if defined(STRATA_ASAN)
  (void)bytes;
  ::operator delete(p);
#else
  if (bytes == 0) bytes = 1;
  if (bytes > kHugePageSmallMax) {
    ::munmap(p, large_mapping_bytes(bytes));
    return;
  }
  auto* b = static_cast<FreeBlock*>(p);
  FreeBlock*& head = g_free[(bytes - 1) / kGranule];
  b->next = head;
  head = b;
#endif
}

}  // namespace flow
