#include "workloads/database_cluster.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "flow/actor.h"
#include "flow/combinators.h"
#include "flow/deterministic_random.h"
#include "flow/trace_event.h"
#include "roles/commit_proxy/commit_proxy_interface.h"
#include "roles/grv_proxy/grv_proxy_interface.h"
#include "roles/master/master_interface.h"
#include "roles/resolver/resolver_interface.h"
#include "roles/storage_server/storage_server_interface.h"
#include "roles/tlog/tlog_interface.h"
#include "roles/worker/interface_wire.h"
#include "roles/worker/worker_interface.h"

namespace workloads {

using namespace roles;

namespace {

using namespace std::chrono_literals;

// Sends `request` until the worker answers it: a request lost with its connection, or one the
// worker's disk failed, is sent again (the worker answers a repeat as the first). Throws what the
// worker refuses with (invalid_role_request, role_already_running). May suspend.
template <class Req, class Rep>
Rep ask(const net::RequestStream<Req, Rep>& stream, const Req& request) {
  for (;;) {
    try {
      return flow::wait(stream.get_reply(request));
    } catch (const flow::Error& e) {
      if (e.code() == flow::ErrorCode::operation_cancelled || e.code() == flow::ErrorCode::invalid_role_request ||
          e.code() == flow::ErrorCode::role_already_running)
        throw;
      flow::TraceEvent(flow::SevInfo, "BringUpRetrying").detail("Error", e);
    }
    flow::wait(flow::delay(100ms));
  }
}

// The interface in a worker's reply; operation_failed if it is not whole.
template <class Wire>
auto interface_of(const std::unique_ptr<Wire>& w) {
  auto i = from_wire_ptr(w);
  if (!i) {
    flow::TraceEvent(flow::SevError, "BringUpInterfaceNotWhole");
    throw flow::Error(flow::ErrorCode::operation_failed);
  }
  return std::move(*i);
}

// Boundaries that split ["", kKeyspaceEnd) into `n` ranges: "\xff" first (the system keys get a
// range of their own when there are two or more), then short keys: about half among the
// workloads' keys (a hint and a few of the characters keys are made of), the rest random.
std::vector<std::string> draw_boundaries(flow::DeterministicRandom& rng, size_t n,
                                         const std::vector<std::string>& hints) {
  static constexpr std::string_view kKeyChars = "0123456789/akxz";
  std::vector<std::string> cuts;
  if (n >= 2) cuts.push_back("\xff");
  while (cuts.size() + 1 < n) {
    std::string k;
    if (!hints.empty() && rng.coinflip()) {
      k = hints[static_cast<size_t>(rng.random_int(0, static_cast<int64_t>(hints.size())))];
      for (int64_t i = rng.random_int(0, 4); i > 0; --i)
        k += kKeyChars[static_cast<size_t>(rng.random_int(0, static_cast<int64_t>(kKeyChars.size())))];
      if (k.empty() || k >= "\xff") continue;
    } else {
      k.assign(static_cast<size_t>(rng.random_int(1, 3)), '\0');
      for (char& c : k) c = static_cast<char>(rng.random_int(0, 255));  // below \xff
    }
    if (std::find(cuts.begin(), cuts.end(), k) == cuts.end()) cuts.push_back(k);
  }
  std::sort(cuts.begin(), cuts.end());
  std::vector<std::string> out{""};
  out.insert(out.end(), cuts.begin(), cuts.end());
  out.emplace_back(kKeyspaceEnd);
  return out;
}

// Starts every role, from the seed's draws. May suspend.
// `first_proxy`: the GRV proxies and the first commit proxy, for the bring-up's transaction.
std::unique_ptr<client::Database> start(WorkloadContext& ctx, client::ClusterInterfaces& first_proxy) {
  auto& rng = flow::deterministic_random();
  std::vector<sim::Simulator::SimProcess*> processes;
  for (size_t i = 0; i < ctx.sim.process_count(); ++i)
    if (!ctx.sim.process(i).is_protected) processes.push_back(&ctx.sim.process(i));
  if (processes.empty()) throw flow::Error(flow::ErrorCode::operation_failed);
  // The roles that hold only memory (master, proxies, resolvers) go on processes that do no disk
  // work: a failed sync ends its process (flow::fail_stop), and until step 3 nothing recovers
  // the transaction system from the loss of one of them. The logs and storage servers go on the
  // others, and come back from their disks.
  for (size_t i = processes.size(); i > 1; --i)
    std::swap(processes[i - 1], processes[static_cast<size_t>(rng.random_int(0, static_cast<int64_t>(i)))]);
  const size_t memory_only = processes.size() == 1 ? 1 : std::max<size_t>(1, processes.size() / 3);
  const std::vector<sim::Simulator::SimProcess*> stateless(processes.begin(),
                                                           processes.begin() + static_cast<std::ptrdiff_t>(memory_only));
  const std::vector<sim::Simulator::SimProcess*> durable(
      processes.size() == 1 ? processes.begin() : processes.begin() + static_cast<std::ptrdiff_t>(memory_only),
      processes.end());
  const auto pick_from = [&rng](const std::vector<sim::Simulator::SimProcess*>& from) {
    return from[static_cast<size_t>(rng.random_int(0, static_cast<int64_t>(from.size())))];
  };
  // With two or more durable processes, the logs and the storage servers get their own, so
  // that a storage server can be rebooted alone (RebootStorage).
  const size_t log_processes = durable.size() >= 2 ? durable.size() / 2 : durable.size();
  const std::vector<sim::Simulator::SimProcess*> log_hosts(durable.begin(),
                                                           durable.begin() + static_cast<std::ptrdiff_t>(log_processes));
  const std::vector<sim::Simulator::SimProcess*> storage_hosts(
      durable.size() >= 2 ? durable.begin() + static_cast<std::ptrdiff_t>(log_processes) : durable.begin(),
      durable.end());
  const auto pick = [&] { return pick_from(stateless); };
  const auto pick_log_host = [&] { return pick_from(log_hosts); };
  const auto pick_storage_host = [&] { return pick_from(storage_hosts); };
  const size_t grv_count = static_cast<size_t>(rng.random_int(1, 4));
  const size_t proxy_count = static_cast<size_t>(rng.random_int(1, 5));
  const size_t resolver_count = static_cast<size_t>(rng.random_int(1, 5));
  const size_t log_count = static_cast<size_t>(rng.random_int(1, 5));
  const size_t storage_count = static_cast<size_t>(rng.random_int(1, 9));
  const std::string engine = rng.coinflip() ? "memory" : "ssd";
  // Small files: laps of the logs' and the memory engine's DiskQueues come sooner, and the
  // simulated disks need not zero 64 MiB per file.
  const int64_t queue_file_bytes = int64_t{1} << rng.random_int(20, 23);
  storage::KeyValueStoreOptions engine_options;
  engine_options.log_file_bytes = queue_file_bytes;
  engine_options.cache_kib = 4 * 1024;
  const uint64_t epoch = 1;
  const Version start_version = 0;

  // A worker on every process; the bring-up asks them for the roles.
  for (sim::Simulator::SimProcess* p : processes) ctx.sim.add_role(*p, "worker", [] { run_worker(); });
  const auto worker = [](const sim::Simulator::SimProcess* p) { return WorkerInterface::remote(p->address); };

  sim::Simulator::SimProcess* master_at = pick();
  wire_worker::InitializeMasterRequestT master_request;
  master_request.epoch = epoch;
  master_request.start_version = start_version;
  const MasterInterface master =
      interface_of(ask(worker(master_at).initialize_master, master_request).interface);
  std::string placement = fmt::format("master {}", master_at->name);

  std::vector<TLogInterface> logs;
  for (uint32_t i = 0; i < log_count; ++i) {
    sim::Simulator::SimProcess* p = pick_log_host();
    wire_worker::InitializeTLogRequestT r;
    r.epoch = epoch;
    r.index = i;
    r.start_version = start_version;
    r.queue_file_bytes = queue_file_bytes;
    logs.push_back(interface_of(ask(worker(p).initialize_tlog, r).interface));
    placement += fmt::format(", tlog{} {}", i, p->name);
  }

  const std::vector<std::string> resolver_cuts = draw_boundaries(rng, resolver_count, ctx.key_hints);
  std::vector<ResolverAssignment> resolvers;
  for (uint32_t i = 0; i + 1 < resolver_cuts.size(); ++i) {
    sim::Simulator::SimProcess* p = pick();
    wire_worker::InitializeResolverRequestT r;
    r.epoch = epoch;
    r.index = i;
    r.start_version = start_version;
    resolvers.push_back({{resolver_cuts[i], resolver_cuts[i + 1]},
                         interface_of(ask(worker(p).initialize_resolver, r).interface)});
    placement += fmt::format(", resolver{} {}", i, p->name);
  }

  const std::vector<std::string> shard_cuts = draw_boundaries(rng, storage_count, ctx.key_hints);
  std::vector<Shard> shards;
  for (size_t i = 0; i + 1 < shard_cuts.size(); ++i) {
    sim::Simulator::SimProcess* p = pick_storage_host();
    const Tag tag = static_cast<Tag>(i + 1);
    const KeyRange range{shard_cuts[i], shard_cuts[i + 1]};
    wire_worker::InitializeStorageServerRequestT r;
    r.epoch = epoch;
    r.tag = tag;
    r.shards.push_back(std::make_unique<strata::wire::KeyRangeT>(to_wire(range)));
    for (const TLogInterface& log : logs) r.logs.push_back(std::make_unique<wire_worker::TLogInterfaceT>(to_wire(log)));
    r.engine = engine;
    r.start_version = start_version;
    r.log_file_bytes = engine_options.log_file_bytes;
    r.cache_kib = engine_options.cache_kib;
    ask(worker(p).initialize_storage_server, r);
    shards.push_back({range, {{p->address, tag}}});
    placement += fmt::format(", storage{} {}", tag, p->name);
  }
  flow::ErrorOr<ShardMap> map = ShardMap::make(shards);
  ASSERT(map.ok());  // drawn here: sorted, contiguous, covering

  client::ClusterInterfaces interfaces;
  for (uint32_t i = 0; i < grv_count; ++i) {
    sim::Simulator::SimProcess* p = pick();
    wire_worker::InitializeGrvProxyRequestT r;
    r.epoch = epoch;
    r.index = i;
    r.master = std::make_unique<wire_worker::MasterInterfaceT>(to_wire(master));
    interfaces.grv_proxies.push_back(interface_of(ask(worker(p).initialize_grv_proxy, r).interface));
    placement += fmt::format(", grv_proxy{} {}", i, p->name);
  }
  for (uint32_t i = 0; i < proxy_count; ++i) {
    sim::Simulator::SimProcess* p = pick();
    wire_worker::InitializeCommitProxyRequestT r;
    r.epoch = epoch;
    r.index = i;
    r.proxy_id = i + 1;
    r.master = std::make_unique<wire_worker::MasterInterfaceT>(to_wire(master));
    for (const ResolverAssignment& a : resolvers) {
      auto w = std::make_unique<wire_worker::ResolverAssignmentT>();
      w->keys = std::make_unique<strata::wire::KeyRangeT>(to_wire(a.keys));
      w->resolver = std::make_unique<wire_worker::ResolverInterfaceT>(to_wire(a.resolver));
      r.resolvers.push_back(std::move(w));
    }
    for (const TLogInterface& log : logs) r.logs.push_back(std::make_unique<wire_worker::TLogInterfaceT>(to_wire(log)));
    r.shards = to_wire(map.get());
    // The first proxy writes the shard map to the system keyspace with its first batch.
    if (i == 0)
      for (const Mutation& m : shard_map_mutations(map.get()))
        r.first_batch_mutations.push_back(std::make_unique<strata::wire::MutationT>(to_wire(m)));
    interfaces.commit_proxies.push_back(interface_of(ask(worker(p).initialize_commit_proxy, r).interface));
    placement += fmt::format(", commit_proxy{} {}", i, p->name);
  }
  flow::TraceEvent(flow::SevInfo, "DatabaseSwarm")
      .detail("GrvProxies", static_cast<int64_t>(grv_count))
      .detail("CommitProxies", static_cast<int64_t>(proxy_count))
      .detail("Resolvers", static_cast<int64_t>(resolvers.size()))
      .detail("Logs", static_cast<int64_t>(log_count))
      .detail("StorageServers", static_cast<int64_t>(shards.size()))
      .detail("Engine", engine)
      .detail("QueueFileBytes", queue_file_bytes)
      .detail("Placement", placement);
  first_proxy = {interfaces.grv_proxies, {interfaces.commit_proxies.front()}};
  return std::make_unique<client::Database>(std::move(interfaces));
}

}  // namespace

client::Database& database(WorkloadContext& ctx) {
  if (!ctx.database) throw flow::Error(flow::ErrorCode::operation_failed);
  if (!*ctx.database) {
    client::ClusterInterfaces first_proxy;
    *ctx.database = start(ctx, first_proxy);
    // The first transaction, through the first proxy: its batch writes the shard map to
    // \xff/keyServers/ and \xff/serverKeys/. (Other workloads may use the database meanwhile.)
    client::Database bring_up(std::move(first_proxy));
    bring_up.run([](client::Transaction& t) {
      t.set_access_system_keys(true);
      const std::string key = "\xff/bringUp";
      t.add_write_conflict_range(key, key + '\0');  // a write: the transaction is committed
    });
  }
  return **ctx.database;
}

}  // namespace workloads
