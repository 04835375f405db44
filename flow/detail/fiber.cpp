#include "flow/detail/fiber.h"

#include <sys/mman.h>

#include <algorithm>
#include <functional>

#include "flow/assert.h"

#if defined(STRATA_ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

namespace flow::detail {

StackPool::StackPool(size_t stack_bytes, size_t cached_max)
    : stack_bytes_((stack_bytes + Stack::kPageBytes - 1) / Stack::kPageBytes * Stack::kPageBytes),
      cached_max_(cached_max) {
  ASSERT_GE(stack_bytes_, 4 * Stack::kPageBytes);
}

StackPool::~StackPool() {
  // Neighbouring mappings are unmapped together: each munmap costs a TLB shootdown, and a pool
  // of thousands of cached stacks unmapped one by one took a tenth of a short simulation's time.
  // (Address order here decides nothing a run can observe.)
  std::sort(cache_.begin(), cache_.end(),
            [](const Stack& a, const Stack& b) { return std::less<>{}(a.mapping, b.mapping); });
  for (size_t i = 0; i < cache_.size();) {
    char* const start = static_cast<char*>(cache_[i].mapping);
    char* end = start;
    for (; i < cache_.size() && cache_[i].mapping == end; ++i) {
      end += cache_[i].mapping_bytes;
      if (cache_[i].guarded) --guarded_;
      --mapped_;
    }
    ASSERT(munmap(start, static_cast<size_t>(end - start)) == 0);
  }
  cache_.clear();
  ASSERT_EQ(mapped_, 0u);
}

// A fiber's last frames never return, so their redzones stay poisoned in ASan's shadow after the
// fiber ends; a stack reused (or mapped again at the same address, with another colour) would
// trip over them. A stack handed out is clean.
namespace {
void forget_old_frames([[maybe_unused]] const Stack& s) {
#if defined(STRATA_ASAN)
  __asan_unpoison_memory_region(s.bottom(), s.usable_bytes() + s.colour_bytes);
#endif
}
}  // namespace

Stack StackPool::acquire() {
  if (!cache_.empty()) {
    Stack s = cache_.back();
    cache_.pop_back();
    forget_old_frames(s);
    return s;
  }
  Stack s;
  s.guarded = guarded_ < kGuardedStacksMax;
  s.mapping_bytes = stack_bytes_ + (s.guarded ? Stack::kPageBytes : 0);
  // Steps of 7 lines visit all 64 cache lines of a page before repeating.
  s.colour_bytes = (maps_total_++ * 7 % 64) * 64;
  s.mapping = mmap(nullptr, s.mapping_bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  ASSERT_MSG(s.mapping != MAP_FAILED, "cannot map a fiber stack of {} bytes ({} mapped)",
             s.mapping_bytes, mapped_);
  // A 2 MiB huge page per stack would make a parked actor cost megabytes.
  (void)madvise(s.mapping, s.mapping_bytes, MADV_NOHUGEPAGE);
  if (s.guarded) {
    ASSERT(mprotect(s.mapping, Stack::kPageBytes, PROT_NONE) == 0);
    ++guarded_;
  }
  ++mapped_;
  forget_old_frames(s);
  return s;
}

void StackPool::release(Stack s) {
  if (cache_.size() < cached_max_) {
    cache_.push_back(s);
  } else {
    unmap(s);
  }
}

void StackPool::unmap(Stack s) {
  ASSERT(munmap(s.mapping, s.mapping_bytes) == 0);
  if (s.guarded) --guarded_;
  --mapped_;
}

#if defined(STRATA_ASAN)
Transfer switch_to(const ContextSide& to, void* data, void** fake_stack, bool leaving_forever) {
  __sanitizer_start_switch_fiber(leaving_forever ? nullptr : fake_stack, to.stack_bottom,
                                 to.stack_bytes);
  return boost::context::detail::jump_fcontext(to.ctx, data);
}

void arrived(void* fake_stack, ContextSide* from) {
  const void* bottom = nullptr;
  size_t bytes = 0;
  __sanitizer_finish_switch_fiber(fake_stack, &bottom, &bytes);
  if (from != nullptr) {
    from->stack_bottom = bottom;
    from->stack_bytes = bytes;
  }
}
#endif

FContext make_context(const Stack& s, void (*entry)(Transfer)) {
  return boost::context::detail::make_fcontext(s.top(), s.usable_bytes(), entry);
}

}  // namespace flow::detail
