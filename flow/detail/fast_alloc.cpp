#include "flow/detail/fast_alloc.h"

#include <cstdlib>

namespace flow::detail {

#if defined(STRATA_ASAN)

void* fast_allocate(size_t bytes) { return ::operator new(bytes); }
void fast_free(void* p, size_t) { ::operator delete(p); }

#else

namespace {

constexpr size_t kGranule = 16;
constexpr size_t kClasses = kFastAllocMax / kGranule;
constexpr size_t kRefillBytes = 64 * 1024;

struct FreeBlock {
  FreeBlock* next;
};

// Per-process memory pool: its contents are recycled memory, never run state.
FreeBlock* g_free[kClasses] = {};

size_t size_class(size_t bytes) { return (bytes + kGranule - 1) / kGranule - 1; }

void refill(size_t cls) {
  const size_t block = (cls + 1) * kGranule;
  char* chunk = static_cast<char*>(std::malloc(kRefillBytes));
  if (!chunk) throw std::bad_alloc();
  const size_t count = kRefillBytes / block;
  for (size_t i = 0; i < count; ++i) {
    auto* b = reinterpret_cast<FreeBlock*>(chunk + i * block);
    b->next = g_free[cls];
    g_free[cls] = b;
  }
}

}  // namespace

void* fast_allocate(size_t bytes) {
  if (bytes > kFastAllocMax || bytes == 0) return ::operator new(bytes);
  const size_t cls = size_class(bytes);
  if (!g_free[cls]) refill(cls);
  FreeBlock* b = g_free[cls];
  g_free[cls] = b->next;
  return b;
}

void fast_free(void* p, size_t bytes) {
  if (!p) return;
  if (bytes > kFastAllocMax || bytes == 0) {
    ::operator delete(p);
    return;
  }
  const size_t cls = size_class(bytes);
  auto* b = static_cast<FreeBlock*>(p);
  b->next = g_free[cls];
  g_free[cls] = b;
}

#endif

}  // namespace flow::detail
