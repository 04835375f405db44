// The global operator new and delete of strata-sim (and of the tests that check them): blocks of up
// to 1 KiB come from per-size-class free lists, larger ones from malloc.
//
// Why: a simulation allocates and frees small objects (messages, strings, vectors, map nodes) at
// a furious rate, and glibc's malloc, whose per-thread cache holds only 7 blocks of each size, was
// a tenth of a database spec's profile (malloc, free, consolidation). Free lists without bound,
// no locking and no checks cost a few instructions.
//
// How: small blocks live in one reserved region of address space, carved into 64 KiB spans, each
// span serving one size class (16-byte steps); a table indexed by span says a block's class, so
// delete needs no size and no header. Anything else (a larger block, an alignment above 16, a
// region that could not be reserved or is used up) goes to malloc, and delete tells the two apart
// by address. Memory of freed small blocks is kept for reuse, never returned to the OS: a
// simulation is one short process.
//
// Single-threaded, like the simulator: strata-sim runs no other thread. Under a sanitizer the
// replacement is left out, so that the sanitizer's own operator new keeps watching. Addresses
// never influence a run (STYLE.md), so the change of allocator changes no digest.

#include "workloads/sim_operator_new.h"

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__) && !defined(STRATA_ASAN)

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace {

constexpr size_t kGranule = 16;
constexpr size_t kSmallMax = 1024;
constexpr size_t kClasses = kSmallMax / kGranule;
constexpr size_t kSpanBytes = size_t{64} << 10;
// Address space only: pages are faulted in as spans are used.
constexpr size_t kRegionBytes = size_t{16} << 30;
constexpr size_t kSpans = kRegionBytes / kSpanBytes;

struct FreeBlock {
  FreeBlock* next;
};

struct SmallBlocks {
  uint8_t* region = nullptr;  // [region, region + kRegionBytes), or null: everything to malloc
  bool reserve_tried = false;
  size_t spans_used = 0;
  FreeBlock* free[kClasses] = {};
  uint8_t* bump[kClasses] = {};  // the unused rest of each class's current span
  uint8_t* bump_end[kClasses] = {};
  uint8_t span_class[kSpans] = {};
};

// Constant-initialized (no constructor runs), so it works for allocations made before main and
// during static destruction.
constinit SmallBlocks g_small;

bool reserve_region() {
  g_small.reserve_tried = true;
  void* p = mmap(nullptr, kRegionBytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return false;  // e.g. strict overcommit: malloc serves everything
  // Spans are 64 KiB-aligned: the region's start is page-aligned, round it up.
  const auto start = reinterpret_cast<uintptr_t>(p);
  const uintptr_t aligned = (start + kSpanBytes - 1) & ~(kSpanBytes - 1);
  g_small.region = reinterpret_cast<uint8_t*>(aligned);
  // Blocks are dense: one fault per 2 MiB instead of one per 4 KiB where the kernel allows.
  (void)madvise(p, kRegionBytes, MADV_HUGEPAGE);
  return true;
}

// The usable region, one span short of the mapping (the alignment may have taken up to a span).
bool in_region(const void* p) {
  const auto a = reinterpret_cast<uintptr_t>(p);
  const auto r = reinterpret_cast<uintptr_t>(g_small.region);
  return g_small.region != nullptr && a >= r && a < r + kRegionBytes - kSpanBytes;
}

void* allocate_large(size_t bytes) {
  for (;;) {
    if (void* p = std::malloc(bytes)) return p;
    std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) throw std::bad_alloc();
    handler();
  }
}

void* allocate_small_slow(size_t cls) {
  if (!g_small.reserve_tried) reserve_region();
  const size_t block = (cls + 1) * kGranule;
  if (g_small.region == nullptr || g_small.spans_used + 1 >= kSpans)
    return allocate_large(block);
  const size_t span = g_small.spans_used++;
  g_small.span_class[span] = static_cast<uint8_t>(cls);
  uint8_t* start = g_small.region + span * kSpanBytes;
  g_small.bump[cls] = start + block;
  g_small.bump_end[cls] = start + kSpanBytes / block * block;
  return start;
}

void* allocate(size_t bytes) {
  if (bytes - 1 >= kSmallMax) return allocate_large(bytes == 0 ? 1 : bytes);
  const size_t cls = (bytes - 1) / kGranule;
  if (FreeBlock* b = g_small.free[cls]) {
    g_small.free[cls] = b->next;
    return b;
  }
  if (g_small.bump[cls] != g_small.bump_end[cls]) {
    void* p = g_small.bump[cls];
    g_small.bump[cls] += (cls + 1) * kGranule;
    return p;
  }
  return allocate_small_slow(cls);
}

void deallocate(void* p) {
  if (p == nullptr) return;
  if (!in_region(p)) return std::free(p);
  const size_t span = static_cast<size_t>(static_cast<uint8_t*>(p) - g_small.region) / kSpanBytes;
  auto* b = static_cast<FreeBlock*>(p);
  FreeBlock*& head = g_small.free[g_small.span_class[span]];
  b->next = head;
  head = b;
}

void* allocate_aligned(size_t bytes, std::align_val_t align) {
  const auto a = static_cast<size_t>(align);
  if (a <= kGranule) return allocate(bytes);
  const size_t rounded = (bytes + a - 1) / a * a;
  for (;;) {
    if (void* p = std::aligned_alloc(a, rounded == 0 ? a : rounded)) return p;
    std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) throw std::bad_alloc();
    handler();
  }
}

}  // namespace

namespace workloads {
bool sim_operator_new_active() { return true; }
bool sim_small_block(const void* p) { return in_region(p); }
}  // namespace workloads

void* operator new(size_t bytes) { return allocate(bytes); }
void* operator new[](size_t bytes) { return allocate(bytes); }
void* operator new(size_t bytes, const std::nothrow_t&) noexcept {
  try {
    return allocate(bytes);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}
void* operator new[](size_t bytes, const std::nothrow_t&) noexcept {
  try {
    return allocate(bytes);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}
void* operator new(size_t bytes, std::align_val_t align) { return allocate_aligned(bytes, align); }
void* operator new[](size_t bytes, std::align_val_t align) {
  return allocate_aligned(bytes, align);
}
void* operator new(size_t bytes, std::align_val_t align, const std::nothrow_t&) noexcept {
  try {
    return allocate_aligned(bytes, align);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}
void* operator new[](size_t bytes, std::align_val_t align, const std::nothrow_t&) noexcept {
  try {
    return allocate_aligned(bytes, align);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}

// Every delete finds the block's kind from its address: a size passed in is not needed.
void operator delete(void* p) noexcept { deallocate(p); }
void operator delete[](void* p) noexcept { deallocate(p); }
void operator delete(void* p, size_t) noexcept { deallocate(p); }
void operator delete[](void* p, size_t) noexcept { deallocate(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { deallocate(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { deallocate(p); }
void operator delete(void* p, std::align_val_t) noexcept { deallocate(p); }
void operator delete[](void* p, std::align_val_t) noexcept { deallocate(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { deallocate(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { deallocate(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { deallocate(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  deallocate(p);
}

#else

namespace workloads {
bool sim_operator_new_active() { return false; }
bool sim_small_block(const void*) { return false; }
}  // namespace workloads

#endif
