// The fiber stack pool: stacks carved from slabs, each with a guard page under it, reused, and
// given back to the kernel beyond the pool's bound.
#include <sys/mman.h>

#include <csignal>
#include <cstring>
#include <vector>

#include <doctest/doctest.h>

#include "flow/detail/fiber.h"
#include "tests/flow/child_process.h"

namespace flow::detail {
namespace {

using flow::testing::ChildResult;
using flow::testing::run_in_child;

TEST_CASE("stacks carved from one slab do not overlap and each sits above its own guard page") {
  StackPool pool(256 * 1024, 64);
  std::vector<Stack> stacks;
  for (size_t i = 0; i < kStacksPerSlab + 1; ++i) stacks.push_back(pool.acquire());
  CHECK(pool.slabs() == 2);  // one more stack than a slab holds
  CHECK(pool.mapped() == kStacksPerSlab + 1);
  for (size_t i = 0; i < stacks.size(); ++i) {
    const Stack& a = stacks[i];
    CHECK(a.guarded);
    CHECK(a.usable_bytes() + a.colour_bytes == 256 * 1024);
    CHECK(a.bottom() == static_cast<char*>(a.mapping) + Stack::kPageBytes);
    // Every byte of the stack can be written.
    std::memset(a.bottom(), 0xab, a.usable_bytes());
    for (size_t j = i + 1; j < stacks.size(); ++j) {
      const Stack& b = stacks[j];
      const auto* a_lo = static_cast<const char*>(a.mapping);
      const auto* b_lo = static_cast<const char*>(b.mapping);
      CHECK((a_lo + a.mapping_bytes <= b_lo || b_lo + b.mapping_bytes <= a_lo));
    }
  }
  // The second stack of a slab lies just below the first one's guard page, as an overflow of the
  // first would find it without the guard.
  CHECK(static_cast<char*>(stacks[1].mapping) + stacks[1].mapping_bytes == stacks[0].mapping);
  for (const Stack& s : stacks) pool.release(s);
}

TEST_CASE("a write into a stack's guard page faults, for a stack in the middle of a slab") {
  for (const size_t victim : {size_t{0}, size_t{5}, kStacksPerSlab - 1}) {
    CAPTURE(victim);
    const ChildResult r = run_in_child([victim] {
      // No Runtime here, so no overflow handler: the fault ends the child with SIGSEGV.
      (void)std::signal(SIGSEGV, SIG_DFL);
      StackPool pool(64 * 1024, 0);
      std::vector<Stack> stacks;
      for (size_t i = 0; i < kStacksPerSlab; ++i) stacks.push_back(pool.acquire());
      // The last byte below the stack: where an overflow writes first.
      volatile char* const below = stacks[victim].bottom() - 1;
      *below = 1;
      std::_Exit(0);  // not reached when the guard holds
    });
    CHECK(r.signal == SIGSEGV);
  }
}

TEST_CASE("a released stack is the next one handed out, without carving another") {
  StackPool pool(64 * 1024, 4);
  const Stack a = pool.acquire();
  const Stack b = pool.acquire();
  pool.release(a);
  CHECK(pool.cached() == 1);
  const Stack c = pool.acquire();
  CHECK(c.mapping == a.mapping);
  CHECK(pool.mapped() == 2);
  pool.release(b);
  pool.release(c);
}

TEST_CASE("beyond the pool's bound, a released stack gives its pages back and reads as zeros") {
  StackPool pool(64 * 1024, 0);
  const Stack a = pool.acquire();
  a.top()[-1] = 42;
  pool.release(a);
  CHECK(pool.cached() == 0);
  const Stack again = pool.acquire();
  CHECK(again.mapping == a.mapping);  // its place in the slab is reused
  CHECK(pool.mapped() == 1);
  CHECK(again.top()[-1] == 0);
  pool.release(again);
}

TEST_CASE("with guard regions, every stack of a population past the mprotect limit is guarded") {
  StackPool pool(64 * 1024, 0);
  const Stack first = pool.acquire();
  if (pool.guard_kind() != GuardKind::kGuardRegion) {
    MESSAGE("this kernel has no guard regions (Linux 6.13+): stacks use mprotect guards");
    pool.release(first);
    return;
  }
  std::vector<Stack> stacks{first};
  for (size_t i = 1; i < kGuardedStacksMax + 100; ++i) stacks.push_back(pool.acquire());
  size_t guarded = 0;
  for (const Stack& s : stacks) guarded += s.guarded ? 1 : 0;
  CHECK(guarded == stacks.size());
  for (const Stack& s : stacks) pool.release(s);
}

TEST_CASE("with mprotect guards (a kernel without guard regions), stacks past the limit run unguarded") {
  StackPool pool(64 * 1024, 0, GuardKind::kMprotect);
  std::vector<Stack> stacks;
  for (size_t i = 0; i < kGuardedStacksMax + 100; ++i) stacks.push_back(pool.acquire());
  CHECK(pool.guard_kind() == GuardKind::kMprotect);
  size_t guarded = 0;
  for (const Stack& s : stacks) guarded += s.guarded ? 1 : 0;
  // Each mprotect guard splits a slab's mapping: more would near the kernel's mapping limit.
  CHECK(guarded == kGuardedStacksMax);
  CHECK(stacks.front().guarded);
  CHECK_FALSE(stacks.back().guarded);
  // An unguarded stack's slot page is part of its usable range.
  CHECK(stacks.back().bottom() == stacks.back().mapping);
  for (const Stack& s : stacks) pool.release(s);
}

TEST_CASE("an mprotect guard faults like a guard region, in the middle of a slab") {
  const ChildResult r = run_in_child([] {
    (void)std::signal(SIGSEGV, SIG_DFL);
    StackPool pool(64 * 1024, 0, GuardKind::kMprotect);
    std::vector<Stack> stacks;
    for (size_t i = 0; i < kStacksPerSlab; ++i) stacks.push_back(pool.acquire());
    volatile char* const below = stacks[5].bottom() - 1;
    *below = 1;
    std::_Exit(0);  // not reached when the guard holds
  });
  CHECK(r.signal == SIGSEGV);
}

TEST_CASE("large stacks come fewer to a slab") {
  StackPool pool(size_t{16} << 20, 0);
  const Stack a = pool.acquire();
  const Stack b = pool.acquire();
  const Stack c = pool.acquire();
  const Stack d = pool.acquire();
  // 64 MiB slabs hold three stacks of 16 MiB and a guard page each.
  CHECK(pool.slabs() == 2);
  for (const Stack& s : {a, b, c, d}) pool.release(s);
}

}  // namespace
}  // namespace flow::detail
