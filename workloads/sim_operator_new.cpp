// The global operator new and delete of strata-sim (and of the tests that check them): blocks of up
// to 1 KiB come from per-size-class free lists, larger ones from malloc.
//
// Why: a simulation allocates and frees small objects (messages, strings, vectors, map nodes) at
// a furious rate, and glibc's malloc, whose per-thread cache holds only 7 blocks of each size, was
// a tenth of a database spec's profile (malloc, free, consolidation). Free lists without bound,
// no locking and no checks cost a few instructions.
//
// How: small blocks live in one reserved region of address space (up to 4 GiB, committed 2 MiB at
// a time), carved into 64 KiB spans, each span serving one size class (16-byte steps); a table
// indexed by span says a block's class, so delete needs no size and no header. Anything else (a
// larger block, an alignment above 16, a region that could not be reserved or committed or is
// used up) goes to malloc, and delete tells the two apart by address.
//
// What it costs: memory of freed small blocks is kept for its size class, never returned to the
// OS nor used for another class. A simulation is one short process whose mix of sizes holds
// steady (peak RSS 3-5 MiB above glibc's on the fast specs), but a program whose sizes drift
// through every class would hold far more than glibc. A double delete goes unnoticed (glibc often
// aborts): the sanitizer builds, which leave this out, are what catch it.
//
// Single-threaded, like the simulator: strata-sim runs no other thread. Under a sanitizer the
// replacement is left out, so that the sanitizer's own operator new keeps watching. Addresses
// never influence a run (STYLE.md), so the change of allocator changes no digest.

#include "workloads/sim_operator_new.h"

// GCC says a sanitizer is on with __SANITIZE_*__, clang with __has_feature.
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define STRATA_SANITIZER_ALLOCATOR 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || defined(STRATA_ASAN)
#define STRATA_SANITIZER_ALLOCATOR 1
#endif

#if !defined(STRATA_SANITIZER_ALLOCATOR)

#include <sys/mman.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace {

constexpr size_t kGranule = 16;
constexpr size_t kSmallMax = 1024;
constexpr size_t kClasses = kSmallMax / kGranule;
constexpr size_t kSpanBytes = size_t{64} << 10;
// The region is reserved as address space with no access and made usable 2 MiB at a time, as
// spans are needed: memory is committed (and a core dump holds it) only once blocks live there.
constexpr size_t kCommitBytes = size_t{2} << 20;
// At most this much address space, and at most an eighth of RLIMIT_AS where one is set; a
// simulation that needs more small blocks gets the rest from malloc.
constexpr size_t kRegionBytesMax = size_t{4} << 30;
constexpr size_t kRegionBytesMin = size_t{64} << 20;
constexpr size_t kSpansMax = kRegionBytesMax / kSpanBytes;

struct FreeBlock {
  FreeBlock* next;
};

struct SmallBlocks {
  uint8_t* region = nullptr;  // [region, region + usable), or null: everything to malloc
  size_t usable = 0;          // bytes of the region spans may take (whole spans)
  size_t committed = 0;       // bytes from region's start made readable and writable
  bool reserve_tried = false;
  size_t spans_used = 0;
  FreeBlock* free[kClasses] = {};
  uint8_t* bump[kClasses] = {};  // the unused rest of each class's current span
  uint8_t* bump_end[kClasses] = {};
  uint8_t span_class[kSpansMax] = {};
};

// Constant-initialized (no constructor runs), so it works for allocations made before main and
// during static destruction.
constinit SmallBlocks g_small;

