// The storage engines' on-disk record structs (storage/detail/*_format.h) and the memory engine's
// hash index and entries (storage/detail/key_index.h, memory_entry.h): records encode to the
// documented bytes and decode back, the index agrees with a std::map under random inserts,
// finds, replacements and erases, and an entry keeps its key and value in one allocation.
#include <doctest/doctest.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <xxhash.h>

#include "flow/deterministic_random.h"
#include "storage/detail/key_index.h"
#include "storage/detail/logged_page_file_format.h"
#include "storage/detail/memory_entry.h"
#include "storage/detail/memory_store_format.h"

using storage::detail::MemoryEntry;
using storage::detail::MemoryEntryPtr;
using storage::detail::MemoryOpHeader;
using storage::detail::MemoryOpType;
using storage::detail::PageCountRecord;
using storage::detail::PageLogRecordType;
using storage::detail::PageRecordHeader;
using storage::detail::RollbackRecord;

TEST_CASE("formats: a memory engine operation is type, two little-endian lengths, no padding") {
  const MemoryOpHeader h{static_cast<uint8_t>(MemoryOpType::kClear), 0x01020304, 0x0a0b0c0d};
  uint8_t bytes[MemoryOpHeader::kBytes];
  h.encode(bytes);
  const uint8_t expected[] = {2, 0x04, 0x03, 0x02, 0x01, 0x0d, 0x0c, 0x0b, 0x0a};
  CHECK(std::memcmp(bytes, expected, sizeof expected) == 0);
  const MemoryOpHeader back = MemoryOpHeader::decode(bytes);
  CHECK(back.type == h.type);
  CHECK(back.a_bytes == h.a_bytes);
  CHECK(back.b_bytes == h.b_bytes);
  CHECK(back.op_bytes() == MemoryOpHeader::kBytes + 0x01020304ull + 0x0a0b0c0dull);
}

TEST_CASE("formats: page log records are type then a little-endian number") {
  uint8_t page[PageRecordHeader::kBytes];
  PageRecordHeader{static_cast<uint8_t>(PageLogRecordType::kPage), 0x1122334455667788}.encode(page);
  const uint8_t expected_page[] = {1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11};
  CHECK(std::memcmp(page, expected_page, sizeof expected_page) == 0);
  CHECK(PageRecordHeader::decode(page).page_number == 0x1122334455667788);
  CHECK(PageRecordHeader::decode(page).type == 1);

  uint8_t count[PageCountRecord::kBytes];
  PageCountRecord{static_cast<uint8_t>(PageLogRecordType::kPageCount), 300}.encode(count);
  const uint8_t expected_count[] = {2, 44, 1, 0, 0, 0, 0, 0, 0};
  CHECK(std::memcmp(count, expected_count, sizeof expected_count) == 0);
  CHECK(PageCountRecord::decode(count).page_count == 300);

  uint8_t rollback[RollbackRecord::kBytes];
  RollbackRecord{static_cast<uint8_t>(PageLogRecordType::kRollback)}.encode(rollback);
  CHECK(rollback[0] == 3);
}

namespace {

// What the index points at in these tests: a key, owned by a std::map's node.
struct TestEntry {
  std::string k;
  std::string_view key() const { return k; }
};
using KeyIndex = storage::detail::KeyIndex<TestEntry>;

}  // namespace

TEST_CASE("key index: agrees with a std::map under random inserts, finds and erases") {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    CAPTURE(seed);
    flow::DeterministicRandom random(seed);
    std::map<std::string, TestEntry> entries;  // owns the entries the index points at
    KeyIndex index;
    auto hash = [](std::string_view k) { return XXH3_64bits(k.data(), k.size()); };
    // A few hundred keys, so the table grows, shrinks and has long probe runs to shift back.
    const int key_space = seed == 1 ? 8 : 600;
    for (int step = 0; step < 20'000; ++step) {
      const std::string key = "k" + std::to_string(random.random_int(0, key_space));
      const double dice = random.random01();
      auto it = entries.find(key);
      if (dice < 0.40) {
        if (it == entries.end()) {
          it = entries.emplace(key, TestEntry{key}).first;
          index.insert(hash(key), &it->second);
        }
      } else if (dice < 0.45) {
        if (it != entries.end()) {  // the same key, another entry: as a longer value makes
          TestEntry moved{key};
          index.replace(key, hash(key), &moved);
          CHECK(index.find(key, hash(key)) == &moved);
          index.replace(key, hash(key), &it->second);
        }
      } else if (dice < 0.75) {
        const bool erased = index.erase(key, hash(key));
        CHECK(erased == (it != entries.end()));
        if (it != entries.end()) entries.erase(it);
      } else {
        TestEntry* found = index.find(key, hash(key));
        CHECK(found == (it == entries.end() ? nullptr : &it->second));
      }
      REQUIRE(index.size() == entries.size());
      if (step % 1000 == 999) {
        CHECK(index.slot_count() * 3 >= index.size() * 4);
        for (auto& e : entries)
          REQUIRE(index.find(e.first, hash(e.first)) == &e.second);
      }
    }
    // Empty it all: every entry is found and erased once, and the table shrinks.
    for (auto& e : entries)
      CHECK(index.erase(e.first, hash(e.first)));
    CHECK(index.size() == 0);
    CHECK(index.slot_count() <= 64);
  }
}

TEST_CASE("key index: keys that share a home slot are all found and erased in any order") {
  // Forged hashes: every key's home is slot 0 or 1, so they form one probe run.
  std::vector<TestEntry> entries;
  entries.reserve(10);
  KeyIndex index;
  std::vector<uint64_t> hashes;
  for (int i = 0; i < 10; ++i) {
    entries.push_back({"key" + std::to_string(i)});
    hashes.push_back((uint64_t{1} << 40) * static_cast<uint64_t>(i + 1) + (i % 2));
    index.insert(hashes.back(), &entries.back());
  }
  for (size_t k : {3u, 0u, 9u, 4u}) {
    CHECK(index.erase(entries[k].key(), hashes[k]));
    CHECK(index.find(entries[k].key(), hashes[k]) == nullptr);
  }
  for (size_t k : {1u, 2u, 5u, 6u, 7u, 8u})
    CHECK(index.find(entries[k].key(), hashes[k]) == &entries[k]);
}

TEST_CASE("memory entry: key and value in one allocation; a value fits in place up to its room") {
  MemoryEntryPtr e(MemoryEntry::make("key", "a value"));
  CHECK(e->key() == "key");
  CHECK(e->value() == "a value");
  CHECK(e->value_capacity() == 7);
  e->assign_value("short");
  CHECK(e->value() == "short");
  CHECK(e->key() == "key");
  e->assign_value("7 bytes");
  CHECK(e->value() == "7 bytes");
  MemoryEntryPtr empty(MemoryEntry::make("", ""));
  CHECK(empty->key().empty());
  CHECK(empty->value().empty());
  storage::detail::MemoryEntryLess less;
  CHECK(less(empty.get(), e.get()));
  CHECK(less(empty.get(), std::string_view("a")));
  CHECK_FALSE(less(std::string_view("key"), e.get()));
}
