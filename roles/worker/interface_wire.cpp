#include "roles/worker/interface_wire.h"

#include "roles/common/endpoint_wire.h"

#include <string>
#include <utility>

namespace roles {

namespace {

std::unique_ptr<strata::wire::EndpointT> endpoint(const net::Endpoint& e) { return to_wire(e); }

std::string as_string(const std::vector<uint8_t>& bytes) { return {bytes.begin(), bytes.end()}; }
std::vector<uint8_t> as_bytes(const std::string& s) { return {s.begin(), s.end()}; }

}  // namespace

wire_worker::MasterInterfaceT to_wire(const MasterInterface& i) {
  wire_worker::MasterInterfaceT w;
  w.get_commit_version = endpoint(i.get_commit_version.endpoint());
  w.report_committed = endpoint(i.report_committed.endpoint());
  w.get_live_committed_version = endpoint(i.get_live_committed_version.endpoint());
  return w;
}

wire_worker::GrvProxyInterfaceT to_wire(const GrvProxyInterface& i) {
  wire_worker::GrvProxyInterfaceT w;
  w.get_read_version = endpoint(i.get_read_version.endpoint());
  return w;
}

wire_worker::CommitProxyInterfaceT to_wire(const CommitProxyInterface& i) {
  wire_worker::CommitProxyInterfaceT w;
  w.commit = endpoint(i.commit.endpoint());
  w.get_key_server_locations = endpoint(i.get_key_server_locations.endpoint());
  return w;
}

wire_worker::ResolverInterfaceT to_wire(const ResolverInterface& i) {
  wire_worker::ResolverInterfaceT w;
  w.resolve = endpoint(i.resolve.endpoint());
  return w;
}

wire_worker::StorageServerInterfaceT to_wire(const StorageServerInterface& i) {
  wire_worker::StorageServerInterfaceT w;
  w.get_value = endpoint(i.get_value.endpoint());
  w.get_key = endpoint(i.get_key.endpoint());
  w.get_key_values = endpoint(i.get_key_values.endpoint());
  w.set_log_system = endpoint(i.set_log_system.endpoint());
  w.get_metrics = endpoint(i.get_metrics.endpoint());
  return w;
}

std::optional<MasterInterface> from_wire(const wire_worker::MasterInterfaceT& w) {
  EndpointReader r;
  MasterInterface i{r.operator()<GetCommitVersionStream>(w.get_commit_version),
                    r.operator()<ReportCommittedStream>(w.report_committed),
                    r.operator()<GetLiveCommittedVersionStream>(w.get_live_committed_version)};
  return if_whole(r, std::move(i));
}

std::optional<GrvProxyInterface> from_wire(const wire_worker::GrvProxyInterfaceT& w) {
  EndpointReader r;
  GrvProxyInterface i{r.operator()<GetReadVersionStream>(w.get_read_version)};
  return if_whole(r, std::move(i));
}

std::optional<CommitProxyInterface> from_wire(const wire_worker::CommitProxyInterfaceT& w) {
  EndpointReader r;
  CommitProxyInterface i{r.operator()<CommitTransactionStream>(w.commit),
                         r.operator()<GetKeyServerLocationsStream>(w.get_key_server_locations)};
  return if_whole(r, std::move(i));
}

std::optional<ResolverInterface> from_wire(const wire_worker::ResolverInterfaceT& w) {
  EndpointReader r;
  ResolverInterface i{r.operator()<ResolveBatchStream>(w.resolve)};
  return if_whole(r, std::move(i));
}

std::optional<StorageServerInterface> from_wire(const wire_worker::StorageServerInterfaceT& w) {
  EndpointReader r;
  StorageServerInterface i{r.operator()<GetValueStream>(w.get_value), r.operator()<GetKeyStream>(w.get_key),
                           r.operator()<GetKeyValuesStream>(w.get_key_values),
                           r.operator()<SetLogSystemStream>(w.set_log_system),
                           r.operator()<GetMetricsStream>(w.get_metrics)};
  return if_whole(r, std::move(i));
}

strata::wire::KeyRangeT to_wire(const KeyRange& r) {
  strata::wire::KeyRangeT w;
  w.begin = as_bytes(r.begin);
  w.end = as_bytes(r.end);
  return w;
}

KeyRange from_wire(const strata::wire::KeyRangeT& w) { return {as_string(w.begin), as_string(w.end)}; }

std::vector<std::unique_ptr<strata::wire::commit_proxy::ShardLocationT>> to_wire(const ShardMap& map) {
  std::vector<std::unique_ptr<strata::wire::commit_proxy::ShardLocationT>> w;
  for (const Shard& s : map.shards())
    w.push_back(std::make_unique<strata::wire::commit_proxy::ShardLocationT>(to_wire(s)));
  return w;
}

std::optional<ShardMap> from_wire(
    const std::vector<std::unique_ptr<strata::wire::commit_proxy::ShardLocationT>>& w) {
  std::vector<Shard> shards;
  for (const auto& location : w) {
    if (!location) return std::nullopt;
    Shard s{{as_string(location->begin), as_string(location->end)}, {}};
    for (const auto& server : location->servers) {
      if (!server) return std::nullopt;
      s.servers.push_back({{server->ip, server->port}, server->tag});
    }
    shards.push_back(std::move(s));
  }
  flow::ErrorOr<ShardMap> map = ShardMap::make(std::move(shards));
  if (!map.ok()) return std::nullopt;
  return std::move(map.get());
}

}  // namespace roles
