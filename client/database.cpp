#include "client/database.h"

#include <algorithm>
#include <chrono>

#include "flow/assert.h"
#include "flow/code_probe.h"
#include "flow/deterministic_random.h"
#include "flow/combinators.h"
#include "client/cluster_monitor.h"
#include "roles/common/database_lock.h"
#include "roles/common/shard_map.h"

using namespace std::chrono_literals;

namespace client {

namespace {

// How long lock() and unlock() wait for a cluster controller to be known.
constexpr flow::Duration kControllerWaitMax = 60s;

}  // namespace

Database::Database(roles::ClusterDescription cluster) : cluster_(std::move(cluster)) {
  // What CoordinatedState requires: parse_cluster_description refuses the same.
  std::vector<flow::NetworkAddress> sorted = cluster_.coordinators;
  std::sort(sorted.begin(), sorted.end());
  if (sorted.empty() || sorted.size() > roles::kCoordinatorsMax || std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
    throw flow::Error(flow::ErrorCode::invalid_option_value);
  monitor_ = flow::spawn([this] { monitor_cluster(*this); });
}

Database::Database(ClusterInterfaces interfaces) : interfaces_(std::move(interfaces)) {
  ASSERT(!interfaces_.grv_proxies.empty());
  ASSERT(!interfaces_.commit_proxies.empty());
}

void Database::set_interfaces(ClusterInterfaces interfaces) {
  ASSERT(!interfaces.grv_proxies.empty());
  ASSERT(!interfaces.commit_proxies.empty());
  interfaces_ = std::move(interfaces);
  interfaces_set_.set(interfaces_set_.get() + 1);
}

void Database::wait_for_interfaces() {
  while (interfaces_.grv_proxies.empty()) {
    CODE_PROBE(true, "a transaction waits for the client to find the proxies");
    flow::wait(interfaces_set_.on_change());
  }
}

void Database::lock(std::string_view uid) { change_lock(uid, true); }

void Database::unlock(std::string_view uid) { change_lock(uid, false); }

template <class Request, class Reply>
Reply Database::ask_controller(net::RequestStream<Request, Reply> roles::ClusterControllerInterface::*stream,
                               const Request& request) {
  flow::Duration backoff = 10ms;
  for (;;) {
    // A controller is being elected (or the one before died): wait for the next a while.
    const flow::Time waited_since = flow::now();
    while (!controller_) {
      if (flow::now() - waited_since >= kControllerWaitMax) throw flow::Error(flow::ErrorCode::operation_failed);
      CODE_PROBE(true, "client waits for a cluster controller to ask");
      flow::wait(flow::delay(100ms));
    }
    try {
      return flow::wait(((*controller_).*stream).get_reply(request));
    } catch (const flow::Error& e) {
      if (e.code() != flow::ErrorCode::request_maybe_delivered && e.code() != flow::ErrorCode::broken_promise &&
          e.code() != flow::ErrorCode::connection_failed)
        throw;
      CODE_PROBE(true, "client asks the controller again");
    }
    flow::wait(flow::delay(backoff));
    backoff = std::min(backoff * 2, flow::Duration(1s));
  }
}

void Database::change_lock(std::string_view uid, bool lock) {
  if (!roles::lock_uid_ok(uid)) throw flow::Error(flow::ErrorCode::invalid_option_value);
  roles::wire_cc::LockDatabaseRequestT request;
  request.uid.assign(uid.begin(), uid.end());
  request.lock = lock;
  // Asking again is safe: the same change twice is the change once.
  ask_controller(&roles::ClusterControllerInterface::lock_database, request);
}

roles::ClusterDescription Database::change_coordinators(std::string_view mode,
                                                        const std::vector<flow::NetworkAddress>& addresses) {
  if (addresses.empty() && mode != "auto" && mode != "random") throw flow::Error(flow::ErrorCode::invalid_option_value);
  if (addresses.size() > roles::kCoordinatorsMax) throw flow::Error(flow::ErrorCode::invalid_option_value);
  roles::wire_cc::ChangeCoordinatorsRequestT request;
  request.mode = std::string(mode);
  for (const flow::NetworkAddress& a : addresses) {
    if (std::count(addresses.begin(), addresses.end(), a) > 1) throw flow::Error(flow::ErrorCode::invalid_option_value);
    request.addresses.push_back(a.to_string());
  }
  const roles::wire_cc::ChangeCoordinatorsReplyT reply =
      ask_controller(&roles::ClusterControllerInterface::change_coordinators, request);
  flow::ErrorOr<roles::ClusterDescription> after = roles::parse_cluster_description(reply.description);
  if (!after.ok()) throw flow::Error(flow::ErrorCode::malformed_message);
  return std::move(after.get());
}

void Database::configure(std::string_view text) {
  roles::wire_cc::ConfigureRequestT request;
  if (roles::is_new_database(text)) {
    const flow::ErrorOr<roles::NewDatabase> wanted = roles::parse_new_database(text);
    if (!wanted.ok()) throw wanted.error();
    request.create = true;
    request.replication = wanted.get().replication;
    request.engine = wanted.get().engine;
    request.grv_proxies = wanted.get().counts.grv_proxies;
    request.commit_proxies = wanted.get().counts.commit_proxies;
    request.logs = wanted.get().counts.logs;
    request.resolvers = wanted.get().counts.resolvers;
    // Asking again is safe: a creation lost with its answer is answered database_already_created.
    ask_controller(&roles::ClusterControllerInterface::configure, request);
    return;
  }
  const flow::ErrorOr<roles::RoleCounts> counts = roles::parse_configuration(text, {});
  if (!counts.ok()) throw counts.error();
  request.grv_proxies = counts.get().grv_proxies;
  request.commit_proxies = counts.get().commit_proxies;
  request.logs = counts.get().logs;
  request.resolvers = counts.get().resolvers;
  // Asking again is safe: the same counts twice are the change once.
  ask_controller(&roles::ClusterControllerInterface::configure, request);
}

std::string Database::controller_status() {
  return ask_controller(&roles::ClusterControllerInterface::status, roles::wire_cc::StatusRequestT{}).json;
}

const roles::GrvProxyInterface& Database::grv_proxy() {
  wait_for_interfaces();
  const auto n = static_cast<int64_t>(interfaces_.grv_proxies.size());
  return interfaces_.grv_proxies[static_cast<size_t>(flow::deterministic_random().random_int(0, n))];
}

const roles::CommitProxyInterface& Database::commit_proxy() {
  wait_for_interfaces();
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