size_t region_bytes() {
  rlimit limit{};
  if (getrlimit(RLIMIT_AS, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return kRegionBytesMax;
  return std::min<size_t>(kRegionBytesMax, limit.rlim_cur / 8 / kCommitBytes * kCommitBytes);
}

void reserve_region() {
  g_small.reserve_tried = true;
  const size_t bytes = region_bytes();
  if (bytes < kRegionBytesMin) return;
  // One commit step more than used, so that the start can be aligned to a commit step (and so
  // to a span: 64 KiB divides 2 MiB) inside the mapping.
  void* p = mmap(nullptr, bytes + kCommitBytes, PROT_NONE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return;  // malloc serves everything
  const auto start = reinterpret_cast<uintptr_t>(p);
  const uintptr_t aligned = (start + kCommitBytes - 1) & ~(kCommitBytes - 1);
  g_small.region = reinterpret_cast<uint8_t*>(aligned);
  g_small.usable = bytes;
}

// Makes the next commit step of the region usable; false if the kernel refuses (strict
// overcommit with no memory left to commit): malloc serves everything from then on.
bool commit_more() {
  if (g_small.committed + kCommitBytes > g_small.usable) return false;
  uint8_t* at = g_small.region + g_small.committed;
  if (mprotect(at, kCommitBytes, PROT_READ | PROT_WRITE) != 0) return false;
  // Blocks are dense: one fault per 2 MiB instead of one per 4 KiB where the kernel allows.
  (void)madvise(at, kCommitBytes, MADV_HUGEPAGE);
  g_small.committed += kCommitBytes;
  return true;
}

// Whether `p` is in the part of the region spans took.
bool in_region(const void* p) {
  const auto a = reinterpret_cast<uintptr_t>(p);
  const auto r = reinterpret_cast<uintptr_t>(g_small.region);
  return a - r < g_small.spans_used * kSpanBytes;  // below the region: wraps to a huge number
}

// Calls the new handler until `attempt` succeeds, as the standard asks of operator new.
template <class Attempt>
void* with_new_handler(Attempt attempt) {
  for (;;) {
    if (void* p = attempt()) return p;
    std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) throw std::bad_alloc();
    handler();
  }
}

void* allocate_large(size_t bytes) {
  return with_new_handler([bytes] { return std::malloc(bytes); });
}

void* allocate_small_slow(size_t cls) {
  if (!g_small.reserve_tried) reserve_region();
  const size_t block = (cls + 1) * kGranule;
  const size_t end = (g_small.spans_used + 1) * kSpanBytes;
  if (g_small.region == nullptr || (end > g_small.committed && !commit_more()))
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
  // glibc's aligned_alloc takes any size (no rounding up to the alignment, which could wrap).
  return with_new_handler([bytes, a] { return std::aligned_alloc(a, bytes == 0 ? a : bytes); });
}

// What a nothrow operator new returns: the block, or nullptr where the throwing one throws.
template <class Allocate>
void* or_null(Allocate allocate) noexcept {
  try {
    return allocate();
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}

}  // namespace

namespace workloads {
bool sim_operator_new_active() {
  if (!g_small.reserve_tried) reserve_region();
  return g_small.region != nullptr;
}
bool sim_small_block(const void* p) { return in_region(p); }
}  // namespace workloads

void* operator new(size_t bytes) { return allocate(bytes); }
void* operator new[](size_t bytes) { return allocate(bytes); }
void* operator new(size_t bytes, std::align_val_t align) { return allocate_aligned(bytes, align); }
void* operator new[](size_t bytes, std::align_val_t align) {
  return allocate_aligned(bytes, align);
}
void* operator new(size_t bytes, const std::nothrow_t&) noexcept {
  return or_null([bytes] { return allocate(bytes); });
}
void* operator new[](size_t bytes, const std::nothrow_t&) noexcept {
  return or_null([bytes] { return allocate(bytes); });
}
void* operator new(size_t bytes, std::align_val_t align, const std::nothrow_t&) noexcept {
  return or_null([bytes, align] { return allocate_aligned(bytes, align); });
}
void* operator new[](size_t bytes, std::align_val_t align, const std::nothrow_t&) noexcept {
  return or_null([bytes, align] { return allocate_aligned(bytes, align); });
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
