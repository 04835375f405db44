#pragma once
// KeyIndex — the memory engine's hash index: each key of its std::map to the map's entry, so that
// a point read costs a cache miss or two instead of a walk of some twenty tree nodes. Only
// storage/memory_key_value_store.cpp and the storage tests include this.
//
// Open addressing with linear probing over a power-of-two array of (hash, entry) slots, 16 bytes
// each, at most 3/4 full: it doubles at that and shrinks to a quarter below 1/16. Some 20 to 45
// bytes a key as it grows, and no allocation per key. The slot keeps the key's full hash, so a
// probe touches an entry only when the hashes match. Deletion shifts the probe run back (no
// tombstones). The caller hashes (the engine uses XXH3-64) and owns the entries; the index only
// points at them.
//
// Nothing iterates the index (only growth and shrinking walk the slots, to place them again), so
// its order can never reach a result or the simulator's determinism. Not thread-safe.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "flow/assert.h"
#include "flow/huge_page_heap.h"

namespace storage::detail {

// Entry: anything with `std::string_view key() const`.
template <class Entry>
class KeyIndex {
 public:
  // The entry whose key is `key` (with hash `hash`), or nullptr.
  Entry* find(std::string_view key, uint64_t hash) const {
    if (slots_.empty()) return nullptr;
    for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.entry == nullptr) return nullptr;
      if (s.hash == hash && s.entry->key() == key) return s.entry;
    }
  }

  // Points the slot of the entry with key `key` (hash `hash`) at `entry`, which has the same key.
  // REQUIRES: the index holds an entry with that key.
  void replace(std::string_view key, uint64_t hash, Entry* entry) {
    ASSERT(entry != nullptr && entry->key() == key);
    ASSERT(!slots_.empty());
    for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      ASSERT(s.entry != nullptr);
      if (s.hash == hash && s.entry->key() == key) {
        s.entry = entry;
        return;
      }
    }
  }

  // Adds `entry`, whose key hashes to `hash`. REQUIRES: no entry with that key is in the index.
  void insert(uint64_t hash, Entry* entry) {
    ASSERT(entry != nullptr);
    if ((size_ + 1) * 4 > slots_.size() * 3) resize(slots_.empty() ? kSlotsMin : 2 * slots_.size());
    place(hash, entry);
    ++size_;
  }

  // Removes the entry with key `key` (hash `hash`); returns whether there was one.
  bool erase(std::string_view key, uint64_t hash) {
    if (slots_.empty()) return false;
    size_t hole = hash & mask_;
    for (;; hole = (hole + 1) & mask_) {
      const Slot& s = slots_[hole];
      if (s.entry == nullptr) return false;
      if (s.hash == hash && s.entry->key() == key) break;
    }
    // Shift back every later slot of the run that may sit at the hole: one whose home slot is not
    // between the hole and itself.
    for (size_t j = (hole + 1) & mask_; slots_[j].entry != nullptr; j = (j + 1) & mask_) {
      const size_t home = slots_[j].hash & mask_;
      if (((j - home) & mask_) >= ((j - hole) & mask_)) {
        slots_[hole] = slots_[j];
        hole = j;
      }
    }
    slots_[hole] = Slot{};
    --size_;
    if (slots_.size() > kSlotsMin && size_ * 16 < slots_.size()) resize(slots_.size() / 4);
    return true;
  }

  size_t size() const { return size_; }
  size_t slot_count() const { return slots_.size(); }

 private:
  struct Slot {
    uint64_t hash = 0;
    Entry* entry = nullptr;  // nullptr: empty
  };
  static constexpr size_t kSlotsMin = 16;

  void place(uint64_t hash, Entry* entry) {
    size_t i = hash & mask_;
    while (slots_[i].entry != nullptr)
      i = (i + 1) & mask_;
    slots_[i] = Slot{hash, entry};
  }

  // Places every entry again in `count` slots (a power of two).
  void resize(size_t count) {
    ASSERT((count & (count - 1)) == 0);
    ASSERT_GE(count * 3, size_ * 4);
    Slots old = std::exchange(slots_, Slots(count));
    mask_ = count - 1;
    for (const Slot& s : old)
      if (s.entry != nullptr) place(s.hash, s.entry);
  }

  // Large arrays: from the huge-page heap, so growing to millions of slots costs few faults.
  using Slots = std::vector<Slot, flow::HugePageAllocator<Slot>>;
  Slots slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

static_assert(sizeof(void*) == 8, "a slot is a 64-bit hash and a pointer: 16 bytes");

}  // namespace storage::detail
