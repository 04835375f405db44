// flow/little_endian.h: every width stores least significant byte first and loads back what it
// stored, whatever the host's byte order and whichever path (one wide access or the byte loop).

#include <doctest/doctest.h>

#include <array>
#include <cstdint>

#include "flow/little_endian.h"

TEST_CASE("little endian: each width puts its low bytes first and gets them back") {
  const uint64_t v = 0x0807060504030201ull;
  for (int bytes = 1; bytes <= 8; ++bytes) {
    CAPTURE(bytes);
    std::array<uint8_t, 10> buf{};
    buf.fill(0xee);
    flow::put_le(buf.data() + 1, v, bytes);
    CHECK(buf[0] == 0xee);  // nothing before
    for (int i = 0; i < bytes; ++i)
      CHECK(buf[static_cast<size_t>(1 + i)] == static_cast<uint8_t>(i + 1));
    CHECK(buf[static_cast<size_t>(1 + bytes)] == 0xee);  // nothing after
    const uint64_t mask = bytes == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * bytes)) - 1;
    CHECK(flow::get_le(buf.data() + 1, bytes) == (v & mask));
  }
}

TEST_CASE("little endian: unaligned loads and stores of 4 and 8 bytes round-trip") {
  std::array<uint8_t, 32> buf{};
  for (size_t at = 0; at < 8; ++at) {
    CAPTURE(at);
    flow::put_le(buf.data() + at, 0xdeadbeefcafef00dull, 8);
    CHECK(flow::get_le(buf.data() + at, 8) == 0xdeadbeefcafef00dull);
    CHECK(flow::get_le(buf.data() + at, 4) == 0xcafef00dull);
    flow::put_le(buf.data() + at + 16, 0x12345678u, 4);
    CHECK(flow::get_le(buf.data() + at + 16, 4) == 0x12345678u);
    CHECK(buf[at + 16] == 0x78);
  }
}
