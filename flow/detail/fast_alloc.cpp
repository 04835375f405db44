#include "flow/detail/fast_alloc.h"

#include <cstdlib>

namespace flow::detail {

FreeBlock* g_fast_free[kFastAllocMax / kFastAllocGranule] = {};

namespace {

constexpr size_t kRefillBytes = 64 * 1024;

}  // namespace

void* fast_allocate_slow(size_t bytes) {
#if !defined(STRATA_ASAN)
  if (bytes - 1 < kFastAllocMax) {
    // The class's list is empty: carve a fresh chunk into blocks of its size.
    const size_t cls = (bytes - 1) / kFastAllocGranule;
    const size_t block = (cls + 1) * kFastAllocGranule;
    char* chunk = static_cast<char*>(std::malloc(kRefillBytes));
    if (chunk == nullptr) throw std::bad_alloc();
    for (size_t i = kRefillBytes / block; i-- > 1;) {
      auto* b = reinterpret_cast<FreeBlock*>(chunk + i * block);
      b->next = g_fast_free[cls];
      g_fast_free[cls] = b;
    }
    return chunk;
  }
#endif
  return ::operator new(bytes);
}

}  // namespace flow::detail
