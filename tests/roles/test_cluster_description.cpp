// Cluster descriptions from outside the process: the valid shape, and each way text can be wrong,
// named (connection_string_invalid) and explained, never asserted on.
#include <doctest/doctest.h>

#include <algorithm>

#include <string>

#include "roles/common/cluster_description.h"

using roles::parse_cluster_description;

TEST_CASE("cluster description: name:id@addresses, with whitespace and a comment around it") {
  std::string why;
  const auto d = parse_cluster_description("  strata_test:Ab9x@10.0.0.1:4500,10.0.0.2:4500 # three soon\n", &why);
  REQUIRE_MESSAGE(d.ok(), why);
  CHECK(d.get().name == "strata_test");
  CHECK(d.get().id == "Ab9x");
  REQUIRE(d.get().coordinators.size() == 2);
  CHECK(d.get().coordinators[1].to_string() == "10.0.0.2:4500");
  CHECK(d.get().to_string() == "strata_test:Ab9x@10.0.0.1:4500,10.0.0.2:4500");
  CHECK(parse_cluster_description(d.get().to_string()).get() == d.get());
}

TEST_CASE("cluster description: every malformed text is connection_string_invalid, with a reason") {
  const char* bad[][2] = {
      {"", "no '@'"},
      {"name:id", "no '@'"},
      {"nameid@10.0.0.1:1", "no ':'"},
      {":id@10.0.0.1:1", "the name"},
      {"na-me:id@10.0.0.1:1", "the name"},
      {"name:@10.0.0.1:1", "the id"},
      {"name:i d@10.0.0.1:1", "the id"},
      {"name:id@", "no coordinators"},
      {"name:id@10.0.0.1", "not a coordinator address"},
      {"name:id@10.0.0.1:1,", "not a coordinator address"},
      {"name:id@10.0.0.1:1,,10.0.0.2:1", "not a coordinator address"},
      {"name:id@300.0.0.1:1", "not a coordinator address"},
      {"name:id@0.0.0.0:0", "not a coordinator address"},
      {"name:id@10.0.0.1:1,10.0.0.1:1", "listed twice"},
      {"name:id@10.0.0.1:99999", "not a coordinator address"},
  };
  for (const auto& [text, reason] : bad) {
    CAPTURE(text);
    std::string why;
    const auto d = parse_cluster_description(text, &why);
    REQUIRE(d.is_error());
    CHECK(d.error().code() == flow::ErrorCode::connection_string_invalid);
    CHECK(why.find(reason) != std::string::npos);
  }
}

TEST_CASE("cluster description: two lines, unprintable bytes, and a zero address or port are refused, and the why stays printable") {
  for (const std::string& bad : {std::string("a:b@1.2.3.4:5\nc:d@1.2.3.4:6"), std::string("a:b@1.2.3.4:5\x01", 14),
                                std::string("a:b@0.0.0.0:4500"), std::string("a:b@1.2.3.4:0"),
                                std::string("a:b@1.2.3.4:5,\xff\xfe", 16)}) {
    std::string why;
    CHECK(!roles::parse_cluster_description(bad, &why).ok());
    CHECK(!why.empty());
    CHECK(std::all_of(why.begin(), why.end(), [](char c) { return c >= 0x20 && c < 0x7f; }));
  }
}
