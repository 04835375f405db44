#include "roles/worker/start_generation.h"

#include <chrono>
#include <memory>
#include <utility>

#include "flow/actor.h"
#include "flow/trace_event.h"
#include "roles/common/database_lock.h"
#include "roles/worker/interface_wire.h"
#include "roles/worker/role_endpoints.h"
#include "roles/worker/worker_interface.h"

namespace roles {

namespace {

using namespace std::chrono_literals;

// Sends `request` until the worker answers it: a request lost with its connection, or one the
// worker's disk failed, is sent again (the worker answers a repeat as the first). Throws what the
// worker refuses with. May suspend.
template <class Req, class Rep>
Rep ask(const net::RequestStream<Req, Rep>& stream, const Req& request, bool resend) {
  for (;;) {
    try {
      return flow::wait(stream.get_reply(request));
    } catch (const flow::Error& e) {
      if (e.code() == flow::ErrorCode::operation_cancelled || e.code() == flow::ErrorCode::invalid_role_request ||
          e.code() == flow::ErrorCode::role_already_running || !resend)
        throw;
      flow::TraceEvent(flow::SevInfo, "StartGenerationRetrying")
          .detail("Worker", stream.endpoint().address.to_string())
          .detail("Error", e);
    }
    flow::wait(flow::delay(100ms));
  }
}

// The interface in a worker's reply; operation_failed if it is not whole.
template <class Wire>
auto interface_of(const std::unique_ptr<Wire>& w) {
  auto i = from_wire_ptr(w);
  if (!i) {
    flow::TraceEvent(flow::SevWarnAlways, "StartGenerationInterfaceNotWhole");
    throw flow::Error(flow::ErrorCode::operation_failed);
  }
  return std::move(*i);
}

template <class Placed>
bool tiles_keyspace(const std::vector<Placed>& placed) {
  std::string covered;
  for (const Placed& p : placed) {
    if (p.keys.begin != covered || p.keys.empty()) return false;
    covered = p.keys.end;
  }
  return covered == kKeyspaceEnd;
}

template <class T>
std::unique_ptr<T> boxed(T t) {
  return std::make_unique<T>(std::move(t));
}

}  // namespace

Generation start_generation(const GenerationPlan& plan) {
  size_t storage_servers = 0;
  for (const GenerationPlan::Team& t : plan.storage_teams) storage_servers += t.at.empty() ? 0xffff : t.at.size();
  if (!tiles_keyspace(plan.resolvers) || (!plan.shards && !tiles_keyspace(plan.storage_teams)) ||
      (plan.shards && !plan.storage_teams.empty()) || plan.logs.empty() ||
      plan.grv_proxies.empty() || plan.commit_proxies.empty() || plan.logs.size() > kRoleIndexMax ||
      plan.resolvers.size() > kRoleIndexMax || plan.grv_proxies.size() > kRoleIndexMax ||
      plan.commit_proxies.size() > kRoleIndexMax || storage_servers >= 0xffff ||
      (!plan.lock_uid.empty() && !lock_uid_ok(plan.lock_uid)))
    throw flow::Error(flow::ErrorCode::invalid_option_value);
  const auto worker = [](const flow::NetworkAddress& a) { return WorkerInterface::remote(a); };
  const bool resend = plan.resend_lost_requests;

  // The master, the logs and the resolvers are asked at once (each waits only for its worker),
  // then the storage servers and the proxies, which are told of them.
  wire_worker::InitializeMasterRequestT master;
  master.epoch = plan.epoch;
  master.start_version = plan.start_version;
  flow::Future<wire_worker::InitializeMasterReplyT> master_reply =
      flow::spawn([resend, to = worker(plan.master), master] {
        return ask(to.initialize_master, master, resend);
      });

  std::vector<flow::Future<wire_worker::InitializeTLogReplyT>> log_replies;
  for (uint32_t i = 0; i < plan.logs.size(); ++i) {
    wire_worker::InitializeTLogRequestT r;
    r.epoch = plan.epoch;
    r.index = i;
    r.start_version = plan.start_version;
    r.queue_file_bytes = plan.queue_file_bytes;
    log_replies.push_back(
        flow::spawn([resend, to = worker(plan.logs[i]), r] { return ask(to.initialize_tlog, r, resend); }));
  }

  std::vector<flow::Future<wire_worker::InitializeResolverReplyT>> resolver_replies;
  for (uint32_t i = 0; i < plan.resolvers.size(); ++i) {
    wire_worker::InitializeResolverRequestT r;
    r.epoch = plan.epoch;
    r.index = i;
    r.start_version = plan.start_version;
    resolver_replies.push_back(
        flow::spawn([resend, to = worker(plan.resolvers[i].at), r] {
          return ask(to.initialize_resolver, r, resend);
        }));
  }

  // Made from the master's interface, not default-constructed: a default interface would make
  // endpoints of its own in this process.
  Generation g{.master = interface_of(flow::wait(master_reply).interface),
               .grv_proxies = {},
               .commit_proxies = {},
               .logs = {},
               .shards = {}};
  std::vector<TLogInterface> logs;
  for (auto& reply : log_replies) logs.push_back(interface_of(flow::wait(reply).interface));
  std::vector<ResolverAssignment> resolvers;
  for (size_t i = 0; i < resolver_replies.size(); ++i)
    resolvers.push_back({plan.resolvers[i].keys, interface_of(flow::wait(resolver_replies[i]).interface)});

  g.logs = logs;
  std::vector<Shard> shards;
  Tag next_tag = plan.first_storage_tag;
  for (const GenerationPlan::Team& team : plan.storage_teams) {
    Shard shard{team.keys, {}};
    for (const flow::NetworkAddress& at : team.at) {
      const Tag tag = next_tag++;
      wire_worker::InitializeStorageServerRequestT r;
      r.epoch = plan.epoch;
      r.tag = tag;
      r.shards.push_back(boxed(to_wire(team.keys)));
      for (const TLogInterface& log : logs) r.logs.push_back(boxed(to_wire(log)));
      r.engine = plan.engine;
      r.start_version = plan.start_version;
      r.log_file_bytes = plan.engine_options.log_file_bytes;
      r.cache_kib = plan.engine_options.cache_kib;
      ask(worker(at).initialize_storage_server, r, resend);
      shard.servers.push_back({at, tag});
    }
    shards.push_back(std::move(shard));
  }
  if (plan.shards) {
    g.shards = *plan.shards;
  } else {
    flow::ErrorOr<ShardMap> map = ShardMap::make(shards);
    if (!map.ok()) throw map.error();
    g.shards = std::move(map.get());
  }

  std::vector<flow::Future<wire_worker::InitializeGrvProxyReplyT>> grv_replies;
  std::vector<flow::Future<wire_worker::InitializeCommitProxyReplyT>> proxy_replies;
  for (uint32_t i = 0; i < plan.grv_proxies.size(); ++i) {
    wire_worker::InitializeGrvProxyRequestT r;
    r.epoch = plan.epoch;
    r.index = i;
    r.master = boxed(to_wire(g.master));
    for (const TLogInterface& log : logs) r.logs.push_back(boxed(to_wire(log)));
    r.lock_uid = plan.lock_uid;
    grv_replies.push_back(flow::spawn(
        [resend, to = worker(plan.grv_proxies[i]), r = std::move(r)] {
          return ask(to.initialize_grv_proxy, r, resend);
        }));
  }
  for (uint32_t i = 0; i < plan.commit_proxies.size(); ++i) {
    wire_worker::InitializeCommitProxyRequestT r;
    r.epoch = plan.epoch;
    r.index = i;
    r.proxy_id = i + 1;
    r.master = boxed(to_wire(g.master));
    for (const ResolverAssignment& a : resolvers) {
      auto w = std::make_unique<wire_worker::ResolverAssignmentT>();
      w->keys = boxed(to_wire(a.keys));
      w->resolver = boxed(to_wire(a.resolver));
      r.resolvers.push_back(std::move(w));
    }
    for (const TLogInterface& log : logs) r.logs.push_back(boxed(to_wire(log)));
    r.shards = to_wire(g.shards);
    if (i == 0) {  // a recovery writes the map and the lock again, as its recovery transaction
      for (const Mutation& m : shard_map_mutations(g.shards)) r.first_batch_mutations.push_back(boxed(to_wire(m)));
      r.first_batch_mutations.push_back(boxed(to_wire(lock_mutation(plan.lock_uid))));
    }
    r.lock_uid = plan.lock_uid;
    proxy_replies.push_back(flow::spawn(
        [resend, to = worker(plan.commit_proxies[i]), r = std::move(r)] {
          return ask(to.initialize_commit_proxy, r, resend);
        }));
  }
  for (auto& reply : grv_replies) g.grv_proxies.push_back(interface_of(flow::wait(reply).interface));
  for (auto& reply : proxy_replies) g.commit_proxies.push_back(interface_of(flow::wait(reply).interface));
  flow::TraceEvent(flow::SevInfo, "GenerationStarted")
      .detail("Epoch", static_cast<int64_t>(plan.epoch))
      .detail("Logs", static_cast<int64_t>(logs.size()))
      .detail("StorageServers", static_cast<int64_t>(g.shards.shards().size()));
  return g;
}

}  // namespace roles
