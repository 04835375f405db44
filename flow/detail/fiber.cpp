#include "flow/detail/fiber.h"

#include <sys/mman.h>

#include <cerrno>

#include <algorithm>

#include "flow/assert.h"

#if defined(STRATA_ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

namespace flow::detail {

namespace {

// Linux 6.13 and later; older C libraries do not name it yet.
constexpr int kMadvGuardInstall = 102;

// A fiber's last frames never return, so their redzones stay poisoned in ASan's shadow after the
// fiber ends; a stack reused (or carved again at the same address, with another colour) would
// trip over them. A stack handed out is clean.
void forget_old_frames([[maybe_unused]] const Stack& s) {
#if defined(STRATA_ASAN)
  __asan_unpoison_memory_region(s.bottom(), s.usable_bytes() + s.colour_bytes);
#endif
}

}  // namespace

StackPool::StackPool(size_t stack_bytes, size_t cached_max, GuardKind guards)
    : stack_bytes_((stack_bytes + Stack::kPageBytes - 1) / Stack::kPageBytes * Stack::kPageBytes),
      cached_max_(cached_max),
      per_slab_(std::clamp<size_t>(kSlabBytesMax / (stack_bytes_ + Stack::kPageBytes), 1,
                                   kStacksPerSlab)),
      guard_kind_(guards) {
  ASSERT_GE(stack_bytes_, 4 * Stack::kPageBytes);
}

StackPool::~StackPool() {
  // Unmapping a stack still in use would pull it from under its fiber.
  ASSERT_EQ(cache_.size() + returned_.size(), carved_);
  for (const Slab& slab : slabs_) ASSERT(munmap(slab.mapping, slab.bytes) == 0);
}

Stack StackPool::acquire() {
  std::vector<Stack>& from = !cache_.empty() ? cache_ : returned_;
  if (from.empty()) return carve();
  Stack s = from.back();
  from.pop_back();
  forget_old_frames(s);
  return s;
}

void StackPool::release(Stack s) {
  if (cache_.size() < cached_max_) {
    cache_.push_back(s);
    return;
  }
  // Keeps the address (a slab is unmapped whole) but not the memory: the pages a burst of actors
  // touched go back to the kernel and read as zeros if the stack is used again.
  (void)madvise(s.bottom(), s.usable_bytes() + s.colour_bytes, MADV_DONTNEED);
  returned_.push_back(s);
}

Stack StackPool::carve() {
  const size_t slot_bytes = stack_bytes_ + Stack::kPageBytes;
  if (slabs_.empty() || carved_from_last_ == per_slab_) {
    const size_t bytes = per_slab_ * slot_bytes;
    void* const mapping = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    ASSERT_MSG(mapping != MAP_FAILED, "cannot map {} fiber stacks of {} bytes ({} mapped)",
               per_slab_, stack_bytes_, carved_);
    // A 2 MiB huge page under a stack would make a parked actor cost megabytes.
    (void)madvise(mapping, bytes, MADV_NOHUGEPAGE);
    slabs_.push_back(Slab{mapping, bytes});
    carved_from_last_ = 0;
  }
  // From the top of the slab down, as the kernel places separate mappings: the next stack lies
  // just below the guard page of this one.
  const Slab& slab = slabs_.back();
  Stack s;
  s.mapping = static_cast<char*>(slab.mapping) + (per_slab_ - 1 - carved_from_last_) * slot_bytes;
  s.mapping_bytes = slot_bytes;
  // Steps of 7 lines visit all 64 cache lines of a page before repeating.
  s.colour_bytes = (carved_ * 7 % 64) * 64;
  s.guarded = guard(s.mapping);
  ++carved_from_last_;
  ++carved_;
  forget_old_frames(s);
  return s;
}

bool StackPool::guard(void* page) {
  if (guard_kind_ == GuardKind::kGuardRegion) {
    if (madvise(page, Stack::kPageBytes, kMadvGuardInstall) == 0) return true;
    ASSERT_MSG(errno != ENOMEM, "cannot install a fiber stack's guard page: out of memory");
    // An older kernel (EINVAL), a locked mapping (EINVAL), or a filter that refuses advice it
    // does not know (EPERM, ENOSYS): mprotect guards from here on.
    guard_kind_ = GuardKind::kMprotect;
  }
  if (guarded_ >= kGuardedStacksMax) return false;
  ASSERT(mprotect(page, Stack::kPageBytes, PROT_NONE) == 0);
  ++guarded_;
  return true;
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
