// The controller's status document (server/status.h): names from outside cannot break it, and it
// says what the cluster runs.
#include <doctest/doctest.h>

#include <string>

#include "server/status.h"

namespace {

// Whether braces and brackets balance outside strings, and every string closes: a cheap check
// that the text is one JSON value's shape.
bool balanced(const std::string& j) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < j.size(); ++i) {
    const char c = j[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
      else if (static_cast<unsigned char>(c) < 0x20)
        return false;
      continue;
    }
    if (c == '"')
      in_string = true;
    else if (c == '{' || c == '[')
      ++depth;
    else if (c == '}' || c == ']') {
      if (--depth < 0) return false;
    }
  }
  return depth == 0 && !in_string;
}

}  // namespace

TEST_CASE("status: a JSON string escapes quotes, backslashes, control and non-ASCII bytes") {
  CHECK(server::json_string("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(server::json_string(std::string("\n\x01\xff", 3)) == "\"\\u000a\\u0001\\u00ff\"");
}

TEST_CASE("status: an unconfigured cluster with hostile machine names is still one JSON object") {
  server::ControllerStatus s;
  s.recovery_state = "unconfigured";
  s.cluster = {"c", "id", {flow::NetworkAddress::parse("1.2.3.4:5").get()}};
  s.workers.push_back(
      {flow::NetworkAddress::parse("1.2.3.4:5").get(), "\"},{\n]", roles::ProcessClass::log});
  const std::string j = server::status_json(s);
  CHECK(balanced(j));
  CHECK(j.find("\"recovery_state\": \"unconfigured\"") != std::string::npos);
  CHECK(j.find("\"class\": \"log\"") != std::string::npos);
  CHECK(j.find("\"generation\": null") != std::string::npos);
}

TEST_CASE(
    "status: a running generation's roles are listed by process, and hosts not registered are "
    "named") {
  const auto a = [](const char* t) { return flow::NetworkAddress::parse(t).get(); };
  roles::ClusterState st;
  st.epoch = 3;
  st.running = roles::RunningRoles{
      3, a("1.1.1.1:1"), {a("1.1.1.1:1")}, {a("2.2.2.2:2")}, {a("1.1.1.1:1")}, {a("2.2.2.2:2")}};
  server::ControllerStatus s;
  s.recovery_state = "accepting_commits";
  s.state = &st;
  s.workers.push_back({a("1.1.1.1:1"), "m1", roles::ProcessClass::stateless});
  const std::string j = server::status_json(s);
  CHECK(balanced(j));
  CHECK(j.find("\"roles\": [\"master\", \"grv_proxy\", \"resolver\"]") != std::string::npos);
  CHECK(j.find("\"unregistered_role_hosts\": [\"2.2.2.2:2\"]") != std::string::npos);
  CHECK(j.find("\"epoch\": 3") != std::string::npos);
}
