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

namespace workloads {

using namespace roles;

namespace {

using namespace std::chrono_literals;

// Well-known tokens of the transaction system's roles: kTokenBase + role kind + index.
constexpr uint64_t kTokenBase = 0x4442'0000;
constexpr uint64_t kMasterTokens = kTokenBase;
constexpr uint64_t kGrvTokens = kTokenBase + 0x100;
constexpr uint64_t kProxyTokens = kTokenBase + 0x200;
constexpr uint64_t kResolverTokens = kTokenBase + 0x300;
constexpr uint64_t kLogTokens = kTokenBase + 0x400;

net::Token token(uint64_t n) {
  return net::well_known_token(n);
}

template <class Stream>
Stream local(uint64_t n) {
  return Stream::well_known(token(n));
}

template <class Stream>
Stream remote(flow::NetworkAddress a, uint64_t n) {
  return Stream(net::Endpoint{a, token(n)});
}

MasterInterface master_interface(const flow::NetworkAddress* a) {
  const uint64_t t = kMasterTokens;
  if (!a) return {local<GetCommitVersionStream>(t), local<ReportCommittedStream>(t + 1),
                  local<GetLiveCommittedVersionStream>(t + 2)};
  return {remote<GetCommitVersionStream>(*a, t), remote<ReportCommittedStream>(*a, t + 1),
          remote<GetLiveCommittedVersionStream>(*a, t + 2)};
}

GrvProxyInterface grv_interface(const flow::NetworkAddress* a, uint64_t i) {
  const uint64_t t = kGrvTokens + i;
  if (!a) return {local<GetReadVersionStream>(t)};
  return {remote<GetReadVersionStream>(*a, t)};
}

CommitProxyInterface proxy_interface(const flow::NetworkAddress* a, uint64_t i) {
  const uint64_t t = kProxyTokens + 2 * i;
  if (!a) return {local<CommitTransactionStream>(t), local<GetKeyServerLocationsStream>(t + 1)};
  return {remote<CommitTransactionStream>(*a, t), remote<GetKeyServerLocationsStream>(*a, t + 1)};
}

ResolverInterface resolver_interface(const flow::NetworkAddress* a, uint64_t i) {
  const uint64_t t = kResolverTokens + i;
  if (!a) return {local<ResolveBatchStream>(t)};
  return {remote<ResolveBatchStream>(*a, t)};
}

TLogInterface log_interface(const flow::NetworkAddress* a, uint64_t i) {
  const uint64_t t = kLogTokens + 3 * i;
  if (!a) return {local<TLogCommitStream>(t), local<TLogPeekStream>(t + 1), local<TLogPopStream>(t + 2)};
  return {remote<TLogCommitStream>(*a, t), remote<TLogPeekStream>(*a, t + 1),
          remote<TLogPopStream>(*a, t + 2)};
}

// Runs `body` again after it fails with an error of its disk (it recovers from what is durable),
// after a pause. May suspend.
template <class Body>
void restarting(const std::string& role, Body body) {
  for (;;) {
    std::optional<flow::Error> failed;
    try {
      body();
      return;
    } catch (const flow::Error& e) {
      if (e.code() == flow::ErrorCode::operation_cancelled) throw;
      failed = e;
    }
    const bool disk = failed->code() == flow::ErrorCode::io_error ||
                      failed->code() == flow::ErrorCode::io_timeout ||
                      failed->code() == flow::ErrorCode::disk_full;
    if (!disk) throw *failed;
    flow::TraceEvent(flow::SevWarn, "RoleRestarting").detail("Role", role).detail("Error", *failed);
    flow::wait(flow::delay(flow::deterministic_random().random_duration(100ms, 1s)));
  }
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

struct DatabaseCluster {
  std::unique_ptr<client::Database> db;
};

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

  sim::Simulator::SimProcess* master_at = pick();
  const MasterInterface master = master_interface(&master_at->address);
  ctx.sim.add_role(*master_at, "master", [] {
    run_master(master_interface(nullptr), {.epoch = epoch, .start_version = start_version});
  });

  std::vector<TLogInterface> logs;
  std::string placement = fmt::format("master {}", master_at->name);
  for (size_t i = 0; i < log_count; ++i) {
    sim::Simulator::SimProcess* p = pick_log_host();
    logs.push_back(log_interface(&p->address, i));
    ctx.sim.add_role(*p, fmt::format("tlog{}", i), [i, queue_file_bytes] {
      restarting(fmt::format("tlog{}", i), [i, queue_file_bytes] {
        run_tlog(log_interface(nullptr, i),
                 {.epoch = epoch, .start_version = start_version, .name = fmt::format("tlog{}", i),
                  .queue_file_bytes = queue_file_bytes});
      });
    });
    placement += fmt::format(", tlog{} {}", i, p->name);
  }

  const std::vector<std::string> resolver_cuts = draw_boundaries(rng, resolver_count, ctx.key_hints);
  std::vector<ResolverAssignment> resolvers;
  for (size_t i = 0; i + 1 < resolver_cuts.size(); ++i) {
    sim::Simulator::SimProcess* p = pick();
    resolvers.push_back({{resolver_cuts[i], resolver_cuts[i + 1]}, resolver_interface(&p->address, i)});
    ctx.sim.add_role(*p, fmt::format("resolver{}", i), [i] {
      run_resolver(resolver_interface(nullptr, i), {.epoch = epoch, .start_version = start_version});
    });
    placement += fmt::format(", resolver{} {}", i, p->name);
  }

  const std::vector<std::string> shard_cuts = draw_boundaries(rng, storage_count, ctx.key_hints);
  std::vector<Shard> shards;
  for (size_t i = 0; i + 1 < shard_cuts.size(); ++i) {
    sim::Simulator::SimProcess* p = pick_storage_host();
    const Tag tag = static_cast<Tag>(i + 1);
    const KeyRange range{shard_cuts[i], shard_cuts[i + 1]};
    shards.push_back({range, {{p->address, tag}}});
    ctx.sim.add_role(*p, fmt::format("storage{}", tag), [tag, range, logs, engine, engine_options] {
      restarting(fmt::format("storage{}", tag), [&] {
        run_storage_server({.epoch = epoch, .tag = tag, .shards = {range}, .logs = logs,
                            .engine = engine, .name = fmt::format("storage{}", tag),
                            .engine_options = engine_options, .start_version = start_version});
      });
    });
    placement += fmt::format(", storage{} {}", tag, p->name);
  }
  flow::ErrorOr<ShardMap> map = ShardMap::make(shards);
  ASSERT(map.ok());  // drawn here: sorted, contiguous, covering

  client::ClusterInterfaces interfaces;
  for (size_t i = 0; i < grv_count; ++i) {
    sim::Simulator::SimProcess* p = pick();
    interfaces.grv_proxies.push_back(grv_interface(&p->address, i));
    ctx.sim.add_role(*p, fmt::format("grv_proxy{}", i), [i, master] {
      run_grv_proxy(grv_interface(nullptr, i), {.epoch = epoch, .master = master});
    });
    placement += fmt::format(", grv_proxy{} {}", i, p->name);
  }
  for (size_t i = 0; i < proxy_count; ++i) {
    sim::Simulator::SimProcess* p = pick();
    interfaces.commit_proxies.push_back(proxy_interface(&p->address, i));
    // The first proxy writes the shard map to the system keyspace with its first batch.
    std::vector<Mutation> first = i == 0 ? shard_map_mutations(map.get()) : std::vector<Mutation>{};
    ctx.sim.add_role(*p, fmt::format("commit_proxy{}", i),
                     [i, master, resolvers, logs, map = map.get(), first] {
                       run_commit_proxy(proxy_interface(nullptr, i),
                                        {.epoch = epoch, .proxy_id = static_cast<uint32_t>(i + 1),
                                         .master = master, .resolvers = resolvers, .logs = logs,
                                         .shards = map, .first_batch_mutations = first});
                     });
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
