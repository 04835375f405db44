#include "server/bring_up.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <initializer_list>
#include <limits>
#include <memory>
#include <optional>
#include <utility>

#include "flow/actor.h"
#include "flow/async_var.h"
#include "flow/buggify.h"
#include "flow/code_probe.h"
#include "flow/combinators.h"
#include "flow/deterministic_random.h"
#include "flow/trace_event.h"
#include "net/transport.h"
#include "roles/cluster_controller/open_database.h"
#include "roles/cluster_controller/recovery.h"
#include "server/placement.h"
#include "server/status.h"

namespace server {

using namespace roles;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> machines_of(const std::vector<WorkerRegistration>& workers) {
  std::vector<std::string> out;
  for (const WorkerRegistration& w : workers)
    if (std::find(out.begin(), out.end(), w.machine) == out.end()) out.push_back(w.machine);
  return out;
}

// How a worker must answer to be part of a new database's first generation.
constexpr flow::Duration kAnswerWithin = 500ms;
// How long the first generation's workers have to start its roles.
constexpr flow::Duration kStartWithin = 30s;
// How long a new leader lets workers find it and register before it places a creation.
constexpr flow::Duration kRegistrationWait = kRegisterReplyWithin + 400ms;

}  // namespace

flow::ErrorOr<GenerationPlan> plan_first_generation(
    const std::vector<WorkerRegistration>& workers,
    const std::vector<flow::NetworkAddress>& responsive, const NewDatabase& wanted, uint64_t epoch,
    std::string* why, const GenerationPlan& shape) {
  const auto refuse = [why](std::string what) -> flow::ErrorOr<GenerationPlan> {
    if (why != nullptr) *why = std::move(what);
    return flow::Error(flow::ErrorCode::not_enough_workers);
  };
  std::vector<WorkerRegistration> answering;
  for (const WorkerRegistration& w : workers)
    if (std::find(responsive.begin(), responsive.end(), w.address) != responsive.end())
      answering.push_back(w);
  if (answering.empty()) return refuse("no worker is registered and answering");
  const auto replication = static_cast<size_t>(std::clamp(wanted.replication, 1, kReplicationMax));
  // The workers of the first of `classes` whose workers span at least `machines` machines,
  // adding each next class's; all of them if none does.
  const auto pool = [&answering](std::initializer_list<ProcessClass> classes, size_t machines) {
    std::vector<WorkerRegistration> out;
    for (const ProcessClass c : classes) {
      for (const WorkerRegistration& w : answering)
        if (w.process_class == c) out.push_back(w);
      if (machines_of(out).size() >= machines) return out;
    }
    return answering;
  };
  const std::vector<WorkerRegistration> storage =
      pool({ProcessClass::storage, ProcessClass::unset}, replication);
  if (machines_of(storage).size() < replication) {
    return refuse(fmt::format(
        "{} copies need storage servers on {} machines, and the workers answering are on {} "
        "(strata-server --machine-id names a process's machine)",
        replication, replication, machines_of(storage).size()));
  }
  const size_t shards =
      std::max<size_t>(1, std::min(storage.size(), kFirstStorageServersMax) / replication);
  const size_t log_count =
      std::max(replication, static_cast<size_t>(std::max(0, wanted.counts.logs)));
  const std::vector<WorkerRegistration> logs =
      pool({ProcessClass::log, ProcessClass::unset, ProcessClass::stateless}, log_count);
  const std::vector<WorkerRegistration> stateless =
      pool({ProcessClass::stateless, ProcessClass::unset}, 1);
  auto& rng = flow::deterministic_random();
  const auto machine = [](const WorkerRegistration& w) { return w.machine; };
  const auto pick = [&rng, &stateless] {
    return stateless[static_cast<size_t>(rng.random_int(0, static_cast<int64_t>(stateless.size())))]
        .address;
  };
  const auto count_or_one = [](int n) { return static_cast<size_t>(n > 0 ? n : 1); };

  GenerationPlan plan;
  plan.epoch = epoch;
  plan.start_version = 0;
  plan.engine = wanted.engine;
  plan.queue_file_bytes = shape.queue_file_bytes;
  plan.engine_options = shape.engine_options;
  plan.master = pick();
  for (const WorkerRegistration& w : spread(rng, logs, log_count, machine))
    plan.logs.push_back(w.address);
  for (const KeyRange& r : split_among_resolvers(count_or_one(wanted.counts.resolvers)))
    plan.resolvers.push_back({r, pick()});
  for (size_t i = 0; i < count_or_one(wanted.counts.grv_proxies); ++i)
    plan.grv_proxies.push_back(pick());
  for (size_t i = 0; i < count_or_one(wanted.counts.commit_proxies); ++i)
    plan.commit_proxies.push_back(pick());
  // Each team's servers on distinct machines: each next server from the machine with the most
  // workers left that the team is not on yet (ties: the shuffled order), so that the last teams
  // still find distinct machines. A team that cannot (a machine holds most of the workers) takes
  // a worker again, one that hosts a server already, from another machine.
  std::vector<WorkerRegistration> left = spread(rng, storage, storage.size(), machine);
  const std::vector<KeyRange> cuts =
      split_among_resolvers(shards);  // the same blind cut by first byte
  for (size_t s = 0; s < shards; ++s) {
    GenerationPlan::Team team{cuts[s], {}};
    std::vector<std::string> on;
    for (size_t c = 0; c < replication; ++c) {
      const auto workers_left_on = [&left](const std::string& m) {
        return std::count_if(left.begin(), left.end(),
                             [&m](const WorkerRegistration& w) { return w.machine == m; });
      };
      std::optional<size_t> best;
      for (size_t i = 0; i < left.size(); ++i) {
        if (std::find(on.begin(), on.end(), left[i].machine) != on.end()) continue;
        if (!best || workers_left_on(left[i].machine) > workers_left_on(left[*best].machine))
          best = i;
      }
      if (best) {
        on.push_back(left[*best].machine);
        team.at.push_back(left[*best].address);
        left.erase(left.begin() + static_cast<std::ptrdiff_t>(*best));
        continue;
      }
      CODE_PROBE(true, "a new database's team reuses a worker to stay on distinct machines");
      for (const WorkerRegistration& w : storage) {
        if (std::find(on.begin(), on.end(), w.machine) != on.end()) continue;
        on.push_back(w.machine);
        team.at.push_back(w.address);
        break;
      }
    }
    plan.storage_teams.push_back(std::move(team));
  }
  return plan;
}

