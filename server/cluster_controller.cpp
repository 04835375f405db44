#include "server/cluster_controller.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/database.h"
#include "client/transaction.h"
#include "flow/actor.h"
#include "flow/actor_collection.h"
#include "flow/async_var.h"
#include "flow/code_probe.h"
#include "flow/combinators.h"
#include "flow/trace_event.h"
#include "net/transport.h"
#include "roles/cluster_controller/cluster_controller_interface.h"
#include "roles/cluster_controller/cluster_state.h"
#include "roles/cluster_controller/coordinators_change.h"
#include "roles/cluster_controller/open_database.h"
#include "roles/cluster_controller/recovery.h"
#include "roles/common/database_lock.h"
#include "roles/coordinator/coordinated_state.h"
#include "roles/worker/role_endpoints.h"
#include "server/bring_up.h"
#include "server/status.h"

namespace server {

using namespace roles;

namespace {

using namespace std::chrono_literals;

// How quickly a worker must answer to be recruited by a recovery.
constexpr flow::Duration kResponsiveWithin = 200ms;
// How often a leader whose recovery found the cluster state lost tries again.
constexpr flow::Duration kLostStateRetry = 5s;
// How long a new leader lets workers find it and register before its first recovery: a worker
// still registering with the leader before gives up on it within kRegisterReplyWithin, looks
// again within 100 ms, and registers a round trip later.
constexpr flow::Duration kRegistrationWait = kRegisterReplyWithin + 400ms;

// Retires the roles `state` no longer needs on every worker registered with `registry` (which
// outlives the returned actor), once a leader elected at `elected` has given them time to
// register. May suspend.
flow::Future<flow::Void> retire_later(const WorkerRegistry& registry, flow::Time elected,
                                      ClusterState state) {
  return flow::spawn([&registry, elected, state = std::move(state)] {
    if (flow::now() < elected + kRegistrationWait)
      flow::wait(flow::delay(elected + kRegistrationWait - flow::now()));
    retire_old_roles(registry.known(), state);
  });
}

std::vector<flow::NetworkAddress> addresses(const std::vector<WorkerRegistration>& workers) {
  std::vector<flow::NetworkAddress> out;
  for (const WorkerRegistration& w : workers)
    out.push_back(w.address);
  return out;
}

using LockRequest =
    net::ReceivedRequest<wire_cc::LockDatabaseRequestT, wire_cc::LockDatabaseReplyT>;

// Answers `in` once a lock-aware reader sees `lock_uid` in \xff/dbLocked (absent when empty):
// the recovery transaction that writes it commits after the generation accepts commits, and a
// holder reading at once must find its lock there. Answers at once if `*changes` moves on from
// its value now (a newer change overtook this one). May suspend.
flow::Future<flow::Void> answer_once_visible(client::Database& db, std::string lock_uid,
                                             const uint64_t* changes, LockRequest in) {
  return flow::spawn([&db, lock_uid = std::move(lock_uid), changes, seen = *changes,
                      in = std::move(in)]() mutable {
    client::Transaction t(db);
    t.set_lock_aware(true);
    t.set_access_system_keys(true);
    for (;;) {
      std::optional<flow::Error> failed;
      try {
        const std::optional<std::string> shown = t.get(kDatabaseLockedKey);
        if (shown.value_or(std::string()) == lock_uid || *changes != seen) break;
        CODE_PROBE(true, "controller waits for the recovery transaction to show the lock");
        failed =
            flow::Error(flow::ErrorCode::future_version);  // not yet: read again at a newer version
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
flow::ErrorOr<std::vector<flow::NetworkAddress>> coordinators_wanted(
    const Placement& placement, const std::vector<flow::NetworkAddress>& current,
    const wire_cc::ChangeCoordinatorsRequestT& in) {
  const flow::Error invalid(flow::ErrorCode::invalid_option_value);
  const auto answering = [&placement](const flow::NetworkAddress& a) {
    return std::find(placement.responsive.begin(), placement.responsive.end(), a) !=
           placement.responsive.end();
  };
  if (!in.addresses.empty()) {
    std::vector<flow::NetworkAddress> listed;
    for (const std::string& text : in.addresses) {
      const flow::ErrorOr<flow::NetworkAddress> a = flow::NetworkAddress::parse(text);
      if (!a.ok() || !answering(a.get()) ||
          std::find(listed.begin(), listed.end(), a.get()) != listed.end() ||
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
    candidates.push_back(
        {w.address, static_cast<uint64_t>(m - machines.begin()), answering(w.address)});
  }
  std::vector<flow::NetworkAddress> chosen = choose_coordinators(current, candidates, choice.get());
  if (chosen.empty()) return flow::Error(flow::ErrorCode::operation_failed);
  return chosen;
}

// Answers `in` with where the cluster state lives after the change it asks for: moves it there
// (the caller's leadership then ends: coordinators_changed, with `*cluster` the new
// description), or answers `*cluster` if the set is the same. `state` is what this leader
// believes the coordinators hold. May suspend.
void change_coordinators(Placement& placement, const WorkerRegistry& registry,
                         CoordinatedState& cstate, const ClusterState& state,
                         ClusterDescription* cluster, ControllerWatcher* watcher,
                         CoordinatorsRequest in) {
  placement.workers = registry.alive();
  placement.responsive = responsive_workers(addresses(placement.workers), kResponsiveWithin);
  const flow::ErrorOr<std::vector<flow::NetworkAddress>> wanted =
      coordinators_wanted(placement, cluster->coordinators, in.request);
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
  watcher->cluster_known(to);
  throw flow::Error(flow::ErrorCode::coordinators_changed);
}

// What clients need of the generation `plan` places: its proxies, at their well-known endpoints.
ClientGeneration client_generation(const GenerationPlan& plan, const ClusterDescription& cluster) {
  ClientGeneration g;
  g.epoch = plan.epoch;
  g.cluster = cluster.to_string();
  for (uint32_t i = 0; i < plan.grv_proxies.size(); ++i)
    g.grv_proxies.push_back(grv_proxy_endpoints(&plan.grv_proxies[i], plan.epoch, i));
  for (uint32_t i = 0; i < plan.commit_proxies.size(); ++i)
    g.commit_proxies.push_back(commit_proxy_endpoints(&plan.commit_proxies[i], plan.epoch, i));
  return g;
}

}  // namespace

void lead(Placement placement, ClusterDescription* cluster, ControllerWatcher* watcher,
          WorkerRegistry& registry, bool create_databases) {
  const flow::Time elected = flow::now();
  // This leader's recoveries' id: every log it locks is marked with it, so that a recovery from
  // a stale cluster state (one that does not list it) can tell (recovery.h).
  const uint64_t recovery_id = flow::deterministic_random().random_uint64();
  CoordinatedState cstate(*cluster, std::string(kClusterStateKey));
  // Ends the leadership if the state has moved: the campaign goes on where it went.
  const auto follow_move = [&cstate, cluster, watcher](const flow::Error& e) {
    if (e.code() != flow::ErrorCode::coordinators_changed) return;
    if (cstate.forwarded()) {
      *cluster = *cstate.forwarded();
      watcher->cluster_known(*cluster);  // a move another finished (its mover may have failed)
    }
    throw e;
  };
  ClusterState state;
  for (;;) {
    std::optional<flow::Error> failed;
    try {
      if (std::optional<ClusterState> held = read_cluster_state(cstate)) {
        // A read returns the newest value among a majority, which may sit on a minority only: a
        // leader that lost its leadership while writing it. Written back (with this read's
        // generation) before anything acts on it, so that every later read sees it. Without
        // this a new leader took over a generation whose state was on one coordinator, and the
        // next leader, reading two others, recovered from the generation before and lost what
        // the taken-over one committed (rollback seed 544).
        cstate.write(encode_cluster_state(*held));
        state = std::move(*held);
        break;
      }
      if (create_databases) {
        // No database yet: serve the workers and wait for a client to create it, then read the
        // state that names its first generation running, and take that over.
        create_when_asked(cstate, registry, watcher, placement.shape);
        continue;
      }
    } catch (const flow::Error& e) {
      if (e.code() == flow::ErrorCode::operation_cancelled) throw;
      follow_move(e);
      failed = e;
    }
    flow::TraceEvent(flow::SevWarn, "ClusterControllerStateUnread")
        .detail("Error", failed ? failed->name() : "none written");
    flow::wait(flow::delay(250ms));
  }
  // Elected among these coordinators, and the state is here: the newest cluster (a mover may have
  // failed after a move that others finished).
  watcher->cluster_known(*cluster);
  std::optional<GenerationPlan> running = running_plan(state);
  GenerationPlan plan = running ? std::move(*running) : GenerationPlan{};
  bool recover_now = !running;
  CODE_PROBE(recover_now, "a new leader recovers at once: the state names no generation running");
  const ClusterControllerInterface controller = cluster_controller_endpoints(nullptr);
  // The generation clients are told of, and the controller's own handle on it (it reads the
  // lock's key through it): from the first generation it knows.
  flow::AsyncVar<ClientGeneration> published;
  std::unique_ptr<client::Database> database;
  const auto publish = [&published, &database](ClientGeneration g) {
    if (database)
      database->set_interfaces({g.grv_proxies, g.commit_proxies});
    else
      database = std::make_unique<client::Database>(
          client::ClusterInterfaces{g.grv_proxies, g.commit_proxies});
    published.set_unconditionally(std::move(g));
  };
  const flow::Future<flow::Void> serving = flow::spawn(
      [stream = controller.open_database, &published] { serve_open_database(stream, &published); });
  flow::TraceEvent(flow::SevInfo, "ClusterControllerLeading")
      .detail("Epoch", static_cast<int64_t>(state.epoch))
      .detail("RecoverNow", recover_now);
  // Workers register here as soon as they find this leader through the coordinators. A process
  // elected again soon after it stepped down still knows them (its registry outlives each
  // leadership), and need not wait for them.
  const bool knew_workers = !registry.alive().empty();
  const flow::Future<flow::Void> registering =
      flow::spawn([&registry, stream = controller.register_worker] { registry.serve(stream); });
  // What strata-cli's status shows (server/status.h).
  bool recovering = recover_now;
  uint64_t recoveries = 0;
  double last_recovery_seconds = 0;
  const flow::Future<flow::Void> answering_status = flow::spawn([&, stream = controller.status] {
    serve_status(stream, [&] {
      ControllerStatus now;
      now.recovery_state = recovering ? "recovering" : "accepting_commits";
      now.cluster = *cluster;
      now.state = &state;
      now.workers = registry.alive();
      now.controller = net::Transport::current().address();
      now.recoveries = recoveries;
      now.last_recovery_seconds = last_recovery_seconds;
      now.leading_seconds = flow::to_seconds(flow::now() - elected);
      return now;
    });
  });
  // Each recovery's publication of its log system runs until every storage server has taken it
  // up (a newer recovery does not cancel it): the oldest durable version each reports lets later
  // recoveries forget old generations.
  std::vector<flow::Future<Version>> publishing;
  flow::Future<flow::Void> retiring;
  uint64_t lock_changes = 0;  // before lock_replies: its actors read it until they end
  flow::ActorCollection lock_replies;
  const auto lock_requests = controller.lock_database.requests();
  const auto next_lock_request = [lock_requests] {
    return flow::spawn(
        [lock_requests] { return std::make_shared<LockRequest>(flow::wait_next(lock_requests)); });
  };
  flow::Future<std::shared_ptr<LockRequest>> lock_request = next_lock_request();
  const auto coordinators_requests = controller.change_coordinators.requests();
  const auto next_coordinators_request = [coordinators_requests] {
    return flow::spawn([coordinators_requests] {
      return std::make_shared<CoordinatorsRequest>(flow::wait_next(coordinators_requests));
    });
  };
  flow::Future<std::shared_ptr<CoordinatorsRequest>> coordinators_request =
      next_coordinators_request();
  const auto configure_requests = controller.configure.requests();
  const auto next_configure_request = [configure_requests] {
    return flow::spawn([configure_requests] {
      return std::make_shared<ConfigureRequest>(flow::wait_next(configure_requests));
    });
  };
  flow::Future<std::shared_ptr<ConfigureRequest>> configure_request = next_configure_request();
  std::vector<ConfigureRequest>
      configuring;  // answered once a generation with the counts accepts commits
  if (!recover_now) {
    publish(client_generation(plan, *cluster));
    watcher->taken_over(plan, elected);
    // The leader before may have died before every storage server took up this generation's
    // log system, or before old roles were retired: both again (each is idempotent).
    const flow::Time began = flow::now();
    publishing.push_back(flow::spawn([state, began] { return publish_log_system(state, began); }));
    retiring = retire_later(registry, elected, state);
  }
  for (;;) {
    std::optional<LockRequest> changing_lock;
    if (!recover_now) {
      flow::Future<flow::Void> failed =
          flow::spawn([&plan] { wait_for_failure(hosted_roles(plan)); });
      const size_t woken =
          flow::wait_any(failed, lock_request, coordinators_request, configure_request);
      if (woken == 3) {
        ConfigureRequest in = std::move(*configure_request.get());
        configure_request = next_configure_request();
        if (in.request.create) {
          CODE_PROBE(true, "controller refuses to create a database that exists");
          in.reply.send_error(flow::Error(flow::ErrorCode::database_already_created));
          continue;
        }
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
          change_coordinators(placement, registry, cstate, state, cluster, watcher, std::move(in));
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
          lock_replies.add(
              answer_once_visible(*database, state.lock_uid, &lock_changes, std::move(in)));
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
    recovering = true;
    const flow::Time detected = flow::now();
    int timed_out_attempts = 0;  // of this recovery: each gives the next longer to recruit
    double old_log_wait = 0;     // the longest of its attempts' waits for an old log
    for (;;) {
      for (const flow::Future<Version>& p : publishing)
        if (p.is_ready() && !p.is_error())
          state.storage_durable_min = std::max(state.storage_durable_min, p.get());
      std::erase_if(publishing, [](const flow::Future<Version>& p) { return p.is_ready(); });
      const uint64_t epoch = state.epoch + 1;
      if (state.counts.grv_proxies > 0)
        placement.grv_count = static_cast<size_t>(state.counts.grv_proxies);
      if (state.counts.commit_proxies > 0)
        placement.proxy_count = static_cast<size_t>(state.counts.commit_proxies);
      if (state.counts.logs > 0) placement.log_count = static_cast<size_t>(state.counts.logs);
      bool adopt = false;
      bool state_lost = false;
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
              placement.responsive =
                  responsive_workers(addresses(placement.workers), kResponsiveWithin);
              const auto resolvers_wanted = static_cast<size_t>(state.counts.resolvers);
              if (resolvers_wanted > 0 && resolvers_wanted != ranges.size()) {
                CODE_PROBE(true, "a recovery changes the number of resolvers");
                return placement.place(e, v, split_among_resolvers(resolvers_wanted));
              }
              return placement.place(e, v, ranges);
            },
            &cstate, recruit_within(timed_out_attempts), &attempt_old_log_wait, recovery_id);
        old_log_wait = std::max(old_log_wait, attempt_old_log_wait);
        state = std::move(r.state);
        plan = std::move(r.plan);
        watcher->recovered(plan, detected, old_log_wait);
        recovering = false;
        ++recoveries;
        last_recovery_seconds = flow::to_seconds(flow::now() - detected);
        publish({plan.epoch, r.generation.grv_proxies, r.generation.commit_proxies,
                 cluster->to_string()});
        const flow::Time began = flow::now();
        publishing.push_back(
            flow::spawn([state, began] { return publish_log_system(state, began); }));
        retiring = retire_later(registry, elected, state);
        if (changing_lock)
          lock_replies.add(answer_once_visible(*database, state.lock_uid, &lock_changes,
                                               std::move(*changing_lock)));
        for (ConfigureRequest& c : configuring)
          c.reply.send({});
        configuring.clear();
        break;
      } catch (const flow::Error& e) {
        if (e.code() == flow::ErrorCode::operation_cancelled) throw;
        old_log_wait = std::max(old_log_wait, attempt_old_log_wait);
        follow_move(e);
        flow::TraceEvent(flow::SevWarn, "RecoveryRestarting")
            .detail("Epoch", static_cast<int64_t>(epoch))
            .detail("Error", e);
        state.epoch = epoch;  // burned: the old logs may be locked with it
        adopt = e.code() == flow::ErrorCode::coordinated_state_conflict;
        if (e.code() == flow::ErrorCode::timed_out) ++timed_out_attempts;
        state_lost = e.code() == flow::ErrorCode::cluster_state_lost;
      }
      // The coordinators lost the newest state: nothing this leader does can bring it back. It
      // looks again now and then (the logs' evidence stays), unavailable, never wrong.
      if (state_lost) flow::wait(flow::delay(kLostStateRetry));
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

}  // namespace server
