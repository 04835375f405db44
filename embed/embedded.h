#pragma once
// open_embedded — the whole database inside the calling process, on real files in one folder, as
// SQLite is embedded: a network thread hosts every role (worker, coordinator, cluster controller)
// and a client of them, and the handle is an embed::Client like a real cluster's. Single node:
// its durability is the disk's (every commit is fsynced by the log before it is acknowledged),
// and it survives the process's crash, not the machine's disk.
//
//   auto db = embed::open_embedded("/var/lib/myapp/strata");
//   db->set("hello", "world");
//
// The folder holds strata.cluster (the one coordinator: loopback, a port chosen at creation and
// kept), data/ (the roles' files) and strata.lock. One process at a time: a second open of the
// same folder is refused.

#include <memory>
#include <string>
#include <vector>

#include "embed/client.h"

namespace embed {

struct EmbeddedOptions {
  std::string engine = "ssd";      // the storage engine at creation: "ssd" (B-tree) or "memory"
  std::vector<std::string> knobs;  // "name=value"
  std::string trace_dir;           // JSON-lines trace files, rotated; empty: none
};

// Opens the database in `folder` (created, with the database, if missing). Throws flow::Error:
// invalid_option_value for an engine that is neither, io_error if the folder cannot be made or is
// locked by another process, connection_string_invalid if its strata.cluster is not one this
// function wrote, bind_failed if the port it chose at creation is taken, what NetworkThread
// throws, and operation_failed if the database does not answer within a minute.
std::unique_ptr<Client> open_embedded(const std::string& folder, EmbeddedOptions options = {});

}  // namespace embed
