#pragma once
// SlotTable<T> — pointers found in O(1) by a 64-bit id: a slot of a vector (the low half) and the
// slot's generation (the high half). Removing an entry bumps its slot's generation, so a stale id
// (its entry gone, even if the slot has been reused since) finds nothing. The transport keeps its
// endpoints and its channels in these. Single-threaded.

#include <cstdint>
#include <vector>

#include "flow/assert.h"

namespace net::detail {

template <class T>
class SlotTable {
 public:
  // Registers `p` (not null) and returns its id.
  uint64_t add(T* p) {
    ASSERT(p != nullptr);
    uint32_t index;
    if (!free_.empty()) {
      index = free_.back();
      free_.pop_back();
    } else {
      ASSERT_MSG(slots_.size() < UINT32_MAX, "slot table full");
      index = static_cast<uint32_t>(slots_.size());
      slots_.emplace_back();
    }
    Slot& slot = slots_[index];
    slot.entry = p;
    ++size_;
    return (static_cast<uint64_t>(slot.generation) << 32) | index;
  }
  // Unregisters `id`; returns false (and does nothing) if it names nothing.
  bool remove(uint64_t id) {
    if (find(id) == nullptr) return false;
    Slot& slot = slots_[static_cast<uint32_t>(id)];
    slot.entry = nullptr;
    ++slot.generation;  // the old id now finds nothing
    free_.push_back(static_cast<uint32_t>(id));
    --size_;
    return true;
  }
  T* find(uint64_t id) const {
    const auto index = static_cast<uint32_t>(id);
    if (index < slots_.size() && slots_[index].generation == (id >> 32)) return slots_[index].entry;
    return nullptr;
  }
  size_t size() const { return size_; }

 private:
  struct Slot {
    T* entry = nullptr;
    uint32_t generation = 0;
  };
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;  // reused last-freed first: the hot ones
  size_t size_ = 0;
};

}  // namespace net::detail
