#include "roles/common/cluster_description.h"

#include <algorithm>
#include <string>

namespace roles {

namespace {

bool is_word(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// `s` for a message: at most 40 characters, each byte that is not printable ASCII as '?'.
std::string shown(std::string_view s) {
  std::string out;
  for (const char c : s.substr(0, 40)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (s.size() > 40) out += "...";
  return out;
}

}  // namespace

std::string ClusterDescription::to_string() const {
  std::string out = name + ":" + id + "@";
  for (size_t i = 0; i < coordinators.size(); ++i) out += (i ? "," : "") + coordinators[i].to_string();
  return out;
}

flow::ErrorOr<ClusterDescription> parse_cluster_description(std::string_view text, std::string* why) {
  const auto invalid = [why](std::string what) -> flow::ErrorOr<ClusterDescription> {
    if (why != nullptr) *why = std::move(what);
    return flow::Error(flow::ErrorCode::connection_string_invalid);
  };
  if (const size_t hash = text.find('#'); hash != std::string_view::npos) text = text.substr(0, hash);
  text = trim(text);
  if (text.find_first_of("\r\n") != std::string_view::npos) return invalid("it has more than one line");
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c < 0x7f; }))
    return invalid("it has bytes that are not printable text");
  const size_t at = text.find('@');
  if (at == std::string_view::npos) return invalid("no '@' between name:id and the coordinators");
  const std::string_view head = text.substr(0, at), tail = text.substr(at + 1);
  const size_t colon = head.find(':');
  if (colon == std::string_view::npos) return invalid("no ':' between the name and the id");
  ClusterDescription d;
  d.name = std::string(head.substr(0, colon));
  d.id = std::string(head.substr(colon + 1));
  if (!is_word(d.name)) return invalid("the name must be letters, digits and underscores, not '" + shown(d.name) + "'");
  if (!is_word(d.id)) return invalid("the id must be letters, digits and underscores, not '" + shown(d.id) + "'");
  if (d.name.size() > kClusterWordBytesMax || d.id.size() > kClusterWordBytesMax)
    return invalid("the name and the id are at most " + std::to_string(kClusterWordBytesMax) + " characters each");
  if (tail.empty()) return invalid("no coordinators after '@'");
  for (size_t begin = 0; begin <= tail.size();) {
    const size_t comma = std::min(tail.find(',', begin), tail.size());
    const std::string_view item = tail.substr(begin, comma - begin);
    const flow::ErrorOr<flow::NetworkAddress> address = flow::NetworkAddress::parse(item);
    if (address.is_error() || address.get().ip == 0 || address.get().port == 0)
      return invalid("'" + shown(item) + "' is not a coordinator address (a.b.c.d:port, neither 0)");
    if (std::find(d.coordinators.begin(), d.coordinators.end(), address.get()) != d.coordinators.end())
      return invalid("coordinator " + shown(item) + " is listed twice");
    d.coordinators.push_back(address.get());
    if (d.coordinators.size() > kCoordinatorsMax)
      return invalid("more than " + std::to_string(kCoordinatorsMax) + " coordinators");
    begin = comma + 1;
  }
  return d;
}

}  // namespace roles
