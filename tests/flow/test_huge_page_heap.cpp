// The huge-page heap: blocks never overlap, keep their bytes, and are reused; large blocks are
// whole mappings; containers work on it.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <set>
#include <vector>

#include "flow/deterministic_random.h"
#include "flow/huge_page_heap.h"

namespace {

bool aligned16(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0;
}

}  // namespace

TEST_CASE("huge page heap: blocks of every size keep their bytes among many others") {
  const uint64_t seed = 20261129;
  INFO("seed " << seed);
  flow::DeterministicRandom rng(seed);
  struct Block {
    uint8_t* p;
    size_t bytes;
    uint8_t fill;
  };
  std::vector<Block> live;
  auto check = [](const Block& b) {
    for (size_t i = 0; i < b.bytes; ++i)
      if (b.p[i] != static_cast<uint8_t>(b.fill + i)) return false;
    return true;
  };
  for (int step = 0; step < 20000; ++step) {
    if (!live.empty() && rng.random_bool(0.45)) {
      const auto at = static_cast<size_t>(rng.random_int(0, static_cast<int64_t>(live.size())));
      REQUIRE(check(live[at]));
      flow::huge_page_free(live[at].p, live[at].bytes);
      live[at] = live.back();
      live.pop_back();
    } else {
      // Mostly small blocks, now and then a large one (its own mapping).
      const size_t bytes = rng.random_bool(0.01)
                               ? static_cast<size_t>(rng.random_int(1025, 5 << 20))
                               : static_cast<size_t>(rng.random_int(0, 1025));
      auto* p = static_cast<uint8_t*>(flow::huge_page_allocate(bytes));
      REQUIRE(p != nullptr);
      CHECK(aligned16(p));
      const auto fill = static_cast<uint8_t>(rng.random_int(0, 256));
      for (size_t i = 0; i < bytes; ++i)
        p[i] = static_cast<uint8_t>(fill + i);
      live.push_back({p, bytes, fill});
    }
  }
  for (const Block& b : live) {
    CHECK(check(b));  // nothing written later overlapped it
    flow::huge_page_free(b.p, b.bytes);
  }
}

#if !defined(STRATA_ASAN)
TEST_CASE("huge page heap: a freed small block is the next one of its size; large ones align") {
  void* a = flow::huge_page_allocate(100);
  flow::huge_page_free(a, 100);
  CHECK(flow::huge_page_allocate(97) == a);  // the same 16-byte size class
  flow::huge_page_free(a, 97);
  void* big = flow::huge_page_allocate(size_t{6} << 20);
  CHECK(reinterpret_cast<uintptr_t>(big) % (size_t{2} << 20) == 0);
  std::memset(big, 0x5a, size_t{6} << 20);
  flow::huge_page_free(big, size_t{6} << 20);
}
#endif

TEST_CASE("huge page heap: standard containers work on it") {
  std::set<int, std::less<>, flow::HugePageAllocator<int>> s;
  std::set<int> model;
  std::vector<uint64_t, flow::HugePageAllocator<uint64_t>> v;
  for (int i = 0; i < 100000; ++i) {
    const int k = (i * 7919) % 50021;
    if (i % 3 == 2) {
      s.erase(k);
      model.erase(k);
    } else {
      s.insert(k);
      model.insert(k);
    }
    v.push_back(static_cast<uint64_t>(i) * 3);
  }
  CHECK(std::equal(s.begin(), s.end(), model.begin(), model.end()));
  for (size_t i = 0; i < v.size(); ++i)
    REQUIRE(v[i] == i * 3);
}
