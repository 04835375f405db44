// PagedBytes, the simulated file's contents: it must read back exactly what a plain byte vector
// would, while holding no memory for what was never written and sharing pages between copies.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>

#include "flow/deterministic_random.h"
#include "sim/paged_bytes.h"

using sim::PagedBytes;

namespace {

constexpr size_t kPage = PagedBytes::kPageBytes;

std::vector<uint8_t> random_bytes(flow::DeterministicRandom& rng, size_t n) {
  std::vector<uint8_t> out(n);
  for (auto& b : out)
    b = static_cast<uint8_t>(rng.random_int(0, 256));
  return out;
}

}  // namespace

TEST_CASE("paged bytes: growth reads as zeros and holds no memory") {
  PagedBytes b;
  b.resize(64 << 20);
  CHECK(b.size() == size_t{64} << 20);
  CHECK(b.held_pages() == 0);
  std::vector<uint8_t> out(3 * kPage, 0xAA);
  b.read(5 * kPage + 7, out);
  CHECK(std::all_of(out.begin(), out.end(), [](uint8_t x) { return x == 0; }));
  const std::vector<uint8_t> one = {1, 2, 3};
  b.write(10 * kPage - 1, one);  // spans two pages
  CHECK(b.held_pages() == 2);
  CHECK(b.at(10 * kPage - 1) == 1);
  CHECK(b.at(10 * kPage + 1) == 3);
}

TEST_CASE("paged bytes: an empty write past the end grows the file, as a file's would") {
  PagedBytes b(std::vector<uint8_t>(10, 1));
  b.write(kPage + 5, std::span<const uint8_t>());
  CHECK(b.size() == kPage + 5);
  CHECK(b.at(kPage + 4) == 0);
  CHECK(b.held_pages() == 1);
  b.write(3, std::span<const uint8_t>());  // inside: nothing changes
  CHECK(b.size() == kPage + 5);
}

TEST_CASE("paged bytes: a truncation forgets the tail, and regrowth reads zeros there") {
  PagedBytes b(std::vector<uint8_t>(3 * kPage, 0xFF));
  b.resize(kPage + 10);
  CHECK(b.held_pages() == 2);
  b.resize(3 * kPage);
  CHECK(b.at(kPage + 9) == 0xFF);
  CHECK(b.at(kPage + 10) == 0);
  CHECK(b.at(3 * kPage - 1) == 0);
  // The same through a shared page: the copy keeps its tail.
  PagedBytes full(std::vector<uint8_t>(2 * kPage, 0x11));
  PagedBytes copy = full;
  copy.resize(kPage + 1);
  copy.resize(2 * kPage);
  CHECK(copy.at(kPage + 1) == 0);
  CHECK(full.at(kPage + 1) == 0x11);
}

TEST_CASE("paged bytes: copies share pages and never see each other's writes") {
  PagedBytes a(std::vector<uint8_t>(4 * kPage, 7));
  PagedBytes b = a;
  CHECK(a == b);
  b.write(kPage + 3, std::vector<uint8_t>{9});
  CHECK(a.at(kPage + 3) == 7);
  CHECK(b.at(kPage + 3) == 9);
  CHECK_FALSE(a == b);
  a.flip_bits(0, 0x80);
  CHECK(a.at(0) == (7 ^ 0x80));
  CHECK(b.at(0) == 7);
}

TEST_CASE("paged bytes: copy_range_from copies exactly the range, whole pages or parts") {
  PagedBytes from(std::vector<uint8_t>(5 * kPage + 100, 0x33));
  PagedBytes to;
  to.resize(5 * kPage + 100);
  to.copy_range_from(from, kPage - 5, 4 * kPage + 5);
  CHECK(to.at(kPage - 6) == 0);
  CHECK(to.at(kPage - 5) == 0x33);
  CHECK(to.at(4 * kPage + 4) == 0x33);
  CHECK(to.at(4 * kPage + 5) == 0);
  // A later write to the source does not reach the copy's shared pages.
  from.write(2 * kPage, std::vector<uint8_t>{1});
  CHECK(to.at(2 * kPage) == 0x33);
}

TEST_CASE("paged bytes: random operations read back as a byte vector does") {
  const uint64_t seed = 1;
  std::printf("paged bytes model check: seeds %llu..%llu\n", static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(seed + 39));
  for (uint64_t round = 0; round < 40; ++round) {
    flow::DeterministicRandom rng(seed + round);
    CAPTURE(seed + round);
    PagedBytes b, snapshot;
    std::vector<uint8_t> model, snapshot_model;
    for (int op = 0; op < 300; ++op) {
      const size_t limit = 6 * kPage;
      switch (rng.random_int(0, 7)) {
        case 0: {
          const auto n = static_cast<size_t>(rng.random_int(0, static_cast<int64_t>(limit)));
          b.resize(n);
          model.resize(n, 0);
          break;
        }
        case 1:
        case 2: {
          const auto at = static_cast<size_t>(rng.random_int(0, static_cast<int64_t>(limit)));
          const auto bytes = random_bytes(rng, static_cast<size_t>(rng.random_int(0, 2 * kPage)));
          b.write(at, bytes);
          if (model.size() < at + bytes.size()) model.resize(at + bytes.size(), 0);
          std::copy(bytes.begin(), bytes.end(), model.begin() + static_cast<std::ptrdiff_t>(at));
          break;
        }
        case 3:
          snapshot = b;
          snapshot_model = model;
          break;
        case 4: {
          const size_t hi_max = std::min(b.size(), snapshot.size());
          const auto hi = static_cast<size_t>(rng.random_int(0, static_cast<int64_t>(hi_max) + 1));
          const auto lo = static_cast<size_t>(rng.random_int(0, static_cast<int64_t>(hi) + 1));
          b.copy_range_from(snapshot, lo, hi);
          std::copy(snapshot_model.begin() + static_cast<std::ptrdiff_t>(lo),
                    snapshot_model.begin() + static_cast<std::ptrdiff_t>(hi),
                    model.begin() + static_cast<std::ptrdiff_t>(lo));
          break;
        }
        case 5:
          if (!model.empty()) {
            const auto at =
                static_cast<size_t>(rng.random_int(0, static_cast<int64_t>(model.size())));
            b.flip_bits(at, 0x10);
            model[at] ^= 0x10;
          }
          break;
        default: {
          if (model.empty()) break;
          const auto at =
              static_cast<size_t>(rng.random_int(0, static_cast<int64_t>(model.size())));
          const auto n =
              static_cast<size_t>(rng.random_int(0, static_cast<int64_t>(model.size() - at) + 1));
          std::vector<uint8_t> out(n, 0xEE);
          b.read(at, out);
          REQUIRE(
              std::equal(out.begin(), out.end(), model.begin() + static_cast<std::ptrdiff_t>(at)));
        }
      }
      REQUIRE(b.size() == model.size());
      REQUIRE(snapshot.to_vector() == snapshot_model);
    }
    REQUIRE(b.to_vector() == model);
    REQUIRE((b == PagedBytes(model)));
    size_t chunked = 0;
    b.for_each_chunk([&](std::span<const uint8_t> chunk) {
      REQUIRE(std::equal(chunk.begin(), chunk.end(),
                         model.begin() + static_cast<std::ptrdiff_t>(chunked)));
      chunked += chunk.size();
    });
    REQUIRE(chunked == model.size());
  }
}
