#include "sim/paged_bytes.h"

#include <algorithm>
#include <cstring>

#include "flow/assert.h"

namespace sim {

PagedBytes::PagedBytes(std::span<const uint8_t> bytes) {
  write(0, bytes);
}

const PagedBytes::Page& PagedBytes::zero_page() {
  static const Page zeros{};
  return zeros;
}

PagedBytes::Page& PagedBytes::writable(size_t index) {
  std::shared_ptr<Page>& page = pages_[index];
  if (!page) {
    page = std::make_shared<Page>();  // value-initialized: zeros
  } else if (page.use_count() > 1) {
    page = std::make_shared<Page>(*page);
  }
  return *page;
}

void PagedBytes::resize(size_t size) {
  if (size < size_) {
    pages_.resize((size + kPageBytes - 1) / kPageBytes);
    // Keep the invariant: what the last page holds past the new end reads as zeros when regrown.
    const size_t tail = size % kPageBytes;
    if (tail != 0 && pages_.back()) {
      Page& last = writable(pages_.size() - 1);
      std::memset(last.data() + tail, 0, kPageBytes - tail);
    }
  } else {
    pages_.resize((size + kPageBytes - 1) / kPageBytes);
  }
  size_ = size;
}

void PagedBytes::write(size_t offset, std::span<const uint8_t> bytes) {
  const size_t end = offset + bytes.size();
  if (end > size_) resize(end);  // an empty write past the end grows the file too
  size_t done = 0;
  while (done < bytes.size()) {
    const size_t at = offset + done;
    const size_t in_page = at % kPageBytes;
    const size_t n = std::min(kPageBytes - in_page, bytes.size() - done);
    std::memcpy(writable(at / kPageBytes).data() + in_page, bytes.data() + done, n);
    done += n;
  }
}

void PagedBytes::read(size_t offset, std::span<uint8_t> out) const {
  ASSERT_LE(offset + out.size(), size_);
  size_t done = 0;
  while (done < out.size()) {
    const size_t at = offset + done;
    const size_t in_page = at % kPageBytes;
    const size_t n = std::min(kPageBytes - in_page, out.size() - done);
    const Page* page = pages_[at / kPageBytes].get();
    if (page) {
      std::memcpy(out.data() + done, page->data() + in_page, n);
    } else {
      std::memset(out.data() + done, 0, n);
    }
    done += n;
  }
}

void PagedBytes::copy_range_from(const PagedBytes& from, size_t lo, size_t hi) {
  ASSERT_LE(lo, hi);
  ASSERT_LE(hi, size_);
  ASSERT_LE(hi, from.size_);
  size_t at = lo;
  while (at < hi) {
    const size_t index = at / kPageBytes;
    const size_t in_page = at % kPageBytes;
    const size_t n = std::min(kPageBytes - in_page, hi - at);
    const bool whole_page = in_page == 0 && n == kPageBytes;
    // A whole page is shared; so is the last page when both end at hi (its zero tails agree).
    if (whole_page || (in_page == 0 && hi == size_ && hi == from.size_)) {
      pages_[index] = from.pages_[index];
    } else {
      const Page* source = from.pages_[index].get();
      if (source || pages_[index]) {
        Page& target = writable(index);
        if (source) {
          std::memcpy(target.data() + in_page, source->data() + in_page, n);
        } else {
          std::memset(target.data() + in_page, 0, n);
        }
      }
    }
    at += n;
  }
}

uint8_t PagedBytes::at(size_t index) const {
  ASSERT_LT(index, size_);
  const Page* page = pages_[index / kPageBytes].get();
  return page ? (*page)[index % kPageBytes] : 0;
}

void PagedBytes::flip_bits(size_t index, uint8_t mask) {
  ASSERT_LT(index, size_);
  writable(index / kPageBytes)[index % kPageBytes] ^= mask;
}

std::vector<uint8_t> PagedBytes::to_vector() const {
  std::vector<uint8_t> out(size_);
  read(0, out);
  return out;
}

size_t PagedBytes::held_pages() const {
  return static_cast<size_t>(std::count_if(pages_.begin(), pages_.end(),
                                           [](const auto& page) { return page != nullptr; }));
}

bool PagedBytes::operator==(const PagedBytes& other) const {
  if (size_ != other.size_) return false;
  for (size_t i = 0; i < pages_.size(); ++i) {
    const Page* a = pages_[i].get();
    const Page* b = other.pages_[i].get();
    if (a == b) continue;
    // Past size_ both pages hold zeros, so whole pages compare.
    if (std::memcmp(a ? a->data() : zero_page().data(), b ? b->data() : zero_page().data(),
                    kPageBytes) != 0)
      return false;
  }
  return true;
}

}  // namespace sim