ClusterState first_cluster_state(const GenerationPlan& plan, const Generation& generation) {
  ClusterState state;
  state.epoch = plan.epoch;
  state.log_system = LogSystem::single(plan.epoch, generation.logs);
  state.shards = generation.shards;
  for (const GenerationPlan::Placed& r : plan.resolvers)
    state.resolver_ranges.push_back(r.keys);
  state.counts = {static_cast<int>(plan.grv_proxies.size()),
                  static_cast<int>(plan.commit_proxies.size()), static_cast<int>(plan.logs.size()),
                  static_cast<int>(plan.resolvers.size())};
  state.running = running_roles(plan);
  return state;
}

namespace {

using ConfigureRequest = net::ReceivedRequest<wire_cc::ConfigureRequestT, wire_cc::ConfigureReplyT>;

// What `in` asks to create, or invalid_option_value (it came over the network).
flow::ErrorOr<NewDatabase> creation_wanted(const wire_cc::ConfigureRequestT& in) {
  const flow::Error invalid(flow::ErrorCode::invalid_option_value);
  for (const int n : {in.grv_proxies, in.commit_proxies, in.logs, in.resolvers})
    if (n < 0 || n > kRoleCountMax) return invalid;
  if (in.replication < 1 || in.replication > kReplicationMax) return invalid;
  if (in.engine != "memory" && in.engine != "ssd") return invalid;
  NewDatabase out;
  out.replication = in.replication;
  out.engine = in.engine;
  out.counts = {in.grv_proxies, in.commit_proxies, in.logs, in.resolvers};
  return out;
}

// Answers every request of `stream` with `error`, until cancelled. May suspend.
template <class Stream>
void refuse_all(const Stream& stream, flow::ErrorCode error) {
  const auto requests = stream.requests();
  for (;;)
    flow::wait_next(requests).reply.send_error(flow::Error(error));
}

}  // namespace

