#pragma once
// The cluster file (docs/operations.md): one cluster description, read by every program that
// finds a real cluster, and rewritten by a process that follows the coordinators when they move.

#include <cstddef>
#include <string>

#include "flow/error_or.h"
#include "roles/common/cluster_description.h"

namespace embed {

// A cluster file holds one description: with comments, well under this.
inline constexpr size_t kClusterFileBytesMax = 64 * 1024;

// The description in `path`: file_not_found if it cannot be read, connection_string_invalid if
// it is not a description; `why` (if given) says which, in words.
flow::ErrorOr<roles::ClusterDescription> read_cluster_file(const std::string& path,
                                                           std::string* why = nullptr);

// Writes `d` to `path` durably: a new file, synced, renamed over the old one, the folder synced.
// False if any step failed (the old file is then untouched). Processes that share the file may
// call it at once: each writes a file of its own and renames it, so a reader sees one whole
// description or another, never a mix.
bool write_cluster_file(const std::string& path, const roles::ClusterDescription& d);

}  // namespace embed
