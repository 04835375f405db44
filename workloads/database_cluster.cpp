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

// `n` of `from` (not empty), on as many machines as there are (`machine_of` names an element's):
// for the logs (each log holds every version, so one that survives a machine's death saves the
// generation) and for a shard's team (each server holds the whole shard).
template <class T, class MachineOf>
std::vector<T> spread(flow::DeterministicRandom& rng, std::vector<T> from, size_t n, MachineOf machine_of) {
  for (size_t i = from.size(); i > 1; --i)
    std::swap(from[i - 1], from[static_cast<size_t>(rng.random_int(0, static_cast<int64_t>(i)))]);
  // A stable order by machine, each machine's first first: machines before doubling up.
  std::vector<size_t> ordered;  // indices into `from`
  using Machine = std::decay_t<decltype(machine_of(from.front()))>;
  std::vector<Machine> machines;
  while (ordered.size() < from.size()) {
    machines.clear();
    for (size_t i = 0; i < from.size(); ++i) {
      if (std::find(ordered.begin(), ordered.end(), i) != ordered.end()) continue;
      const Machine m = machine_of(from[i]);
      if (std::find(machines.begin(), machines.end(), m) != machines.end()) continue;
      machines.push_back(m);
      ordered.push_back(i);
    }
  }
  std::vector<T> out;
  for (size_t i = 0; i < n; ++i) out.push_back(from[ordered[i % ordered.size()]]);
  return out;
}

