#pragma once
// The cluster as its controller sees it, as JSON, for strata-cli's `status` (docs/status.md
// documents every field): what a leader serves on its interface's status stream.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "roles/cluster_controller/cluster_controller_interface.h"
#include "roles/cluster_controller/cluster_state.h"
#include "roles/cluster_controller/worker_registration.h"
#include "roles/common/cluster_description.h"
#include "roles/common/shard_map.h"
#include "flow/time.h"

namespace server {

// What the storage servers hold, as they answered a status request.
struct StoredData {
  int64_t logical_bytes = 0;  // keys and values once: each shard's from the first of its team to answer
  int64_t stored_bytes = 0;   // keys and values over every server that answered (copies included)
  int64_t disk_bytes = 0;     // the files of every server that answered
  int servers = 0;            // storage servers in the shard map
  int answered = 0;           // of them, those that answered in time
};

// Asks every storage server of `shards` what it holds, all at once, each within `within`.
// May suspend.
StoredData gather_stored_data(const roles::ShardMap& shards, flow::Duration within);

struct ControllerStatus {
  // "unconfigured" (no database yet), "recovering" or "accepting_commits".
  std::string recovery_state;
  roles::ClusterDescription cluster;
  const roles::ClusterState* state = nullptr;      // null: none (unconfigured)
  std::vector<roles::WorkerRegistration> workers;  // registered lately
  flow::NetworkAddress controller;
  uint64_t recoveries = 0;           // ended during this leadership
  double last_recovery_seconds = 0;  // the newest's, from detection to accepting commits
  double leading_seconds = 0;        // since this leader's election
  std::optional<StoredData> data;    // asked of the storage servers (serve_status does)
};

// `s` as one JSON object.
std::string status_json(const ControllerStatus& s);

// `text` as a JSON string, quotes included: control characters and bytes that are not UTF-8
// text are escaped (\u00XX), so a name from outside never breaks the document.
std::string json_string(std::string_view text);

// Answers every request of `stream` with what `now` builds at the time and, when it names a
// state, what its storage servers hold (gather_stored_data, within a second), until cancelled.
// May suspend.
void serve_status(const roles::StatusStream& stream, const std::function<ControllerStatus()>& now);

}  // namespace server
