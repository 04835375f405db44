// Frames: round trips however the bytes are split, and every way a stream can be corrupt.
#include <doctest/doctest.h>

#include <xxhash.h>

#include "flow/deterministic_random.h"
#include "flow/error.h"
#include "net/frame.h"

using flow::ErrorCode;

namespace {

std::vector<uint8_t> bytes_of(size_t n, uint8_t salt) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i)
    v[i] = static_cast<uint8_t>(i * 31 + salt);
  return v;
}

// Feeds `stream` in pieces of random size and collects every payload (or the first error).
std::vector<std::vector<uint8_t>> decode_all(const std::vector<uint8_t>& stream, size_t max,
                                             flow::DeterministicRandom& rng,
                                             std::optional<ErrorCode>* error = nullptr) {
  net::FrameDecoder d(max);
  std::vector<std::vector<uint8_t>> out;
  size_t pos = 0;
  for (;;) {
    for (;;) {
      auto next = d.next();
      if (!next.ok()) {
        if (error) *error = next.error().code();
        return out;
      }
      if (!next.get()) break;
      auto b = *next.get();
      CHECK(reinterpret_cast<uintptr_t>(b.data()) % 8 == 0);
      out.emplace_back(b.begin(), b.end());
    }
    if (pos == stream.size()) return out;
    const size_t piece =
        std::min<size_t>(stream.size() - pos, static_cast<size_t>(rng.random_int(1, 70'000)));
    pos += d.feed(std::span(stream).subspan(pos, piece));
  }
}

}  // namespace

TEST_CASE("frames: payloads of every size come back whole, however the stream is split") {
  const uint64_t seed = 5;
  INFO("seed " << seed);
  flow::DeterministicRandom rng(seed);
  std::vector<std::vector<uint8_t>> sent;
  std::vector<uint8_t> stream;
  for (size_t size : {0, 1, 11, 12, 13, 4096, 16 * 1024, 16 * 1024 + 1, 65536, 200'000, 3}) {
    sent.push_back(bytes_of(size, static_cast<uint8_t>(size)));
    net::append_frame(stream, sent.back());
  }
  for (int round = 0; round < 20; ++round)
    CHECK(decode_all(stream, 1 << 20, rng) == sent);
}

TEST_CASE("frames: a flipped bit anywhere in a payload is checksum_failed") {
  flow::DeterministicRandom rng(6);
  std::vector<uint8_t> stream;
  net::append_frame(stream, bytes_of(100, 1));
  net::append_frame(stream, bytes_of(40'000, 2));  // read directly into its own buffer
  // The first payload byte, its last, and the last byte of the large frame.
  for (size_t at : {size_t{16}, size_t{115}, net::frame_bytes(100) + 16 + 39'999}) {
    std::vector<uint8_t> bad = stream;
    bad[at] ^= 0x10;
    std::optional<ErrorCode> error;
    decode_all(bad, 1 << 20, rng, &error);
    CHECK(error == ErrorCode::checksum_failed);
  }
}

TEST_CASE("frames: a declared length over the maximum is refused before allocating") {
  flow::DeterministicRandom rng(7);
  std::vector<uint8_t> stream = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  std::optional<ErrorCode> error;
  CHECK(decode_all(stream, 1 << 20, rng, &error).empty());
  CHECK(error == ErrorCode::message_too_large);
  // Exactly the maximum is fine.
  std::vector<uint8_t> ok;
  net::append_frame(ok, bytes_of(1000, 3));
  CHECK(decode_all(ok, 1000, rng).size() == 1);
}

TEST_CASE("frames: a truncated stream yields the whole frames and waits for the rest") {
  flow::DeterministicRandom rng(8);
  std::vector<uint8_t> stream;
  net::append_frame(stream, bytes_of(10, 4));
  net::append_frame(stream, bytes_of(50'000, 5));
  stream.resize(stream.size() - 1);
  std::optional<ErrorCode> error;
  CHECK(decode_all(stream, 1 << 20, rng, &error).size() == 1);
  CHECK(!error);
}

TEST_CASE("frames: the header is the length, zero, then XXH3-64 of the payload; padded to 8") {
  std::vector<uint8_t> stream;
  const std::vector<uint8_t> payload = {1, 2, 3};
  net::append_frame(stream, payload);
  REQUIRE(stream.size() == 24);
  CHECK(stream[0] == 3);
  for (int i = 1; i < 8; ++i)
    CHECK(stream[i] == 0);
  uint64_t sum = 0;
  for (int i = 0; i < 8; ++i)
    sum |= static_cast<uint64_t>(stream[8 + i]) << (8 * i);
  CHECK(sum == XXH3_64bits(payload.data(), payload.size()));
  CHECK(stream[16] == 1);
  for (size_t i = 19; i < 24; ++i)
    CHECK(stream[i] == 0);
}

TEST_CASE("frames: a nonzero reserved field is malformed") {
  flow::DeterministicRandom rng(9);
  std::vector<uint8_t> stream;
  net::append_frame(stream, bytes_of(10, 4));
  stream[5] = 1;
  std::optional<ErrorCode> error;
  CHECK(decode_all(stream, 1 << 20, rng, &error).empty());
  CHECK(error == ErrorCode::malformed_message);
}
