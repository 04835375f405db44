#include "workloads/database_cluster.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "flow/actor.h"
#include "flow/actor_collection.h"
#include "flow/async_var.h"
#include "flow/code_probe.h"
#include "flow/combinators.h"
#include "flow/deterministic_random.h"
#include "flow/trace_event.h"
#include "roles/cluster_controller/cluster_controller_interface.h"
#include "roles/cluster_controller/coordinators_change.h"
#include "roles/cluster_controller/leader_election.h"
#include "roles/cluster_controller/open_database.h"
#include "roles/cluster_controller/recovery.h"
#include "roles/cluster_controller/worker_registration.h"
#include "roles/common/database_lock.h"
#include "roles/coordinator/coordinated_state.h"
#include "roles/worker/role_endpoints.h"
#include "roles/worker/start_generation.h"
#include "roles/worker/worker_interface.h"
#include "server/cluster_controller.h"
#include "server/placement.h"

namespace workloads {

using namespace roles;

namespace {

using namespace std::chrono_literals;

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

std::vector<sim::Simulator::SimProcess*> spread(flow::DeterministicRandom& rng,
                                                std::vector<sim::Simulator::SimProcess*> from, size_t n) {
  return server::spread(rng, std::move(from), n, [](const sim::Simulator::SimProcess* p) { return p->machine->index; });
}

// Counts a recovery that ended now in the run's figures (strata-sim --json "recoveries"), and
// traces it: its epoch, its seconds since `since`, what `since` was (`counted_from`: the
// failure's detection or a new leader's decision to recover, or the election of a leader that
// took over a generation the one before never published), and how long its attempts waited at
// most for the first old log to answer a lock.
void count_recovery(ClusterRecord* record, uint64_t epoch, flow::Time since, const char* counted_from,
                    double old_log_wait) {
  const double seconds = flow::to_seconds(flow::now() - since);
  record->recovery_seconds.push_back(seconds);
  record->recovery_old_log_waits.push_back(old_log_wait);
  flow::TraceEvent(flow::SevInfo, "DatabaseRecovered")
      .detail("Epoch", static_cast<int64_t>(epoch))
      .detail("Seconds", seconds)
      .detail("Since", counted_from)
      .detail("OldLogWaitSeconds", old_log_wait);
}

// The run's record of what the leading controller does: where the current generation runs and
// the coordinators (what workloads aim at, and check), and each recovery's figures.
class RecordingWatcher final : public server::ControllerWatcher {
 public:
  explicit RecordingWatcher(ClusterRecord* record) : record_(record) {}

  void cluster_known(const ClusterDescription& cluster) override { record_->cluster = cluster; }

  void taken_over(const GenerationPlan& plan, flow::Time elected) override {
    if (record_->current.epoch == plan.epoch) return;
    // The leader before died between writing the state and telling the run's record: the record
    // learns where the generation it took over runs, and the recovery the leader before ran up to
    // writing the state ends here, when clients are told of it (its seconds counted from this
    // leadership's start; when its failure was detected died with the leader before).
    CODE_PROBE(true, "a new leader takes over a generation the leader before never published");
    GenerationPlan known = record_->current;
    known.epoch = plan.epoch;
    known.master = plan.master;
    known.grv_proxies = plan.grv_proxies;
    known.commit_proxies = plan.commit_proxies;
    known.resolvers = plan.resolvers;
    known.logs = plan.logs;
    record_->current = std::move(known);
    count_recovery(record_, plan.epoch, elected, "TakenOver", 0);
  }

  void created(const GenerationPlan& plan) override {
    record_->current = plan;
    record_->storage_teams = plan.storage_teams;
  }

  void recovered(const GenerationPlan& plan, flow::Time detected, double old_log_wait) override {
    record_->current = plan;
    // From the failure's detection to accepting commits: attempts that timed out count.
    count_recovery(record_, plan.epoch, detected, "Detected", old_log_wait);
  }

