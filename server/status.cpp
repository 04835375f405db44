#include "server/status.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "client/printable.h"
#include "flow/actor.h"
#include "flow/combinators.h"
#include "roles/storage_server/storage_server_interface.h"

namespace server {

using namespace roles;

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u >= 0x7f) {
      out += fmt::format("\\u{:04x}", u);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

namespace {

std::string address_list(const std::vector<flow::NetworkAddress>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i)
    out += (i ? ", " : "") + json_string(v[i].to_string());
  return out + "]";
}

}  // namespace

std::string status_json(const ControllerStatus& s) {
  // Each process's roles, by address (ordered: deterministic).
  std::map<flow::NetworkAddress, std::vector<std::string>> roles_at;
  std::string generation = "null";
  std::string storage = "[]";
  int replication = 0;
  if (s.state != nullptr) {
    const ClusterState& st = *s.state;
    if (st.running) {
      const RunningRoles& r = *st.running;
      roles_at[r.master].push_back("master");
      for (const auto& a : r.grv_proxies)
        roles_at[a].push_back("grv_proxy");
      for (const auto& a : r.commit_proxies)
        roles_at[a].push_back("commit_proxy");
      for (const auto& a : r.resolvers)
        roles_at[a].push_back("resolver");
      for (const auto& a : r.logs)
        roles_at[a].push_back("log");
      generation = fmt::format(
          "{{\"epoch\": {}, \"master\": {}, \"grv_proxies\": {}, \"commit_proxies\": {}, "
          "\"resolvers\": {}, "
          "\"logs\": {}}}",
          r.epoch, json_string(r.master.to_string()), address_list(r.grv_proxies),
          address_list(r.commit_proxies), address_list(r.resolvers), address_list(r.logs));
    }
    storage = "[";
    for (size_t i = 0; i < st.shards.shards().size(); ++i) {
      const Shard& shard = st.shards.shards()[i];
      std::vector<flow::NetworkAddress> team;
      for (const StorageServerRef& server : shard.servers) {
        team.push_back(server.address);
        roles_at[server.address].push_back("storage");
      }
      replication = replication == 0 ? static_cast<int>(team.size())
                                     : std::min(replication, static_cast<int>(team.size()));
      storage += fmt::format("{}{{\"begin\": {}, \"end\": {}, \"team\": {}}}", i ? ", " : "",
                             json_string(client::printable(shard.range.begin)),
                             json_string(client::printable(shard.range.end)), address_list(team));
    }
    storage += "]";
  }
  std::string processes = "[";
  for (size_t i = 0; i < s.workers.size(); ++i) {
    const WorkerRegistration& w = s.workers[i];
    std::string roles = "[";
    const auto found = roles_at.find(w.address);
    if (found != roles_at.end())
      for (size_t j = 0; j < found->second.size(); ++j)
        roles += (j ? ", " : "") + json_string(found->second[j]);
    roles += "]";
    processes +=
        fmt::format("{}{{\"address\": {}, \"machine\": {}, \"class\": {}, \"roles\": {}}}",
                    i ? ", " : "", json_string(w.address.to_string()), json_string(w.machine),
                    json_string(class_name(w.process_class)), roles);
  }
  processes += "]";
  std::string missing = "[";  // roles whose process has not registered lately
  bool first = true;
  for (const auto& [address, names] : roles_at) {
    const bool registered =
        std::any_of(s.workers.begin(), s.workers.end(),
                    [&](const WorkerRegistration& w) { return w.address == address; });
    if (registered) continue;
    missing += (first ? "" : ", ") + json_string(address.to_string());
    first = false;
  }
  missing += "]";
  const ClusterState* st = s.state;
  const std::string data =
      s.data ? fmt::format("{{\"logical_bytes\": {}, \"stored_bytes\": {}, \"disk_bytes\": {}, \"storage_servers\": {}, "
                           "\"storage_servers_answering\": {}}}",
                           s.data->logical_bytes, s.data->stored_bytes, s.data->disk_bytes, s.data->servers,
                           s.data->answered)
             : "null";
  return fmt::format(
      "{{\"recovery_state\": {}, \"cluster_description\": {}, \"controller\": {}, "
      "\"leading_seconds\": {:.3f}, "
      "\"recoveries\": {}, \"last_recovery_seconds\": {:.3f}, \"epoch\": {}, \"replication\": {}, "
      "\"locked\": {}, "
      "\"configured_counts\": {{\"grv_proxies\": {}, \"commit_proxies\": {}, \"logs\": {}, "
      "\"resolvers\": {}}}, "
      "\"generation\": {}, \"shards\": {}, \"data\": {}, \"processes\": {}, \"unregistered_role_hosts\": {}}}",
      json_string(s.recovery_state), json_string(s.cluster.to_string()),
      json_string(s.controller.to_string()), s.leading_seconds, s.recoveries,
      s.last_recovery_seconds, st ? st->epoch : 0, replication,
      st && !st->lock_uid.empty() ? "true" : "false", st ? st->counts.grv_proxies : 0,
      st ? st->counts.commit_proxies : 0, st ? st->counts.logs : 0, st ? st->counts.resolvers : 0,
      generation, storage, data, processes, missing);
}

StoredData gather_stored_data(const ShardMap& shards, flow::Duration within) {
  StoredData out;
  std::vector<std::vector<flow::Future<std::optional<wire_storage::GetMetricsReplyT>>>> asked;
  for (const Shard& shard : shards.shards()) {
    asked.emplace_back();
    for (const StorageServerRef& server : shard.servers) {
      ++out.servers;
      const StorageServerInterface remote = StorageServerInterface::remote(server.address, server.tag);
      asked.back().push_back(flow::spawn([remote, within]() -> std::optional<wire_storage::GetMetricsReplyT> {
        try {
          return flow::wait(flow::timeout(remote.get_metrics.get_reply({}), within));
        } catch (const flow::Error& e) {
          if (e.code() == flow::ErrorCode::operation_cancelled) throw;
          return std::nullopt;  // down, restarting, or still opening
        }
      }));
    }
  }
  for (auto& team : asked) {
    bool counted = false;
    for (auto& f : team) {
      const std::optional<wire_storage::GetMetricsReplyT> m = flow::wait(f);
      if (!m) continue;
      ++out.answered;
      out.stored_bytes += m->live_bytes;
      out.disk_bytes += m->disk_bytes;
      if (!counted) out.logical_bytes += m->live_bytes;
      counted = true;
    }
  }
  return out;
}

void serve_status(const StatusStream& stream, const std::function<ControllerStatus()>& now) {
  const auto requests = stream.requests();
  for (;;) {
    auto in = flow::wait_next(requests);
    ControllerStatus s = now();
    if (s.state != nullptr) {
      const ShardMap shards = s.state->shards;  // the state may change while the servers answer
      s.data = gather_stored_data(shards, std::chrono::seconds(1));
      s = [&] {
        ControllerStatus again = now();  // as of the answers
        again.data = s.data;
        return again;
      }();
    }
    wire_cc::StatusReplyT reply;
    reply.json = status_json(s);
    in.reply.send(reply);
  }
}

}  // namespace server
