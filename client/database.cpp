#include "client/database.h"

#include "flow/assert.h"
#include "flow/code_probe.h"
#include "flow/deterministic_random.h"
#include "roles/common/shard_map.h"

namespace client {

Database::Database(ClusterInterfaces interfaces) : interfaces_(std::move(interfaces)) {
  ASSERT(!interfaces_.grv_proxies.empty());
  ASSERT(!interfaces_.commit_proxies.empty());
}

void Database::set_interfaces(ClusterInterfaces interfaces) {
  ASSERT(!interfaces.grv_proxies.empty());
  ASSERT(!interfaces.commit_proxies.empty());
  interfaces_ = std::move(interfaces);
}

const roles::GrvProxyInterface& Database::grv_proxy() const {
  const auto n = static_cast<int64_t>(interfaces_.grv_proxies.size());
  return interfaces_.grv_proxies[static_cast<size_t>(flow::deterministic_random().random_int(0, n))];
}

const roles::CommitProxyInterface& Database::commit_proxy() const {
  const auto n = static_cast<int64_t>(interfaces_.commit_proxies.size());
  return interfaces_.commit_proxies[static_cast<size_t>(flow::deterministic_random().random_int(0, n))];
}

const ShardLocation* Database::cached(std::string_view key, bool before) const {
  if (before) {
    auto it = locations_.lower_bound(key);  // the first shard beginning at or after key
    if (it != locations_.begin() && key <= std::prev(it)->second.end) return &std::prev(it)->second;
  } else {
    auto it = locations_.upper_bound(key);
    if (it != locations_.begin() && key < std::prev(it)->second.end) return &std::prev(it)->second;
  }
  return nullptr;
}

void Database::fetch_locations(std::string_view begin, std::string_view end, bool reverse) {
  roles::wire_proxy::GetKeyServerLocationsRequestT request;
  request.begin.assign(begin.begin(), begin.end());
  request.end.assign(end.begin(), end.end());
  request.limit = 8;  // a few shards at a time: reads usually go on into the next ones
  request.reverse = reverse;
  const auto reply = flow::wait(commit_proxy().get_key_server_locations.get_reply(request));
  for (const auto& s : reply.shards) {
    if (!s) continue;
    ShardLocation location{std::string(s->begin.begin(), s->begin.end()),
                           std::string(s->end.begin(), s->end.end()), {}};
    for (const auto& a : s->servers)
      if (a) location.servers.push_back(roles::StorageServerInterface::remote({a->ip, a->port}, a->tag));
    if (location.servers.empty() || !(location.begin < location.end)) continue;
    // Whatever the cache held overlapping this shard is older news.
    locations_.erase(locations_.lower_bound(location.begin), locations_.lower_bound(location.end));
    auto before = locations_.lower_bound(location.begin);
    if (before != locations_.begin() && std::prev(before)->second.end > location.begin)
      locations_.erase(std::prev(before));
    locations_.emplace(location.begin, std::move(location));
  }
}

const ShardLocation& Database::location_of(std::string_view key) {
  if (const ShardLocation* hit = cached(key, false)) return *hit;
  fetch_locations(key, roles::kKeyspaceEnd, false);
  if (const ShardLocation* hit = cached(key, false)) return *hit;
  // A proxy that does not name the key's shard: treat it as a server we could not reach.
  throw flow::Error(flow::ErrorCode::broken_promise);
}

const ShardLocation& Database::location_before(std::string_view key) {
  ASSERT(!key.empty());
  if (const ShardLocation* hit = cached(key, true)) return *hit;
  fetch_locations("", key, true);
  if (const ShardLocation* hit = cached(key, true)) return *hit;
  throw flow::Error(flow::ErrorCode::broken_promise);
}

void Database::invalidate(std::string_view key) {
  auto it = locations_.upper_bound(key);
  if (it != locations_.begin() && key < std::prev(it)->second.end) {
    CODE_PROBE(true, "client drops a location from its cache");
    locations_.erase(std::prev(it));
  }
}

}  // namespace client
