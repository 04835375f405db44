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

std::vector<std::string> to_text(const std::vector<flow::NetworkAddress>& addresses) {
  std::vector<std::string> out;
  for (const flow::NetworkAddress& a : addresses) out.push_back(a.to_string());
  return out;
}

// The addresses of `texts`, if each is a process's and there are 1..kRoleIndexMax of them.
std::optional<std::vector<flow::NetworkAddress>> from_text(const std::vector<std::string>& texts) {
  if (texts.empty() || texts.size() > kRoleIndexMax) return std::nullopt;
  std::vector<flow::NetworkAddress> out;
  for (const std::string& t : texts) {
    flow::ErrorOr<flow::NetworkAddress> a = flow::NetworkAddress::parse(t);
    if (!a.ok() || a.get().ip == 0 || a.get().port == 0) return std::nullopt;  // no process is there
    out.push_back(a.get());
  }
  return out;
}

std::optional<RunningRoles> from_wire(const wire_cc::RunningRolesT& w, const ClusterState& state) {
  RunningRoles r;
  if (w.epoch < 1 || w.epoch > state.epoch) return std::nullopt;
  r.epoch = w.epoch;
  const std::optional<std::vector<flow::NetworkAddress>> master = from_text({w.master});
  const std::optional<std::vector<flow::NetworkAddress>> grv = from_text(w.grv_proxies);
  const std::optional<std::vector<flow::NetworkAddress>> commit = from_text(w.commit_proxies);
  const std::optional<std::vector<flow::NetworkAddress>> resolvers = from_text(w.resolvers);
  const std::optional<std::vector<flow::NetworkAddress>> logs = from_text(w.logs);
  if (!master || !grv || !commit || !resolvers || !logs) return std::nullopt;
  if (resolvers->size() != state.resolver_ranges.size()) return std::nullopt;
  r.master = master->front();
  r.grv_proxies = *grv;
  r.commit_proxies = *commit;
  r.resolvers = *resolvers;
  r.logs = *logs;
  return r;
}

}  // namespace

RunningRoles running_roles(const GenerationPlan& plan) {
  RunningRoles r{plan.epoch, plan.master, plan.grv_proxies, plan.commit_proxies, {}, plan.logs};
  for (const GenerationPlan::Placed& p : plan.resolvers) r.resolvers.push_back(p.at);
  return r;
}

std::optional<GenerationPlan> running_plan(const ClusterState& state) {
  if (!state.running || state.running->epoch != state.epoch) return std::nullopt;
  const RunningRoles& r = *state.running;
  GenerationPlan plan;
  plan.epoch = r.epoch;
  plan.master = r.master;
  plan.grv_proxies = r.grv_proxies;
  plan.commit_proxies = r.commit_proxies;
  plan.logs = r.logs;
  for (size_t i = 0; i < r.resolvers.size() && i < state.resolver_ranges.size(); ++i)
    plan.resolvers.push_back({state.resolver_ranges[i], r.resolvers[i]});
  return plan;
}

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
  w.resolvers = state.counts.resolvers;
  for (const EpochsOfRecovery& e : state.lockers) w.lockers.emplace_back(e.first_epoch, e.last_epoch, e.recovery);
  w.unverified = state.unverified;
  if (state.running) {
    w.running = std::make_unique<wire_cc::RunningRolesT>();
    w.running->epoch = state.running->epoch;
    w.running->master = state.running->master.to_string();
    w.running->grv_proxies = to_text(state.running->grv_proxies);
    w.running->commit_proxies = to_text(state.running->commit_proxies);
    w.running->resolvers = to_text(state.running->resolvers);
    w.running->logs = to_text(state.running->logs);
  }
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
  for (const int n : {w.grv_proxies, w.commit_proxies, w.logs, w.resolvers})
    if (n < 0 || n > kRoleCountMax) return malformed;
  state.counts = {w.grv_proxies, w.commit_proxies, w.logs, w.resolvers};
  uint64_t after = state.log_system.current().epoch;
  for (const wire_tlog::EpochsOfRecovery& e : w.lockers) {
    if (e.first_epoch() <= after || e.last_epoch() < e.first_epoch() || e.last_epoch() > state.epoch)
      return malformed;
    after = e.last_epoch();
    state.lockers.push_back({e.first_epoch(), e.last_epoch(), e.recovery()});
  }
  state.unverified = w.unverified;
  if (w.running) {
    state.running = from_wire(*w.running, state);
    if (!state.running) return malformed;
  }
  return state;
}

}  // namespace roles