std::vector<sim::Simulator::SimProcess*> spread(flow::DeterministicRandom& rng,
                                                std::vector<sim::Simulator::SimProcess*> from, size_t n) {
  return spread(rng, std::move(from), n, [](const sim::Simulator::SimProcess* p) { return p->machine->index; });
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

// Where a recovery puts the next generation's roles: as many of each as the counts say, among
// the workers registered with the controller lately (roles/cluster_controller/
// worker_registration.h) that answered just before: the stateless roles on stateless workers,
// the logs on log workers (or stateless ones), each kind falling back to any worker that
// answered when none of its class did, and to the registered ones when none answered at all
// (the recruitment then waits for them, or times out and starts over).
struct Placement {
  std::vector<WorkerRegistration> workers;       // registered lately, by address
  std::vector<flow::NetworkAddress> responsive;  // asked just before a recovery; empty: not asked
  size_t grv_count = 0, proxy_count = 0, log_count = 0;
  GenerationPlan shape;  // engine and file options

  GenerationPlan place(uint64_t epoch, Version start_version, const std::vector<KeyRange>& resolver_ranges) const {
    auto& rng = flow::deterministic_random();
    // Of `classes` (all if empty): those that answered, else (with `registered`) any registered.
    const auto of = [this](std::initializer_list<ProcessClass> classes, bool registered) {
      std::vector<WorkerRegistration> out;
      for (const WorkerRegistration& w : workers) {
        if (classes.size() != 0 && std::find(classes.begin(), classes.end(), w.process_class) == classes.end()) continue;
        if (registered || std::find(responsive.begin(), responsive.end(), w.address) != responsive.end()) out.push_back(w);
      }
      return out;
    };
    // A worker of the class that answered; else one of any class that answered (a registered
    // worker that did not answer may have died within its lease); else of the class, else any,
    // registered.
    const auto choose = [&of](std::initializer_list<ProcessClass> classes) {
      for (const bool registered : {false, true}) {
        if (std::vector<WorkerRegistration> c = of(classes, registered); !c.empty()) return c;
        if (std::vector<WorkerRegistration> c = of({}, registered); !c.empty()) return c;
      }
      return std::vector<WorkerRegistration>{};
    };
    const std::vector<WorkerRegistration> stateless = choose({ProcessClass::stateless});
    if (stateless.empty()) throw flow::Error(flow::ErrorCode::operation_failed);  // none registered: tried again later
    // The logs may also go to the stateless processes: a generation whose logs share one machine
    // waits for that machine after its death.
    std::vector<WorkerRegistration> logs = choose({ProcessClass::log, ProcessClass::stateless});
    // Machines before classes: with its logs on fewer machines than it has logs, a generation
    // may lose every copy of its newest commits to one machine's death, and the next recovery
    // waits for that machine. Workers of other classes that answered, on other machines, make
    // up the difference.
    std::vector<std::string> log_machines;
    for (const WorkerRegistration& w : logs)
      if (std::find(log_machines.begin(), log_machines.end(), w.machine) == log_machines.end()) log_machines.push_back(w.machine);
    for (const WorkerRegistration& w : of({}, false)) {
      if (log_machines.size() >= log_count) break;
      if (std::find(log_machines.begin(), log_machines.end(), w.machine) != log_machines.end()) continue;
      CODE_PROBE(true, "a recovery puts a log on a worker of another class, on another machine");
      log_machines.push_back(w.machine);
      logs.push_back(w);
    }
    const auto pick = [&rng](const std::vector<WorkerRegistration>& from) {
      return from[static_cast<size_t>(rng.random_int(0, static_cast<int64_t>(from.size())))].address;
    };
    GenerationPlan plan = shape;
    plan.epoch = epoch;
    plan.start_version = start_version;
    plan.master = pick(stateless);
    plan.grv_proxies.clear();
    plan.commit_proxies.clear();
    plan.logs.clear();
    plan.resolvers.clear();
    plan.storage_teams.clear();
    for (const WorkerRegistration& w : spread(rng, logs, log_count, [](const WorkerRegistration& x) { return x.machine; }))
      plan.logs.push_back(w.address);
    for (const KeyRange& r : resolver_ranges) plan.resolvers.push_back({r, pick(stateless)});
    for (size_t i = 0; i < grv_count; ++i) plan.grv_proxies.push_back(pick(stateless));
    for (size_t i = 0; i < proxy_count; ++i) plan.commit_proxies.push_back(pick(stateless));
    return plan;
  }
};

// How quickly a worker must answer to be recruited by a recovery.
constexpr flow::Duration kResponsiveWithin = 200ms;
// How long a new leader lets workers find it and register before its first recovery: a worker
// still registering with the leader before gives up on it within kRegisterReplyWithin, looks
// again within 100 ms, and registers a round trip later.
constexpr flow::Duration kRegistrationWait = kRegisterReplyWithin + 400ms;

// Retires the roles `state` no longer needs on every worker registered with `registry` (which
// outlives the returned actor), once a leader elected at `elected` has given them time to
// register. May suspend.
flow::Future<flow::Void> retire_later(const WorkerRegistry& registry, flow::Time elected, ClusterState state) {
  return flow::spawn([&registry, elected, state = std::move(state)] {
    if (flow::now() < elected + kRegistrationWait) flow::wait(flow::delay(elected + kRegistrationWait - flow::now()));
    retire_old_roles(registry.known(), state);
  });
}

std::vector<flow::NetworkAddress> addresses(const std::vector<WorkerRegistration>& workers) {
  std::vector<flow::NetworkAddress> out;
  for (const WorkerRegistration& w : workers) out.push_back(w.address);
  return out;
}

using LockRequest = net::ReceivedRequest<wire_cc::LockDatabaseRequestT, wire_cc::LockDatabaseReplyT>;

// Answers `in` once a lock-aware reader sees `lock_uid` in \xff/dbLocked (absent when empty):
// the recovery transaction that writes it commits after the generation accepts commits, and a
// holder reading at once must find its lock there. Answers at once if `*changes` moves on from
// its value now (a newer change overtook this one). May suspend.
flow::Future<flow::Void> answer_once_visible(client::Database& db, std::string lock_uid, const uint64_t* changes,
                                             LockRequest in) {
  return flow::spawn([&db, lock_uid = std::move(lock_uid), changes, seen = *changes, in = std::move(in)]() mutable {
    client::Transaction t(db);
    t.set_lock_aware(true);
    t.set_access_system_keys(true);
    for (;;) {
      std::optional<flow::Error> failed;
      try {
        const std::optional<std::string> shown = t.get(kDatabaseLockedKey);
        if (shown.value_or(std::string()) == lock_uid || *changes != seen) break;
        CODE_PROBE(true, "controller waits for the recovery transaction to show the lock");
        failed = flow::Error(flow::ErrorCode::future_version);  // not yet: read again at a newer version
      } catch (const flow::Error& e) {
        if (e.code() == flow::ErrorCode::operation_cancelled) throw;
        failed = e;
      }
      t.on_error(*failed);
    }
    in.reply.send({});
  });
}

using ConfigureRequest = net::ReceivedRequest<wire_cc::ConfigureRequestT, wire_cc::ConfigureReplyT>;

// The counts `in` asks for on top of `current` (0: unchanged), or invalid_option_value for one
// out of range (the request came over the network).
flow::ErrorOr<RoleCounts> counts_wanted(RoleCounts current, const wire_cc::ConfigureRequestT& in) {
  for (const int n : {in.grv_proxies, in.commit_proxies, in.logs, in.resolvers})
    if (n < 0 || n > kRoleCountMax) return flow::Error(flow::ErrorCode::invalid_option_value);
  if (in.grv_proxies > 0) current.grv_proxies = in.grv_proxies;
  if (in.commit_proxies > 0) current.commit_proxies = in.commit_proxies;
  if (in.logs > 0) current.logs = in.logs;
  if (in.resolvers > 0) current.resolvers = in.resolvers;
  return current;
}

using CoordinatorsRequest =
    net::ReceivedRequest<wire_cc::ChangeCoordinatorsRequestT, wire_cc::ChangeCoordinatorsReplyT>;

// The coordinators `in` asks for, among the workers that answered just now (`responsive`) of
// `placement`: invalid_option_value for a listed address that is not one of them (it may run no
// coordinator, and the move would wait for it for ever), or a mode that is neither "auto" nor
// "random"; operation_failed if none answered.
flow::ErrorOr<std::vector<flow::NetworkAddress>> coordinators_wanted(const Placement& placement,
                                                                     const std::vector<flow::NetworkAddress>& current,
                                                                     const wire_cc::ChangeCoordinatorsRequestT& in) {
  const flow::Error invalid(flow::ErrorCode::invalid_option_value);
  const auto answering = [&placement](const flow::NetworkAddress& a) {
    return std::find(placement.responsive.begin(), placement.responsive.end(), a) != placement.responsive.end();
  };
  if (!in.addresses.empty()) {
    std::vector<flow::NetworkAddress> listed;
    for (const std::string& text : in.addresses) {
      const flow::ErrorOr<flow::NetworkAddress> a = flow::NetworkAddress::parse(text);
      if (!a.ok() || !answering(a.get()) || std::find(listed.begin(), listed.end(), a.get()) != listed.end() ||
          listed.size() >= kCoordinatorsMax) {
        flow::TraceEvent(flow::SevWarn, "CoordinatorsChangeRefused").detail("Address", text);
        return invalid;
      }
      listed.push_back(a.get());
    }
    return listed;
  }
  const flow::ErrorOr<CoordinatorsChoice> choice = parse_coordinators_choice(in.mode);
  if (!choice.ok()) {
    flow::TraceEvent(flow::SevWarn, "CoordinatorsChangeRefused").detail("Mode", in.mode);
    return invalid;
  }
  // Machines by the order the registered workers (by address) name them first: an ordinal.
  std::vector<std::string> machines;
  std::vector<CoordinatorCandidate> candidates;
  for (const WorkerRegistration& w : placement.workers) {
    auto m = std::find(machines.begin(), machines.end(), w.machine);
    if (m == machines.end()) m = machines.insert(machines.end(), w.machine);
    candidates.push_back({w.address, static_cast<uint64_t>(m - machines.begin()), answering(w.address)});
  }
  std::vector<flow::NetworkAddress> chosen = choose_coordinators(current, candidates, choice.get());
  if (chosen.empty()) return flow::Error(flow::ErrorCode::operation_failed);
  return chosen;
}

// Answers `in` with where the cluster state lives after the change it asks for: moves it there
// (the caller's leadership then ends: coordinators_changed, with `*cluster` the new
// description), or answers `*cluster` if the set is the same. `state` is what this leader
// believes the coordinators hold. May suspend.
void change_coordinators(Placement& placement, const WorkerRegistry& registry, CoordinatedState& cstate,
                         const ClusterState& state, ClusterDescription* cluster, ClusterRecord* record,
                         CoordinatorsRequest in) {
  placement.workers = registry.alive();
  placement.responsive = responsive_workers(addresses(placement.workers), kResponsiveWithin);
  const flow::ErrorOr<std::vector<flow::NetworkAddress>> wanted = coordinators_wanted(placement, cluster->coordinators, in.request);
  if (!wanted.ok()) {
    in.reply.send_error(wanted.error());
    return;
  }
  std::vector<flow::NetworkAddress> now = cluster->coordinators, next = wanted.get();
  std::sort(now.begin(), now.end());
  std::sort(next.begin(), next.end());
  wire_cc::ChangeCoordinatorsReplyT reply;
  if (now == next) {
    CODE_PROBE(true, "a change of coordinators keeps the same set");
    reply.description = cluster->to_string();
    in.reply.send(reply);
    return;
  }
  const ClusterDescription to = next_cluster_description(*cluster, wanted.get());
  std::optional<ClusterState> held = read_cluster_state(cstate);
  if (!held || held->epoch != state.epoch) {
    // Another leader changed the state: this one is done (the client asks the next).
    throw flow::Error(flow::ErrorCode::coordinated_state_conflict);
  }
  try {
    move_cluster_state(cstate, std::move(*held), to);
  } catch (const flow::Error& e) {
    if (e.code() != flow::ErrorCode::coordinators_changed) throw;
  }
  reply.description = to.to_string();
  in.reply.send(reply);
  *cluster = to;
  record->cluster = to;
  throw flow::Error(flow::ErrorCode::coordinators_changed);
}

// What clients need of the generation `plan` places: its proxies, at their well-known endpoints.
ClientGeneration client_generation(const GenerationPlan& plan, const ClusterDescription& cluster) {
  ClientGeneration g;
  g.epoch = plan.epoch;
  g.cluster = cluster.to_string();
  for (uint32_t i = 0; i < plan.grv_proxies.size(); ++i) g.grv_proxies.push_back(grv_proxy_endpoints(&plan.grv_proxies[i], plan.epoch, i));
  for (uint32_t i = 0; i < plan.commit_proxies.size(); ++i)
    g.commit_proxies.push_back(commit_proxy_endpoints(&plan.commit_proxies[i], plan.epoch, i));
  return g;
}

// The cluster controller's work while this process leads (roles/cluster_controller/
// leader_election.h): from the cluster state the coordinators of `*cluster` hold, it watches the
// generation's roles and recovers the transaction system whenever one fails, or when a client
// changes the database's lock through the controller interface it makes here, until cancelled
// (leadership lost), or when a client changes the role counts (they go into the state, and the
// recovery's placement uses them); answers clients' OpenDatabase with the generation's proxies
// (client/cluster_monitor.h finds them through the coordinators). A client's
// change of coordinators moves the state and ends the leadership (coordinators_changed, with
// `*cluster` where it went), as does finding the state moved. A new leader takes over the
// generation the state names as running (ClusterState::running) if no recovery has begun since
// it started, else it recovers at once. May suspend.
void lead(Placement placement, ClusterDescription* cluster, ClusterRecord* record, WorkerRegistry& registry) {
  const flow::Time elected = flow::now();
  CoordinatedState cstate(*cluster, std::string(kClusterStateKey));
  // Ends the leadership if the state has moved: the campaign goes on where it went.
  const auto follow_move = [&cstate, cluster, record](const flow::Error& e) {
    if (e.code() != flow::ErrorCode::coordinators_changed) return;
    if (cstate.forwarded()) {
      *cluster = *cstate.forwarded();
      record->cluster = *cluster;  // a move another finished (its mover may have failed)
    }
    throw e;
  };
  ClusterState state;
  for (;;) {
    std::optional<flow::Error> failed;
    try {
      if (std::optional<ClusterState> held = read_cluster_state(cstate)) {
        state = std::move(*held);
        break;
      }
    } catch (const flow::Error& e) {
      if (e.code() == flow::ErrorCode::operation_cancelled) throw;
      follow_move(e);
      failed = e;
    }
    flow::TraceEvent(flow::SevWarn, "ClusterControllerStateUnread").detail("Error", failed ? failed->name() : "none written");
    flow::wait(flow::delay(250ms));
  }
  // Elected among these coordinators, and the state is here: the newest cluster (a mover may have
  // failed after a move that others finished).
  record->cluster = *cluster;
  std::optional<GenerationPlan> running = running_plan(state);
  GenerationPlan plan = running ? std::move(*running) : GenerationPlan{};
  bool recover_now = !running;
  CODE_PROBE(recover_now, "a new leader recovers at once: the state names no generation running");
  const bool takes_over_unpublished = !recover_now && record->current.epoch != plan.epoch;
  if (takes_over_unpublished) {
    // The leader before died between writing the state and telling the run's record: the record
    // (what workloads aim at, and check) learns where the generation it took over runs.
    CODE_PROBE(true, "a new leader takes over a generation the leader before never published");
    GenerationPlan known = record->current;
    known.epoch = plan.epoch;
    known.master = plan.master;
    known.grv_proxies = plan.grv_proxies;
    known.commit_proxies = plan.commit_proxies;
    known.resolvers = plan.resolvers;
    known.logs = plan.logs;
    record->current = std::move(known);
  }
  const ClusterControllerInterface controller = cluster_controller_endpoints(nullptr);
  // The generation clients are told of, and the controller's own handle on it (it reads the
  // lock's key through it): from the first generation it knows.
  flow::AsyncVar<ClientGeneration> published;
  std::unique_ptr<client::Database> database;
  const auto publish = [&published, &database](ClientGeneration g) {
    if (database) database->set_interfaces({g.grv_proxies, g.commit_proxies});
    else database = std::make_unique<client::Database>(client::ClusterInterfaces{g.grv_proxies, g.commit_proxies});
    published.set_unconditionally(std::move(g));
  };
  const flow::Future<flow::Void> serving =
      flow::spawn([stream = controller.open_database, &published] { serve_open_database(stream, &published); });
  flow::TraceEvent(flow::SevInfo, "ClusterControllerLeading")
      .detail("Epoch", static_cast<int64_t>(state.epoch))
      .detail("RecoverNow", recover_now);
  // Workers register here as soon as they find this leader through the coordinators. A process
  // elected again soon after it stepped down still knows them (its registry outlives each
  // leadership), and need not wait for them.
  const bool knew_workers = !registry.alive().empty();
  const flow::Future<flow::Void> registering =
      flow::spawn([&registry, stream = controller.register_worker] { registry.serve(stream); });
  // Each recovery's publication of its log system runs until every storage server has taken it
  // up (a newer recovery does not cancel it): the oldest durable version each reports lets later
  // recoveries forget old generations.
  std::vector<flow::Future<Version>> publishing;
  flow::Future<flow::Void> retiring;
  uint64_t lock_changes = 0;  // before lock_replies: its actors read it until they end
  flow::ActorCollection lock_replies;
  const auto lock_requests = controller.lock_database.requests();
  const auto next_lock_request = [lock_requests] {
    return flow::spawn([lock_requests] { return std::make_shared<LockRequest>(flow::wait_next(lock_requests)); });
  };
  flow::Future<std::shared_ptr<LockRequest>> lock_request = next_lock_request();
  const auto coordinators_requests = controller.change_coordinators.requests();
  const auto next_coordinators_request = [coordinators_requests] {
    return flow::spawn(
        [coordinators_requests] { return std::make_shared<CoordinatorsRequest>(flow::wait_next(coordinators_requests)); });
  };
  flow::Future<std::shared_ptr<CoordinatorsRequest>> coordinators_request = next_coordinators_request();
  const auto configure_requests = controller.configure.requests();
  const auto next_configure_request = [configure_requests] {
    return flow::spawn([configure_requests] { return std::make_shared<ConfigureRequest>(flow::wait_next(configure_requests)); });
  };
  flow::Future<std::shared_ptr<ConfigureRequest>> configure_request = next_configure_request();
  std::vector<ConfigureRequest> configuring;  // answered once a generation with the counts accepts commits
  if (!recover_now) {
    publish(client_generation(plan, *cluster));
    // A recovery the leader before ran up to writing the state: it ends here, when clients are
    // told of it (its seconds counted from this leadership's start; when its failure was
    // detected died with the leader before).
    if (takes_over_unpublished) count_recovery(record, plan.epoch, elected, "TakenOver", 0);
    // The leader before may have died before every storage server took up this generation's
    // log system, or before old roles were retired: both again (each is idempotent).
    const flow::Time began = flow::now();
    publishing.push_back(flow::spawn([state, began] { return publish_log_system(state, began); }));
    retiring = retire_later(registry, elected, state);
  }
  for (;;) {
    std::optional<LockRequest> changing_lock;
    if (!recover_now) {
      flow::Future<flow::Void> failed = flow::spawn([&plan] { wait_for_failure(hosted_roles(plan)); });
      const size_t woken = flow::wait_any(failed, lock_request, coordinators_request, configure_request);
      if (woken == 3) {
        ConfigureRequest in = std::move(*configure_request.get());
        configure_request = next_configure_request();
        const flow::ErrorOr<RoleCounts> wanted = counts_wanted(state.counts, in.request);
        if (!wanted.ok()) {
          in.reply.send_error(wanted.error());
          continue;
        }
        if (wanted.get() == state.counts) {
          CODE_PROBE(true, "controller answers a change of configuration that changes nothing");
          in.reply.send({});
          continue;
        }
        configuring.push_back(std::move(in));
        flow::TraceEvent(flow::SevInfo, "ConfigurationChanging")
            .detail("GrvProxies", wanted.get().grv_proxies)
            .detail("CommitProxies", wanted.get().commit_proxies)
            .detail("Logs", wanted.get().logs)
            .detail("Resolvers", wanted.get().resolvers)
            .detail("Epoch", static_cast<int64_t>(state.epoch));
        state.counts = wanted.get();
      } else if (woken == 2) {
        CoordinatorsRequest in = std::move(*coordinators_request.get());
        coordinators_request = next_coordinators_request();
        try {
          change_coordinators(placement, registry, cstate, state, cluster, record, std::move(in));
        } catch (const flow::Error& e) {
          if (e.code() == flow::ErrorCode::operation_cancelled) throw;
          follow_move(e);
          throw;  // another leader changed the state: this one is done
        }
        continue;
      }
      if (woken == 1) {
        LockRequest in = std::move(*lock_request.get());
        lock_request = next_lock_request();
        flow::ErrorOr<std::string> after = lock_after(state.lock_uid, in.request);
        if (!after.ok()) {
          in.reply.send_error(after.error());
          continue;
        }
        if (after.get() == state.lock_uid) {
          CODE_PROBE(true, "controller answers a lock request that changes nothing");
          lock_replies.add(answer_once_visible(*database, state.lock_uid, &lock_changes, std::move(in)));
          continue;
        }
        flow::TraceEvent(flow::SevInfo, "DatabaseLockChanging")
            .detail("Locked", !after.get().empty())
            .detail("Epoch", static_cast<int64_t>(state.epoch));
        state.lock_uid = std::move(after.get());
        ++lock_changes;
        changing_lock = std::move(in);
      }
    }
    recover_now = false;
    const flow::Time detected = flow::now();
    int timed_out_attempts = 0;  // of this recovery: each gives the next longer to recruit
    double old_log_wait = 0;     // the longest of its attempts' waits for an old log
    for (;;) {
      for (const flow::Future<Version>& p : publishing)
        if (p.is_ready() && !p.is_error()) state.storage_durable_min = std::max(state.storage_durable_min, p.get());
      std::erase_if(publishing, [](const flow::Future<Version>& p) { return p.is_ready(); });
      const uint64_t epoch = state.epoch + 1;
      if (state.counts.grv_proxies > 0) placement.grv_count = static_cast<size_t>(state.counts.grv_proxies);
      if (state.counts.commit_proxies > 0) placement.proxy_count = static_cast<size_t>(state.counts.commit_proxies);
      if (state.counts.logs > 0) placement.log_count = static_cast<size_t>(state.counts.logs);
      bool adopt = false;
      double attempt_old_log_wait = 0;
      try {
        Recovered r = recover(
            state, epoch,
            [&](uint64_t e, Version v, const std::vector<KeyRange>& ranges) {
              // A new leader gives the workers time to find it and register before it recruits
              // (reading and locking the cluster state, before this, need none of them). The
              // workers are pinged now, not earlier: while the controller's own network was
              // clogged (as a slow read of the state may mean) only its own worker would answer,
              // and the whole generation would go there.
              if (!knew_workers && flow::now() - elected < kRegistrationWait) {
                CODE_PROBE(true, "a new leader waits for workers to register before it recruits");
                flow::wait(flow::delay_until(elected + kRegistrationWait));
              }
              placement.workers = registry.alive();
              placement.responsive = responsive_workers(addresses(placement.workers), kResponsiveWithin);
              const auto resolvers_wanted = static_cast<size_t>(state.counts.resolvers);
              if (resolvers_wanted > 0 && resolvers_wanted != ranges.size()) {
                CODE_PROBE(true, "a recovery changes the number of resolvers");
                return placement.place(e, v, split_among_resolvers(resolvers_wanted));
              }
              return placement.place(e, v, ranges);
            },
            &cstate, recruit_within(timed_out_attempts), &attempt_old_log_wait);
        old_log_wait = std::max(old_log_wait, attempt_old_log_wait);
        state = std::move(r.state);
        plan = std::move(r.plan);
        record->current = plan;
        // From the failure's detection to accepting commits: attempts that timed out count.
        count_recovery(record, plan.epoch, detected, "Detected", old_log_wait);
        publish({plan.epoch, r.generation.grv_proxies, r.generation.commit_proxies, cluster->to_string()});
        const flow::Time began = flow::now();
        publishing.push_back(flow::spawn([state, began] { return publish_log_system(state, began); }));
        retiring = retire_later(registry, elected, state);
        if (changing_lock) lock_replies.add(answer_once_visible(*database, state.lock_uid, &lock_changes, std::move(*changing_lock)));
        for (ConfigureRequest& c : configuring) c.reply.send({});
        configuring.clear();
        break;
      } catch (const flow::Error& e) {
        if (e.code() == flow::ErrorCode::operation_cancelled) throw;
        old_log_wait = std::max(old_log_wait, attempt_old_log_wait);
        follow_move(e);
        flow::TraceEvent(flow::SevWarn, "RecoveryRestarting").detail("Epoch", static_cast<int64_t>(epoch)).detail("Error", e);
        state.epoch = epoch;  // burned: the old logs may be locked with it
        adopt = e.code() == flow::ErrorCode::coordinated_state_conflict;
        if (e.code() == flow::ErrorCode::timed_out) ++timed_out_attempts;
      }
      if (adopt) {
        // Another writer changed the cluster state: go on from what the coordinators hold
        // (keeping a lock change under way).
        CODE_PROBE(true, "recovery controller goes on from the cluster state another wrote");
        try {
          std::optional<ClusterState> held = read_cluster_state(cstate);
          if (held) {
            held->lock_uid = state.lock_uid;
            held->counts = state.counts;
            state = std::move(*held);
          }
        } catch (const flow::Error& e) {
          if (e.code() == flow::ErrorCode::operation_cancelled) throw;
          follow_move(e);
        }
      }
      flow::wait(flow::delay(100ms));
    }
  }
}

// Starts every role, from the seed's draws, the coordinators, and a candidate for the cluster
// controller on every process. May suspend.
std::unique_ptr<client::Database> start(WorkloadContext& ctx) {
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
  for (sim::Simulator::SimProcess* p : processes) ctx.sim.add_role(*p, "worker", [] { run_worker(); });
  // A coordinator on every process, ready for a change of coordinators to choose it; the
  // cluster's are on distinct machines, an odd number of them: five with five machines or more,
  // else three with three or more, else one. A machine's death (the atlas allows one at a time)
  // leaves a majority of three or five.
  for (sim::Simulator::SimProcess* p : processes) ctx.sim.add_role(*p, "coordinator", [] { run_coordinator(); });
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
  Placement where;
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
    ctx.sim.add_role(*p, "registration", [cluster, me] { register_worker(cluster, me); });
  }
  for (sim::Simulator::SimProcess* p : processes) {
    ctx.sim.add_role(*p, "cluster_controller",
                     [where, cluster, self = p->address, record = ctx.cluster] {
                       ClusterDescription known = cluster;
                       WorkerRegistry registry;  // across this process's leaderships
                       campaign(&known, self, [&] { lead(where, &known, record, registry); });
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
    for (size_t i = 0; i < ctx.sim.process_count(); ++i)
      if (ctx.sim.process(i).address == a) return ctx.sim.process(i).machine;
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
