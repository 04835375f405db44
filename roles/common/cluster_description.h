#pragma once
// ClusterDescription — how a process or a client finds a cluster: FoundationDB's cluster-file
// shape, `name:id@address,address,...`, the coordinators' addresses (docs/database.md,
// "coordinator"). The name and id are letters, digits and underscores, at most
// kClusterWordBytesMax each (the id changes when the
// coordinators do, so a stale file is told from a current one); addresses are `a.b.c.d:port`,
// at least one, no two alike, neither the address nor the port 0; one line of printable text. The text comes from outside the process (a file, a command line):
// anything else is connection_string_invalid, with what is wrong said in words.

#include <string>
#include <string_view>
#include <vector>

#include "flow/error_or.h"
#include "flow/network_address.h"

namespace roles {

inline constexpr size_t kClusterWordBytesMax = 64;
// Coordinators a description may list.
inline constexpr size_t kCoordinatorsMax = 15;

struct ClusterDescription {
  std::string name;
  std::string id;
  std::vector<flow::NetworkAddress> coordinators;  // in the order given

  // Back to the text form.
  std::string to_string() const;
  friend bool operator==(const ClusterDescription&, const ClusterDescription&) = default;
};

// Parses `text` (surrounding whitespace and a trailing "# comment" ignored). On failure, `why`
// (if given) says what is wrong.
flow::ErrorOr<ClusterDescription> parse_cluster_description(std::string_view text, std::string* why = nullptr);

}  // namespace roles
