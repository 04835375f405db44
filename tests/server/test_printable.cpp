// Keys as people type and read them (client/printable.h): every byte string goes to text and back
// unchanged; text that names no bytes is refused with a reason, never guessed at.
#include <doctest/doctest.h>

#include <random>
#include <string>

#include "client/printable.h"

TEST_CASE("printable: printable ASCII stays, a backslash doubles, other bytes are \\xNN") {
  CHECK(client::printable("hello") == "hello");
  CHECK(client::printable("a\\b") == "a\\\\b");
  CHECK(client::printable(std::string("\x00\xff\n", 3)) == "\\x00\\xff\\x0a");
}

TEST_CASE("printable: any bytes survive the round trip") {
  const unsigned seed = std::random_device{}();
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  for (int i = 0; i < 1000; ++i) {
    std::string bytes(rng() % 20, '\0');
    for (char& c : bytes)
      c = static_cast<char>(rng() & 0xff);
    const flow::ErrorOr<std::string> back = client::unprintable(client::printable(bytes));
    REQUIRE(back.ok());
    CHECK(back.get() == bytes);
  }
}

TEST_CASE("printable: \\xNN in either case, and a stray backslash is refused with why") {
  CHECK(client::unprintable("\\xFF\\x41").get() ==
        "\xff"
        "A");
  for (const char* bad : {"\\", "a\\", "\\x", "\\x4", "\\xg0", "\\n"}) {
    std::string why;
    const flow::ErrorOr<std::string> r = client::unprintable(bad, &why);
    CHECK(!r.ok());
    CHECK(r.error().code() == flow::ErrorCode::invalid_option_value);
    CHECK(why.find("backslash") != std::string::npos);
  }
}