void create_when_asked(CoordinatedState& cstate, WorkerRegistry& registry,
                       ControllerWatcher* watcher, const GenerationPlan& shape) {
  const flow::Time began = flow::now();
  const ClusterControllerInterface controller = cluster_controller_endpoints(nullptr);
  const flow::AsyncVar<ClientGeneration> none;
  const flow::Future<flow::Void> serving = flow::spawn(
      [stream = controller.open_database, &none] { serve_open_database(stream, &none); });
  const flow::Future<flow::Void> registering =
      flow::spawn([&registry, stream = controller.register_worker] { registry.serve(stream); });
  const flow::Future<flow::Void> locks = flow::spawn([stream = controller.lock_database] {
    refuse_all(stream, flow::ErrorCode::database_not_created);
  });
  const flow::Future<flow::Void> moves = flow::spawn([stream = controller.change_coordinators] {
    refuse_all(stream, flow::ErrorCode::database_not_created);
  });
  const flow::Future<flow::Void> answering_status =
      flow::spawn([&registry, &cstate, began, stream = controller.status] {
        serve_status(stream, [&registry, &cstate, began] {
          ControllerStatus now;
          now.recovery_state = "unconfigured";
          now.cluster = cstate.cluster();
          now.workers = registry.alive();
          now.controller = net::Transport::current().address();
          now.leading_seconds = flow::to_seconds(flow::now() - began);
          return now;
        });
      });
  flow::TraceEvent(flow::SevInfo, "ClusterControllerAwaitingCreation");
  const auto requests = controller.configure.requests();
  // Each failed attempt burns an epoch and its storage servers' tags: its roles may linger on
  // their workers (the storage servers, which have no epoch, until their process restarts), and
  // a worker refuses a second role of the same name started otherwise (role_already_running).
  uint64_t epoch = 1;
  uint32_t next_tag = 1;
  for (;;) {
    // Whether another leader created the database meanwhile.
    const flow::Future<std::shared_ptr<ConfigureRequest>> next = flow::spawn(
        [requests] { return std::make_shared<ConfigureRequest>(flow::wait_next(requests)); });
    const flow::Future<flow::Void> tick = flow::delay(2s);
    if (flow::wait_any(next, tick) == 1) {
      if (read_cluster_state(cstate)) return;
      continue;
    }
    ConfigureRequest in = std::move(*next.get());
    if (!in.request.create) {
      in.reply.send_error(flow::Error(flow::ErrorCode::database_not_created));
      continue;
    }
    const flow::ErrorOr<NewDatabase> wanted = creation_wanted(in.request);
    if (!wanted.ok()) {
      in.reply.send_error(wanted.error());
      continue;
    }
    if (flow::now() < began + kRegistrationWait) {
      CODE_PROBE(true, "a new leader lets workers register before it creates the database");
      flow::wait(flow::delay_until(began + kRegistrationWait));
    }
    std::vector<flow::NetworkAddress> addresses;
    const std::vector<WorkerRegistration> workers = registry.alive();
    for (const WorkerRegistration& w : workers)
      addresses.push_back(w.address);
    const std::vector<flow::NetworkAddress> responsive =
        responsive_workers(addresses, kAnswerWithin);
    std::string why;
    const flow::ErrorOr<GenerationPlan> plan =
        plan_first_generation(workers, responsive, wanted.get(), epoch, &why, shape);
    if (!plan.ok()) {
      flow::TraceEvent(flow::SevWarnAlways, "DatabaseCreationRefused")
          .detail("Error", plan.error())
          .detail("Why", why);
      in.reply.send_error(plan.error());
      continue;
    }
    flow::TraceEvent(flow::SevInfo, "DatabaseCreating")
        .detail("Epoch", static_cast<int64_t>(epoch))
        .detail("Replication", static_cast<int64_t>(wanted.get().replication))
        .detail("Engine", wanted.get().engine)
        .detail("Logs", static_cast<int64_t>(plan.get().logs.size()))
        .detail("Shards", static_cast<int64_t>(plan.get().storage_teams.size()));
    GenerationPlan created;  // what was started and written
    try {
      // The coordinators must still hold none: read with this writer's generation, then write.
      if (cstate.read()) {
        in.reply.send_error(flow::Error(flow::ErrorCode::database_already_created));
        return;
      }
      GenerationPlan started = plan.get();
      started.resend_lost_requests = false;
      size_t servers = 0;
      for (const GenerationPlan::Team& team : started.storage_teams)
        servers += team.at.size();
      if (next_tag + servers > std::numeric_limits<Tag>::max())
        throw flow::Error(flow::ErrorCode::operation_failed);
      started.first_storage_tag = static_cast<Tag>(next_tag);
      next_tag += static_cast<uint32_t>(servers);
      const std::optional<Generation> g = flow::wait(flow::timeout(
          flow::spawn([started] { return start_generation(started); }), kStartWithin));
      if (!g) throw flow::Error(flow::ErrorCode::timed_out);
      // As if the start had timed out after every role began: the next creation's roles (a newer
      // epoch) must take over from these on the same workers.
      if (flow::buggify()) {
        CODE_PROBE(true, "a creation fails after its roles started (buggified)");
        throw flow::Error(flow::ErrorCode::timed_out);
      }
      cstate.write(encode_cluster_state(first_cluster_state(started, *g)));
      created = started;
    } catch (const flow::Error& e) {
      if (e.code() == flow::ErrorCode::operation_cancelled) throw;
      flow::TraceEvent(flow::SevWarnAlways, "DatabaseCreationFailed")
          .detail("Epoch", static_cast<int64_t>(epoch))
          .detail("Error", e);
      ++epoch;
      in.reply.send_error(e.code() == flow::ErrorCode::coordinated_state_conflict
                              ? flow::Error(flow::ErrorCode::database_already_created)
                              : e);
      if (e.code() == flow::ErrorCode::coordinators_changed) throw;
      continue;
    }
    flow::TraceEvent(flow::SevInfo, "DatabaseCreated").detail("Epoch", static_cast<int64_t>(epoch));
    watcher->created(created);
    in.reply.send({});
    return;
  }
}

}  // namespace server
