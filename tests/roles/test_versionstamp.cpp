// Versionstamps: their byte order, and placing one where a versionstamped key or value says.
#include <doctest/doctest.h>

#include <string>

#include "roles/common/versionstamp.h"

using roles::make_versionstamp;
using roles::place_versionstamp;
using roles::versionstamp_offset;

namespace {

// `body` followed by `offset` as 4 little-endian bytes.
std::string with_offset(std::string body, uint32_t offset) {
  for (int i = 0; i < 4; ++i) body.push_back(static_cast<char>(offset >> (8 * i)));
  return body;
}

}  // namespace

TEST_CASE("versionstamp: big-endian version then batch index, so bytes sort as commits") {
  const auto a = make_versionstamp(0x0102030405060708, 0x090a);
  CHECK(a == roles::Versionstamp{1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  // Later version, or same version and later index: greater as bytes.
  CHECK(make_versionstamp(256, 0) > make_versionstamp(255, 65535));
  CHECK(make_versionstamp(7, 2) > make_versionstamp(7, 1));
}

TEST_CASE("versionstamp: the offset must leave room for the placeholder before its 4 bytes") {
  CHECK(versionstamp_offset("") == std::nullopt);
  CHECK(versionstamp_offset("abc") == std::nullopt);
  CHECK(versionstamp_offset(with_offset(std::string(10, 'x'), 0)) == 0u);
  CHECK(versionstamp_offset(with_offset(std::string(10, 'x'), 1)) == std::nullopt);  // 1 byte short
  CHECK(versionstamp_offset(with_offset("pre" + std::string(10, 'x') + "post", 3)) == 3u);
  CHECK(versionstamp_offset(with_offset(std::string(12, 'x'), 0xffffffff)) == std::nullopt);
}

TEST_CASE("versionstamp: placed over the placeholder, and the offset dropped") {
  const std::string param = with_offset("pre" + std::string(10, '\0') + "post", 3);
  const auto stamp = make_versionstamp(42, 7);
  const std::string got = place_versionstamp(param, stamp);
  CHECK(got.size() == 3 + 10 + 4);
  CHECK(got.substr(0, 3) == "pre");
  CHECK(got.substr(13) == "post");
  CHECK(std::string(got.begin() + 3, got.begin() + 13) ==
        std::string(reinterpret_cast<const char*>(stamp.data()), 10));
}
