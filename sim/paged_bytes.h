#pragma once
// PagedBytes — the contents of one simulated file: a byte string of any length stored as
// fixed-size pages, where a page never written holds no memory and reads as zeros.
//
// Why not a std::vector<uint8_t>: the storage engines preallocate their files (a disk queue grows
// each file to its full size before writing), so a dense buffer zero-fills and page-faults
// megabytes no one reads. That was over a third of a database spec's wall time. Pages are also
// shared between copies (copy-on-write), so the simulated disk's durable and current images, and
// a workload's copy of a whole medium, share what they have in common instead of copying it.
//
// Single-threaded, like the simulator; copies are values (writing one never changes another).

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace sim {

class PagedBytes {
 public:
  static constexpr size_t kPageBytes = 4096;

  PagedBytes() = default;
  // The bytes of `bytes`, copied.
  explicit PagedBytes(std::span<const uint8_t> bytes);

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Growth reads as zeros (and costs no page); shrinking forgets the bytes past `size`.
  void resize(size_t size);
  // Copies `bytes` in at `offset`, growing to `offset + bytes.size()` if shorter.
  void write(size_t offset, std::span<const uint8_t> bytes);
  // Copies [offset, offset + out.size()) into `out`. REQUIRES: that range is inside size().
  void read(size_t offset, std::span<uint8_t> out) const;
  // Makes [lo, hi) equal to the same range of `from`, sharing whole pages.
  // REQUIRES: lo <= hi <= size() and hi <= from.size().
  void copy_range_from(const PagedBytes& from, size_t lo, size_t hi);

  // REQUIRES: index < size().
  uint8_t at(size_t index) const;
  void flip_bits(size_t index, uint8_t mask);

  // Calls f(std::span<const uint8_t>) on the contents in order, a page or less at a time.
  template <typename F>
  void for_each_chunk(F&& f) const {
    for (size_t offset = 0; offset < size_; offset += kPageBytes) {
      const size_t n = std::min(kPageBytes, size_ - offset);
      const Page* page = pages_[offset / kPageBytes].get();
      f(std::span<const uint8_t>(page ? page->data() : zero_page().data(), n));
    }
  }

  std::vector<uint8_t> to_vector() const;
  // Pages that hold memory (written at least once since their last truncation), shared or not.
  size_t held_pages() const;
  bool operator==(const PagedBytes& other) const;

 private:
  using Page = std::array<uint8_t, kPageBytes>;
  static const Page& zero_page();
  // The page at `index`, allocated (zeros) if absent and copied if shared: safe to write.
  Page& writable(size_t index);

  // pages_.size() == ceil(size_ / kPageBytes). A null page is all zeros. Invariant: the bytes of
  // the last page past size_ are zero, so growth needs no work.
  std::vector<std::shared_ptr<Page>> pages_;
  size_t size_ = 0;
};

}  // namespace sim