 private:
  ClusterRecord* record_;
};

constexpr flow::Duration kCreationWithin = 60s;

// The database as a real cluster gets it: every process runs what strata-server runs (its worker
// and coordinator, started by the caller; its registration, with the class drawn for it; a
// candidate whose leader creates databases), and a client says "configure new" with the drawn replication and engine until
// the controller has created it (or answers that it exists: an answer lost with a connection).
// May suspend.
std::unique_ptr<client::Database> start_by_configure_new(WorkloadContext& ctx,
                                                         const std::vector<sim::Simulator::SimProcess*>& processes,
                                                         const std::vector<sim::Simulator::SimProcess*>& stateless,
                                                         const std::vector<sim::Simulator::SimProcess*>& log_hosts,
                                                         const ClusterDescription& cluster, size_t replication,
                                                         const std::string& engine, const GenerationPlan& shape) {
  flow::TraceEvent(flow::SevInfo, "DatabaseSwarm")
      .detail("CreatedBy", "configure new")
      .detail("Replication", static_cast<int64_t>(replication))
      .detail("Engine", engine)
      .detail("Cluster", cluster.to_string());
  ctx.cluster->cluster = cluster;
  for (sim::Simulator::SimProcess* p : processes) {
    const auto in = [p](const std::vector<sim::Simulator::SimProcess*>& v) {
      return std::find(v.begin(), v.end(), p) != v.end();
    };
    const WorkerRegistration me{p->address, p->machine->name,
                                in(stateless)   ? ProcessClass::stateless
                                : in(log_hosts) ? ProcessClass::log
                                                : ProcessClass::storage};
    ctx.sim().add_role(*p, "registration", [cluster, me] { register_worker(cluster, me); });
    ctx.sim().add_role(*p, "cluster_controller", [cluster, self = p->address, record = ctx.cluster, shape] {
      ClusterDescription known = cluster;
      WorkerRegistry registry;
      RecordingWatcher watcher(record);
      server::Placement where;
      where.shape = shape;  // the drawn file sizes, for the first generation and every later one
      campaign(&known, self, [&] { server::lead(where, &known, &watcher, registry); });
    });
  }
  auto db = std::make_unique<client::Database>(cluster);
  const flow::Time asked = flow::now();
  const std::string words = fmt::format("new {} {}", replication == 1 ? "single" : replication == 2 ? "double" : "triple", engine);
  for (;;) {
    std::optional<flow::Error> failed;
    try {
      db->configure(words);
      break;
    } catch (const flow::Error& e) {
      if (e.code() == flow::ErrorCode::operation_cancelled) throw;
      if (e.code() == flow::ErrorCode::database_already_created) break;
      failed = e;
    }
    // Too few workers registered yet, a creation that timed out, no leader yet: again.
    CODE_PROBE(true, "the simulated database's creation is asked again");
    flow::TraceEvent(flow::SevInfo, "DatabaseCreationRetrying").detail("Error", *failed);
    flow::wait(flow::delay(500ms));
  }
  // A creation is a leader's election, registrations and one start of the roles: under the
  // atlas's faults it ends within seconds. One that took minutes was stuck (a failed attempt's
  // roles refusing every later one's, seed 8 with buggify on).
  if (flow::now() - asked > kCreationWithin) {
    flow::TraceEvent(flow::SevError, "DatabaseCreationSlow").detail("Seconds", flow::to_seconds(flow::now() - asked));
  }
  return db;
}

// Starts every role, from the seed's draws, the coordinators, and a candidate for the cluster
// controller on every process. May suspend.
std::unique_ptr<client::Database> start(WorkloadContext& ctx) {
  auto& rng = flow::deterministic_random();
  std::vector<sim::Simulator::SimProcess*> processes;
  for (size_t i = 0; i < ctx.sim().process_count(); ++i)
    if (!ctx.sim().process(i).is_protected) processes.push_back(&ctx.sim().process(i));
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
  const size_t grv_count = static_cast<size_t>(rng.random_int(1, 4));
  const size_t proxy_count = static_cast<size_t>(rng.random_int(1, 5));
  const size_t resolver_count = static_cast<size_t>(rng.random_int(1, 5));
  const size_t drawn_logs = static_cast<size_t>(rng.random_int(1, 5));
  if (ctx.cluster == nullptr) throw flow::Error(flow::ErrorCode::operation_failed);
  const size_t replication = static_cast<size_t>(
      ctx.cluster->replication > 0 ? ctx.cluster->replication : rng.random_int(ctx.cluster->replication_min, 4));
  // As many logs as copies of the data at least (FoundationDB's log replication follows the
  // redundancy mode), on distinct machines where there are enough: a machine's death then never
  // takes every copy of the newest commits, and a recovery need not wait for its reboot.
  const size_t log_count = std::max(drawn_logs, replication);
  ctx.cluster->replication_running = static_cast<int>(replication);
  // At most eight servers in all: a simulated disk holds about six servers' files per process.
  const size_t shard_count = std::min(static_cast<size_t>(rng.random_int(1, 9)), std::max<size_t>(1, 8 / replication));
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
  for (sim::Simulator::SimProcess* p : processes) ctx.sim().add_role(*p, "worker", [] { run_worker(); });
  // A coordinator on every process, ready for a change of coordinators to choose it; the
  // cluster's are on distinct machines, an odd number of them: five with five machines or more,
  // else three with three or more, else one. A machine's death (the atlas allows one at a time)
  // leaves a majority of three or five.
  for (sim::Simulator::SimProcess* p : processes) ctx.sim().add_role(*p, "coordinator", [] { run_coordinator(); });
  std::vector<const sim::Simulator::Machine*> machines;
  for (sim::Simulator::SimProcess* p : processes)
    if (std::find(machines.begin(), machines.end(), p->machine) == machines.end()) machines.push_back(p->machine);
  const size_t coordinator_count = machines.size() >= 5 ? 5 : machines.size() >= 3 ? 3 : 1;
  std::vector<flow::NetworkAddress> coordinators;
  std::string coordinator_names;
  machines.clear();
  for (sim::Simulator::SimProcess* p : processes) {
    if (coordinators.size() == coordinator_count) break;
    if (std::find(machines.begin(), machines.end(), p->machine) != machines.end()) continue;
    machines.push_back(p->machine);
    coordinators.push_back(p->address);
    coordinator_names += (coordinator_names.empty() ? "" : " ") + p->name;
  }
  const ClusterDescription cluster = next_cluster_description({"strata", "", {}}, coordinators);

  // How many machines the processes `from` span.
  const auto machine_count = [](const std::vector<sim::Simulator::SimProcess*>& from) {
    std::vector<const sim::Simulator::Machine*> seen;
    for (sim::Simulator::SimProcess* p : from)
      if (std::find(seen.begin(), seen.end(), p->machine) == seen.end()) seen.push_back(p->machine);
    return seen.size();
  };

  if (ctx.cluster->create_with_configure_new) {
    GenerationPlan shape;
    shape.queue_file_bytes = queue_file_bytes;
    shape.engine_options = engine_options;
    return start_by_configure_new(ctx, processes, stateless, log_hosts, cluster, replication, engine, shape);
  }

  GenerationPlan plan;
  plan.epoch = epoch;
  plan.start_version = start_version;
  plan.engine = engine;
  plan.queue_file_bytes = queue_file_bytes;
  plan.engine_options = engine_options;
  sim::Simulator::SimProcess* master_at = pick();
  plan.master = master_at->address;
  std::string placement = fmt::format("master {}", master_at->name);
  // Each log (every one holds every commit) on its own machine where the processes allow: from
  // the log hosts if they span as many machines as there are logs, else from every durable
  // process, else from all. With all of them on one machine, its death would hold the next
  // recovery until its reboot.
  std::vector<sim::Simulator::SimProcess*> log_candidates = log_hosts;
  if (machine_count(log_candidates) < log_count) log_candidates = durable;
  if (machine_count(log_candidates) < log_count) log_candidates = processes;
  const std::vector<sim::Simulator::SimProcess*> log_places = spread(rng, log_candidates, log_count);
  for (size_t i = 0; i < log_count; ++i) {
    sim::Simulator::SimProcess* p = log_places[i];
    plan.logs.push_back(p->address);
    placement += fmt::format(", tlog{} {}", i, p->name);
  }
  const std::vector<std::string> resolver_cuts = draw_boundaries(rng, resolver_count, ctx.key_hints);
  for (size_t i = 0; i + 1 < resolver_cuts.size(); ++i) {
    sim::Simulator::SimProcess* p = pick();
    plan.resolvers.push_back({{resolver_cuts[i], resolver_cuts[i + 1]}, p->address});
    placement += fmt::format(", resolver{} {}", i, p->name);
  }
  // Each shard's team on as many machines as it has servers, from the storage hosts if they
  // span enough machines, else the durable processes, else any.
  std::vector<sim::Simulator::SimProcess*> team_hosts = storage_hosts;
  if (machine_count(team_hosts) < replication) team_hosts = durable;
  if (machine_count(team_hosts) < replication) team_hosts = processes;
  if (machine_count(team_hosts) < replication) {
    flow::TraceEvent(flow::SevWarnAlways, "DatabaseTeamsShareMachines")
        .detail("Replication", static_cast<int64_t>(replication))
        .detail("Machines", static_cast<int64_t>(machine_count(team_hosts)));
  }
  const std::vector<std::string> shard_cuts = draw_boundaries(rng, shard_count, ctx.key_hints);
  size_t servers = 0;
  for (size_t i = 0; i + 1 < shard_cuts.size(); ++i) {
    GenerationPlan::Team team{{shard_cuts[i], shard_cuts[i + 1]}, {}};
    for (sim::Simulator::SimProcess* p : spread(rng, team_hosts, replication)) {
      team.at.push_back(p->address);
      placement += fmt::format(", storage{} {}", ++servers, p->name);
    }
    plan.storage_teams.push_back(std::move(team));
  }
  for (size_t i = 0; i < grv_count; ++i) {
    sim::Simulator::SimProcess* p = pick();
    plan.grv_proxies.push_back(p->address);
    placement += fmt::format(", grv_proxy{} {}", i, p->name);
  }
  for (size_t i = 0; i < proxy_count; ++i) {
    sim::Simulator::SimProcess* p = pick();
    plan.commit_proxies.push_back(p->address);
    placement += fmt::format(", commit_proxy{} {}", i, p->name);
  }
  flow::TraceEvent(flow::SevInfo, "DatabaseSwarm")
      .detail("GrvProxies", static_cast<int64_t>(grv_count))
      .detail("CommitProxies", static_cast<int64_t>(proxy_count))
      .detail("Resolvers", static_cast<int64_t>(plan.resolvers.size()))
      .detail("Logs", static_cast<int64_t>(log_count))
      .detail("Shards", static_cast<int64_t>(plan.storage_teams.size()))
      .detail("Replication", static_cast<int64_t>(replication))
      .detail("Engine", engine)
      .detail("QueueFileBytes", queue_file_bytes)
      .detail("Coordinators", coordinator_names)
      .detail("Cluster", cluster.to_string())
      .detail("Placement", placement);
  Generation g = start_generation(plan);

  ClusterState state;
  state.epoch = epoch;
  state.log_system = LogSystem::single(epoch, g.logs);
  state.shards = g.shards;
  for (const GenerationPlan::Placed& r : plan.resolvers) state.resolver_ranges.push_back(r.keys);
  state.counts = {static_cast<int>(grv_count), static_cast<int>(proxy_count), static_cast<int>(log_count), 0};
  state.running = running_roles(plan);
  server::Placement where;
  where.grv_count = grv_count;
  where.proxy_count = proxy_count;
  where.log_count = log_count;
  where.shape = plan;
  if (ctx.cluster == nullptr) throw flow::Error(flow::ErrorCode::operation_failed);
  // The first cluster state, for the first recovery to read.
  CoordinatedState cstate(cluster, std::string(kClusterStateKey));
  if (cstate.read()) throw flow::Error(flow::ErrorCode::operation_failed);  // a second bring-up
  cstate.write(encode_cluster_state(state));
  ctx.cluster->current = plan;
  ctx.cluster->storage_teams = plan.storage_teams;
  ctx.cluster->cluster = cluster;
  // Every process's worker registers with the leader, and every process is a candidate to lead
  // the cluster controller. Both know the cluster by the first description (a process rebooted
  // after a change of coordinators finds the new ones through the old). A worker's class says
  // what the bring-up drew it for: stateless (the master, proxies, resolvers), log or storage.
  for (sim::Simulator::SimProcess* p : processes) {
    const auto in = [p](const std::vector<sim::Simulator::SimProcess*>& v) {
      return std::find(v.begin(), v.end(), p) != v.end();
    };
    const WorkerRegistration me{p->address, p->machine->name,
                                in(stateless)   ? ProcessClass::stateless
                                : in(log_hosts) || in(log_places) ? ProcessClass::log
                                                : ProcessClass::storage};
    ctx.sim().add_role(*p, "registration", [cluster, me] { register_worker(cluster, me); });
  }
  for (sim::Simulator::SimProcess* p : processes) {
    ctx.sim().add_role(*p, "cluster_controller",
                     [where, cluster, self = p->address, record = ctx.cluster] {
                       ClusterDescription known = cluster;
                       WorkerRegistry registry;  // across this process's leaderships
                       RecordingWatcher watcher(record);
                       campaign(&known, self, [&] { server::lead(where, &known, &watcher, registry, /*create_databases=*/false); });
                     });
  }
  // The workloads' handle knows only the first description: it finds the controller, and
  // follows the coordinators' changes, as any client would.
  return std::make_unique<client::Database>(cluster);
}

}  // namespace

bool database_survives_wipe(WorkloadContext& ctx, const sim::Simulator::Machine& m) {
  if (ctx.cluster == nullptr || ctx.database == nullptr || !*ctx.database) return true;
  const auto machine_of = [&ctx](const flow::NetworkAddress& a) -> const sim::Simulator::Machine* {
    for (size_t i = 0; i < ctx.sim().process_count(); ++i)
      if (ctx.sim().process(i).address == a) return ctx.sim().process(i).machine;
    return nullptr;
  };
  // A copy survives if one of `at` is on another machine that is alive.
  const auto survives = [&](const std::vector<flow::NetworkAddress>& at) {
    bool here = false, elsewhere = false;
    for (const flow::NetworkAddress& a : at) {
      const sim::Simulator::Machine* on = machine_of(a);
      if (on == &m) here = true;
      else if (on != nullptr && on->alive) elsewhere = true;
    }
    return !here || elsewhere;
  };
  for (const flow::NetworkAddress& a : ctx.cluster->cluster.coordinators)
    if (machine_of(a) == &m) return false;
  // A storage server wiped stays lost (nothing refills a team yet: data distribution is a later
  // issue), so its team would be one fault from losing data, and the consistency check could
  // never read it again: no machine holding one is wiped.
  for (const GenerationPlan::Team& team : ctx.cluster->storage_teams)
    for (const flow::NetworkAddress& a : team.at)
      if (machine_of(a) == &m) return false;
  return survives(ctx.cluster->current.logs);
}

client::Database& database(WorkloadContext& ctx) {
  if (ctx.database != nullptr && *ctx.database) return **ctx.database;  // started, or a real cluster's
  if (!ctx.database || !ctx.cluster) throw flow::Error(flow::ErrorCode::operation_failed);
  if (!*ctx.database && ctx.cluster->starting) {
    // Another workload is starting it (the bring-up suspends): wait for that one.
    CODE_PROBE(true, "a workload waits for the database another is starting");
    while (!*ctx.database && ctx.cluster->starting) flow::wait(flow::delay(10ms));
  }
  if (!*ctx.database) {
    ctx.cluster->starting = true;
    try {
      *ctx.database = start(ctx);
    } catch (...) {
      ctx.cluster->starting = false;  // a waiting workload tries itself
      throw;
    }
    // The first commit proxy writes the shard map to \xff/keyServers/ and \xff/serverKeys/ with
    // its first batch, as each recovery's does: wait until it is there. (Other workloads may use
    // the database meanwhile.)
    client::Database& db = **ctx.database;
    while (!db.run([](client::Transaction& t) {
      t.set_access_system_keys(true);
      return t.get(std::string(kKeyServersPrefix)).has_value();
    }))
      flow::wait(flow::delay(50ms));
  }
  return **ctx.database;
}

}  // namespace workloads
