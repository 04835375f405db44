#include "roles/cluster_controller/cluster_state.h"

#include <memory>

#include "net/message.h"
#include "roles/cluster_controller/cluster_state_generated.h"
#include "roles/common/database_lock.h"
#include "roles/worker/interface_wire.h"
#include "roles/worker/role_endpoints.h"

namespace roles {

namespace {

namespace wire_cc = strata::wire::cluster_controller;

}  // namespace

std::string encode_cluster_state(const ClusterState& state) {
  wire_cc::ClusterStateT w;
  w.epoch = state.epoch;
  w.log_system = std::make_unique<wire_tlog::LogSystemT>(to_wire(state.log_system));
  w.shards = to_wire(state.shards);
  for (const KeyRange& r : state.resolver_ranges) w.resolver_ranges.push_back(std::make_unique<strata::wire::KeyRangeT>(to_wire(r)));
  w.storage_durable_min = state.storage_durable_min;
  w.lock_uid.assign(state.lock_uid.begin(), state.lock_uid.end());
  if (state.moving_to) w.moving_to = state.moving_to->to_string();
  w.grv_proxies = state.counts.grv_proxies;
  w.commit_proxies = state.counts.commit_proxies;
  w.logs = state.counts.logs;
  flatbuffers::FlatBufferBuilder builder;
  net::encode_message(builder, w);
  return std::string(reinterpret_cast<const char*>(builder.GetBufferPointer()), builder.GetSize());
}

flow::ErrorOr<ClusterState> decode_cluster_state(std::string_view bytes) {
  const flow::Error malformed(flow::ErrorCode::malformed_message);
  const std::vector<uint8_t> aligned(bytes.begin(), bytes.end());
  flow::ErrorOr<wire_cc::ClusterStateT> decoded = net::decode_message<wire_cc::ClusterStateT>(aligned);
  if (!decoded.ok()) return malformed;
  const wire_cc::ClusterStateT& w = decoded.get();
  ClusterState state;
  if (w.epoch < 1 || w.epoch > kEpochMax) return malformed;
  state.epoch = w.epoch;
  std::optional<LogSystem> logs = from_wire_ptr(w.log_system);
  if (!logs || logs->epoch() > state.epoch) return malformed;
  state.log_system = std::move(*logs);
  std::optional<ShardMap> shards = from_wire(w.shards);
  if (!shards) return malformed;
  state.shards = std::move(*shards);
  std::string covered;
  for (const auto& r : w.resolver_ranges) {
    if (!r) return malformed;
    KeyRange range = from_wire(*r);
    if (range.begin != covered || range.empty() || range.end > kKeyspaceEnd) return malformed;
    covered = range.end;
    state.resolver_ranges.push_back(std::move(range));
  }
  if (covered != kKeyspaceEnd) return malformed;
  if (w.storage_durable_min < 0) return malformed;
  state.storage_durable_min = w.storage_durable_min;
  state.lock_uid.assign(w.lock_uid.begin(), w.lock_uid.end());
  if (!state.lock_uid.empty() && !lock_uid_ok(state.lock_uid)) return malformed;
  if (!w.moving_to.empty()) {
    flow::ErrorOr<ClusterDescription> to = parse_cluster_description(w.moving_to);
    if (!to.ok()) return malformed;
    state.moving_to = std::move(to.get());
  }
  for (const int n : {w.grv_proxies, w.commit_proxies, w.logs})
    if (n < 0 || n > kRoleCountMax) return malformed;
  state.counts = {w.grv_proxies, w.commit_proxies, w.logs};
  return state;
}

}  // namespace roles
