// TLogRecord: what the log writes for a version reads back the same, and bytes that do not parse
// are checksum_failed, never an assertion or a read past the end.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "flow/deterministic_random.h"
#include "roles/tlog/tlog_record.h"

using roles::MutationType;
using roles::TLogRecord;

namespace {

TLogRecord sample() {
  TLogRecord r;
  r.epoch = 3;
  r.version = 2'000'123;
  r.prev_version = 1'999'000;
  r.known_committed_version = 1'998'000;
  r.messages.push_back({{1, 4}, {MutationType::kSet, "apple", "red"}});
  r.messages.push_back({{2}, {MutationType::kClearRange, "b", "c"}});
  r.messages.push_back({{}, {MutationType::kAdd, "counter", std::string("\x01\0\0\0", 4)}});
  r.messages.push_back({{7}, {MutationType::kSet, std::string(10'000, 'k'), ""}});
  return r;
}

}  // namespace

TEST_CASE("tlog record: encodes and decodes to the same record, 8-byte aligned") {
  const TLogRecord r = sample();
  const std::vector<uint8_t> bytes = roles::encode_tlog_record(r);
  CHECK(bytes.size() % 8 == 0);
  auto back = roles::decode_tlog_record(bytes);
  REQUIRE(back.ok());
  CHECK(back.get() == r);
  TLogRecord empty;
  empty.version = 5;
  empty.prev_version = 4;
  auto e = roles::decode_tlog_record(roles::encode_tlog_record(empty));
  REQUIRE(e.ok());
  CHECK(e.get() == empty);
}

TEST_CASE("tlog record: every cut and every single flipped byte is refused or reads back whole") {
  const std::vector<uint8_t> good = roles::encode_tlog_record(sample());
  for (size_t n = 0; n < good.size(); ++n) {
    auto cut = roles::decode_tlog_record(std::span(good).first(n));
    REQUIRE(!cut.ok());
    CHECK(cut.error().code() == flow::ErrorCode::checksum_failed);
  }
  // A flipped byte either is refused or gives some record (a flip inside a key or a value parses
  // fine; the DiskQueue's checksum is what catches those).
  flow::DeterministicRandom rng(17);
  std::printf("tlog record flips: seed 17\n");
  for (int i = 0; i < 2000; ++i) {
    std::vector<uint8_t> bad = good;
    bad[static_cast<size_t>(rng.random_int(0, static_cast<int64_t>(bad.size())))] ^=
        static_cast<uint8_t>(rng.random_int(1, 256));
    auto r = roles::decode_tlog_record(bad);
    if (!r.ok()) CHECK(r.error().code() == flow::ErrorCode::checksum_failed);
  }
}

TEST_CASE("tlog record: a lock marker (the version repeated, no message) round-trips with its recovery; cut short or ahead of itself it is refused") {
  roles::TLogRecord marker;
  marker.epoch = 7;
  marker.version = 500;
  marker.prev_version = 500;
  marker.known_committed_version = 480;
  marker.locked_by_recovery = 0x8877665544332211;
  for (const bool sealed : {false, true}) {
    marker.sealed = sealed;
    const std::vector<uint8_t> bytes = roles::encode_tlog_record(marker);
    CHECK(bytes.size() == roles::TLogRecordHeader::kBytes + 16);
    auto decoded = roles::decode_tlog_record(bytes);
    REQUIRE(decoded.ok());
    CHECK(decoded.get() == marker);
    CHECK(decoded.get().locked_by_recovery == 0x8877665544332211);
    CHECK(decoded.get().sealed == sealed);
    // Without the recovery's id and seal (a marker of the layout before them): refused, never
    // read as id 0, unsealed.
    const std::vector<uint8_t> cut(bytes.begin(), bytes.end() - 8);
    CHECK(!roles::decode_tlog_record(cut).ok());
    // A seal that is neither 0 nor 1 is damage.
    std::vector<uint8_t> bad = bytes;
    bad[roles::TLogRecordHeader::kBytes + 8] = 2;
    CHECK(!roles::decode_tlog_record(bad).ok());
  }
  marker.prev_version = 501;
  CHECK(!roles::decode_tlog_record(roles::encode_tlog_record(marker)).ok());
}

TEST_CASE("tlog record: named faults are refused") {
  std::vector<uint8_t> good = roles::encode_tlog_record(sample());
  SUBCASE("format") { good[0] ^= 1; }
  SUBCASE("a message count past what fits") { good[4] = 0xff; good[5] = 0xff; }
  SUBCASE("reserved byte") { good[40 + 3] = 1; }
  SUBCASE("unknown mutation type") { good[40 + 2] = 99; }
  SUBCASE("version not after prev_version") {
    std::copy(good.begin() + 16, good.begin() + 24, good.begin() + 24);  // prev := version
  }
  SUBCASE("bytes left over") { good.insert(good.end(), 8, 0); }
  // Messages of 24 and 16 bytes, then one of 23 (12 + "counter" + 4 bytes) and its padding byte.
  SUBCASE("nonzero padding") { good[40 + 24 + 16 + 23] = 1; }
  auto r = roles::decode_tlog_record(good);
  REQUIRE(!r.ok());
  CHECK(r.error().code() == flow::ErrorCode::checksum_failed);
}
