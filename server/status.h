#pragma once
// The cluster as its controller sees it, as JSON, for strata-cli's `status` (docs/status.md
// documents every field): what a leader serves on its interface's status stream.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "roles/cluster_controller/cluster_controller_interface.h"
#include "roles/cluster_controller/cluster_state.h"
#include "roles/cluster_controller/worker_registration.h"
#include "roles/common/cluster_description.h"

namespace server {

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
};

// `s` as one JSON object.
std::string status_json(const ControllerStatus& s);

// `text` as a JSON string, quotes included: control characters and bytes that are not UTF-8
// text are escaped (\u00XX), so a name from outside never breaks the document.
std::string json_string(std::string_view text);

// Answers every request of `stream` with what `now` builds at the time, until cancelled.
// May suspend.
void serve_status(const roles::StatusStream& stream, const std::function<ControllerStatus()>& now);

}  // namespace server
