#include "workloads/sim_runner.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

#include "client/database.h"
#include "flow/actor.h"
#include "flow/combinators.h"
#include "flow/deterministic_random.h"
#include "flow/runtime.h"
#include "flow/trace_event.h"
#include "sim/simulator.h"
#include "workloads/consistency_check.h"
#include "workloads/database_cluster.h"
#include "workloads/timeline.h"

namespace workloads {
namespace {

using flow::Error;

// Records every trace line with the number of random draws made, and tasks run, before it.
class CaptureSink final : public flow::ITraceSink {
 public:
  CaptureSink(std::vector<CapturedEvent>& out, const flow::DeterministicRandom& rng,
              const flow::TaskLog& tasks)
      : out_(out), rng_(rng), tasks_(tasks) {}
  void write(flow::Severity, std::string_view line) override {
    out_.push_back({rng_.draw_count(), std::string(line), tasks_.count()});
  }

 private:
  std::vector<CapturedEvent>& out_;
  const flow::DeterministicRandom& rng_;
  const flow::TaskLog& tasks_;
};

struct RunSettings {
  int min_machines = 3;
  int max_machines = 8;
  std::optional<int> datacenters;
  std::optional<int> processes_per_machine;
  sim::FaultAtlas atlas;
  flow::Duration liveness = std::chrono::seconds(60);
  // Beyond the atlas: how long the workloads' starts may run before they are cancelled.
  flow::Duration beyond_safety = std::chrono::seconds(120);
  flow::Duration max_sim = std::chrono::seconds(3600);
  std::optional<bool> buggify;
  int replication = 0;  // redundancyMode: 1, 2, 3; 0: drawn
  int replication_min = 1;  // minimumReplication
  bool create_with_configure_new = false;  // createWithConfigureNew
};

// A spec's integer, clamped into int's range (the checks below then refuse it by value).
int clamp_int(int64_t v) {
  return static_cast<int>(std::clamp<int64_t>(v, std::numeric_limits<int>::min(),
                                              std::numeric_limits<int>::max()));
}

RunSettings read_configuration(const Spec& spec, std::vector<std::string>& warnings,
                               std::string& error) {
  WorkloadOptions o(spec.configuration);
  RunSettings s;
  if (int64_t n = o.get_int("machineCount", 0); n > 0) {
    s.min_machines = s.max_machines = clamp_int(n);
  }
  s.min_machines = clamp_int(o.get_int("minMachines", s.min_machines));
  s.max_machines = clamp_int(o.get_int("maxMachines", s.max_machines));
  if (int64_t dc = o.get_int("datacenters", 0); dc > 0) s.datacenters = clamp_int(dc);
  if (int64_t ppm = o.get_int("processesPerMachine", 0); ppm > 0) {
    s.processes_per_machine = clamp_int(ppm);
  }
  s.atlas.max_dead_machines = clamp_int(o.get_int("maxDeadMachines", 1));
  s.atlas.allow_wipe = o.get_bool("allowWipe", false);
  s.atlas.allow_corruption = o.get_bool("allowCorruption", false);
  // A labelled scenario past the atlas (workloads/beyond_atlas_workload.cpp): wiping a team's
  // every replica needs wipes.
  s.atlas.beyond = o.get_string("beyondAtlas", "");
  o.require(s.atlas.beyond.empty() || s.atlas.beyond == "coordinator_majority" || s.atlas.beyond == "team_wiped",
            "beyondAtlas", "must be 'coordinator_majority' or 'team_wiped'");
  if (s.atlas.beyond == "team_wiped") s.atlas.allow_wipe = true;
  const double beyond_safety_seconds = o.get_double("beyondAtlasSafetySeconds", 120);
  o.require(beyond_safety_seconds > 0 && beyond_safety_seconds <= 1e6, "beyondAtlasSafetySeconds", "must be in (0, 1e6]");
  if (beyond_safety_seconds > 0 && beyond_safety_seconds <= 1e6)
    s.beyond_safety = o.get_seconds("beyondAtlasSafetySeconds", 120);
  const double liveness_seconds = o.get_double("livenessSeconds", 60);
  const double max_sim_seconds = o.get_double("maxSimSeconds", 3600);
  // Every value is checked before it is used: a spec never reaches one of the simulator's
  // assertions (nor overflows a duration).
  o.require(!spec.configuration.contains("machineCount") ||
                (o.get_int("machineCount", 1) >= 1 && o.get_int("machineCount", 1) <= 200),
            "machineCount", "must be 1..200");
  o.require(!spec.configuration.contains("datacenters") ||
                (o.get_int("datacenters", 1) >= 1 && o.get_int("datacenters", 1) <= 200),
            "datacenters", "must be 1..200");
  o.require(!spec.configuration.contains("processesPerMachine") ||
                (o.get_int("processesPerMachine", 1) >= 1 &&
                 o.get_int("processesPerMachine", 1) <= 100),
            "processesPerMachine", "must be 1..100");
  o.require(o.get_int("maxDeadMachines", 1) >= 0 && o.get_int("maxDeadMachines", 1) <= 200,
            "maxDeadMachines", "must be 0..200");
  o.require(liveness_seconds > 0 && liveness_seconds <= 1e6, "livenessSeconds",
            "must be in (0, 1e6]");
  o.require(max_sim_seconds > 0 && max_sim_seconds <= 1e8, "maxSimSeconds", "must be in (0, 1e8]");
  if (liveness_seconds > 0 && liveness_seconds <= 1e6) s.liveness = o.get_seconds("livenessSeconds", 60);
  if (max_sim_seconds > 0 && max_sim_seconds <= 1e8) s.max_sim = o.get_seconds("maxSimSeconds", 3600);
  if (spec.configuration.contains("buggify")) s.buggify = o.get_bool("buggify", false);
  // FoundationDB's minimumReplication, and the mode itself (its configure command's words).
  const int64_t min_replication = o.get_int("minimumReplication", 1);
  o.require(min_replication >= 1 && min_replication <= 3, "minimumReplication", "must be 1..3");
  if (min_replication >= 1 && min_replication <= 3) s.replication_min = static_cast<int>(min_replication);
  const std::string mode = o.get_string("redundancyMode", "");
  o.require(mode.empty() || mode == "single" || mode == "double" || mode == "triple", "redundancyMode",
            "must be 'single', 'double' or 'triple'");
  s.replication = mode == "single" ? 1 : mode == "double" ? 2 : mode == "triple" ? 3 : 0;
  o.require(s.replication == 0 || s.replication >= s.replication_min, "redundancyMode",
            "must keep at least minimumReplication copies");
  s.create_with_configure_new = o.get_bool("createWithConfigureNew", false);
  for (const std::string& name : o.unused())
    warnings.push_back(
        fmt::format("{}: [configuration] option '{}' is not known; ignored", spec.path, name));
  for (const std::string& e : o.type_errors())
    error += (error.empty() ? "" : "; ") + fmt::format("[configuration] {}", e);
  if (error.empty() &&
      (s.min_machines < 1 || s.max_machines < s.min_machines || s.max_machines > 200)) {
    error = fmt::format("[configuration] machine count must be 1..200 (min {} max {})",
                        s.min_machines, s.max_machines);
  }
  return s;
}

// Runs every test of the spec on the cluster; returns the failure, or "" on success.
// May suspend.
// The runtime's ordering promises, checked all through a run on the tester: timers due at the
// same time wake their waiters highest priority first, ties in the order they were set, and each
// waiter runs at its timer's priority. Every so often it sets a few such timers and watches them.
// Returns (sets `failure`) at the first broken promise. May suspend.
void check_runtime_order(std::string& failure) {
  auto& rng = flow::deterministic_random();
  static constexpr flow::TaskPriority kPriorities[] = {
      flow::TaskPriority::Low, flow::TaskPriority::DefaultDelay, flow::TaskPriority::ReadSocket};
  struct Woken {
    int index;
    flow::TaskPriority asked;
    flow::TaskPriority ran_at;
  };
  for (;;) {
    flow::wait(flow::delay(rng.random_duration(std::chrono::milliseconds(10),
                                               std::chrono::milliseconds(500))));
    const flow::Time due = flow::now() + rng.random_duration(std::chrono::microseconds(0),
                                                             std::chrono::milliseconds(5));
    std::vector<Woken> woken;
    std::vector<flow::Future<flow::Void>> waiters;
    const int n = static_cast<int>(rng.random_int(2, 7));
    for (int i = 0; i < n; ++i) {
      const flow::TaskPriority p = kPriorities[rng.random_int(0, 3)];
      waiters.push_back(flow::spawn([&woken, i, p, due] {
        flow::wait(flow::delay_until(due, p));
        woken.push_back({i, p, flow::Runtime::checked_current().scheduler().current_priority()});
      }));
    }
    flow::wait(flow::wait_all(waiters));
    std::vector<Woken> expected = woken;
    std::stable_sort(expected.begin(), expected.end(), [](const Woken& a, const Woken& b) {
      return a.asked != b.asked ? a.asked > b.asked : a.index < b.index;
    });
    for (size_t i = 0; i < woken.size(); ++i) {
      if (woken[i].index != expected[i].index || woken[i].ran_at != woken[i].asked) {
        failure = fmt::format(
            "the runtime broke its order: of {} timers due at once, #{} (priority {}) woke {}th "
            "at priority {}, expected #{}",
            n, woken[i].index, static_cast<int>(woken[i].asked), i + 1,
            static_cast<int>(woken[i].ran_at), expected[i].index);
        return;
      }
    }
  }
}

std::string run_tests(const Spec& spec, const RunSettings& settings, sim::Simulator& sim,
                      std::vector<std::unique_ptr<Workload>>& keep, RunResult& result,
                      std::vector<std::string>& warnings,
                      std::unique_ptr<client::Database>& database, ClusterRecord& cluster) {
  for (const TestSpec& test : spec.tests) {
    // The test's own options, with the meaning FoundationDB gives them (see sim_runner.h).
    WorkloadOptions test_options(test.options);
    const bool run_setup = test_options.get_bool("runSetup", true);
    const bool clear_after = test_options.get_bool("clearAfterTest", false);
    const bool failure_injection = test_options.get_bool("runFailureWorkloads", true);
    const double no_failures_seconds =
        test_options.get_double("connectionFailuresDisableDuration", 0);
    test_options.require(no_failures_seconds >= 0 && no_failures_seconds <= 1e9,
                         "connectionFailuresDisableDuration", "must be in [0, 1e9] seconds");
    for (const std::string& e : test_options.type_errors()) {
      flow::TraceEvent(flow::SevWarnAlways, "SpecOptionError")
          .detail("Test", test.title)
          .detail("Error", e);
      return fmt::format("test '{}': option {}", test.title, e);
    }
    for (const std::string& name : test_options.unused()) {
      warnings.push_back(fmt::format("{}: test '{}': unknown option '{}' ignored", spec.path,
                                     test.title, name));
    }
    sim.network().set_connection_failure_gap(
        flow::from_seconds(no_failures_seconds));
    std::vector<Workload*> ws;
    for (const WorkloadSpec& w : test.workloads) {
      WorkloadOptions options(w.options);
      keep.push_back(workload_registry().at(w.test_name)(options));
      ws.push_back(keep.back().get());
      for (const std::string& e : options.type_errors()) {
        flow::TraceEvent(flow::SevWarnAlways, "SpecOptionError")
            .detail("Test", test.title)
            .detail("Workload", w.test_name)
            .detail("Error", e);
        return fmt::format("test '{}', workload {}: option {}", test.title, w.test_name, e);
      }
      for (const std::string& name : options.unused()) {
        warnings.push_back(fmt::format("{}: test '{}', workload {}: unknown option '{}' ignored",
                                       spec.path, test.title, w.test_name, name));
      }
    }
    WorkloadContext ctx{&sim, test.title, &database, {}, &cluster};
    for (Workload* w : ws)
      for (std::string& hint : w->key_hints()) ctx.key_hints.push_back(std::move(hint));
    flow::TraceEvent(flow::SevInfo, "TestStarting").detail("Title", test.title);
    if (run_setup) {
      for (Workload* w : ws)
        w->setup(ctx);
    }

    // Safety phase: the workloads run side by side under faults: theirs, and (unless the test
    // says runFailureWorkloads = false) the swarm's own (random connection failures, disk errors
    // and stalls, clock jumps).
    sim.set_faults_enabled(failure_injection);
    std::string failure;
    std::vector<flow::Future<flow::Void>> starts;
    for (Workload* w : ws) {
      starts.push_back(flow::spawn([w, &ctx, &failure] {
        try {
          w->start(ctx);
        } catch (const Error& e) {
          if (e.code() == flow::ErrorCode::operation_cancelled) throw;
          if (failure.empty()) failure = fmt::format("workload {} failed: {}", w->name(), e.name());
        }
      }));
    }
    if (settings.atlas.beyond.empty()) {
      flow::wait(flow::wait_all(starts));
    } else if (!flow::wait(flow::timeout(flow::wait_all(starts), settings.beyond_safety))) {
      // Past the atlas a workload may wait for ever on an unavailable database: its start is
      // cancelled (as a client that gave up), and the checks go on.
      CODE_PROBE(true, "a run beyond the atlas cancels workloads waiting on an unavailable database");
      flow::TraceEvent(flow::SevInfo, "TestUnavailableBeyondAtlas")
          .detail("Title", test.title)
          .detail("Scenario", settings.atlas.beyond)
          .detail("Phase", "safety");
      result.unavailable = true;
      starts.clear();
    }
    if (!failure.empty()) return fmt::format("test '{}': {}", test.title, failure);

    // Liveness phase: faults heal, dead machines come back, and the checks must finish in time.
    sim.heal();
    sim.reboot_all_dead();
    flow::TraceEvent(flow::SevInfo, "TestChecking").detail("Title", test.title);
    std::vector<flow::Future<bool>> checks;
    for (Workload* w : ws) {
      checks.push_back(flow::spawn([w, &ctx, &failure]() -> bool {
        try {
          return w->check(ctx);
        } catch (const Error& e) {
          if (e.code() == flow::ErrorCode::operation_cancelled) throw;
          if (failure.empty())
            failure = fmt::format("workload {} check failed: {}", w->name(), e.name());
          return false;
        }
      }));
    }
    const std::optional<flow::Void> done =
        flow::wait(flow::timeout(flow::wait_all(checks), settings.liveness));
    if (!done && !settings.atlas.beyond.empty()) {
      // Past the atlas the database may stay unavailable: that is stopping safely. What the
      // checks that did finish said, and every SevError, still count.
      CODE_PROBE(true, "a run beyond the atlas ends with the database unavailable");
      flow::TraceEvent(flow::SevInfo, "TestUnavailableBeyondAtlas").detail("Title", test.title).detail("Scenario", settings.atlas.beyond);
      result.unavailable = true;
      for (size_t i = 0; i < ws.size(); ++i)
        if (checks[i].is_ready() && !checks[i].is_error() && !checks[i].get())
          return fmt::format("test '{}': workload {} check failed", test.title, ws[i]->name());
      if (!failure.empty()) return fmt::format("test '{}': {}", test.title, failure);
      continue;
    }
    if (!done) {
      // Name what each stuck check waits on: the actor, the process it waits for and that
      // process's state and roles.
      std::string stuck;
      for (size_t i = 0; i < ws.size(); ++i) {
        if (checks[i].is_ready()) continue;
        std::string what = ws[i]->name();
        if (std::optional<Waiting> waiting = ws[i]->waiting_on()) {
          what += fmt::format(" (its {} waits on {}", waiting->actor, waiting->what);
          if (waiting->process) what += ": " + sim.describe_process(*waiting->process);
          what += ")";
        }
        flow::TraceEvent(flow::SevWarnAlways, "TestStuck")
            .detail("Title", test.title)
            .detail("Workload", ws[i]->name())
            .detail("Stuck", what);
        stuck += (stuck.empty() ? "" : ", ") + what;
      }
      return fmt::format(
          "test '{}': stuck: check of {} did not finish within {} s after the faults healed",
          test.title, stuck, settings.liveness.count() / 1'000'000'000);
    }
    if (!failure.empty()) return fmt::format("test '{}': {}", test.title, failure);
    for (size_t i = 0; i < ws.size(); ++i) {
      if (!checks[i].get())
        return fmt::format("test '{}': workload {} check failed", test.title, ws[i]->name());
    }
    // After every test that used the database, as FoundationDB does: the database agrees with
    // itself (workloads/consistency_check.h).
    if (database) {
      const std::optional<bool> consistent =
          flow::wait(flow::timeout(flow::spawn([&ctx] { return check_database_consistency(ctx); }), settings.liveness));
      if (!consistent && !settings.atlas.beyond.empty()) {
        flow::TraceEvent(flow::SevInfo, "TestUnavailableBeyondAtlas").detail("Title", test.title).detail("Scenario", settings.atlas.beyond);
        result.unavailable = true;
        continue;
      }
      if (!consistent)
        return fmt::format("test '{}': stuck: the consistency check did not finish within {} s", test.title,
                           settings.liveness.count() / 1'000'000'000);
      if (!*consistent) return fmt::format("test '{}': the consistency check failed", test.title);
    }
    for (Workload* w : ws)
      w->metrics(result.metrics);
    flow::TraceEvent(flow::SevInfo, "TestPassed").detail("Title", test.title);
    // clearAfterTest: the next test starts on an empty cluster (every cluster disk wiped).
    if (clear_after) sim.clear_cluster();
  }
  return "";
}

}  // namespace

RunResult run_spec(const Spec& spec, const RunConfig& config) {
  RunResult result;
  std::vector<std::string> warnings;
  std::string error;
  const RunSettings settings = read_configuration(spec, warnings, error);
  if (!error.empty()) {
    result.failure = error;
    return result;
  }
  switch (config.buggify) {
    case BuggifyMode::kOn:
      result.buggify = true;
      break;
    case BuggifyMode::kOff:
      result.buggify = false;
      break;
    case BuggifyMode::kRandom:
      // Drawn from the seed, but from a stream of its own: the run's stream starts untouched.
      result.buggify = settings.buggify.value_or(
          flow::DeterministicRandom(config.seed ^ 0xb0661f1ull).coinflip());
      break;
  }
  std::vector<std::string> knobs = spec.knobs;
  knobs.insert(knobs.end(), config.knobs.begin(), config.knobs.end());

  if (config.capture_trace) result.tasks = std::make_shared<flow::TaskLog>();
  std::unique_ptr<flow::Runtime> rt;
  try {
    rt = std::make_unique<flow::Runtime>(flow::RuntimeOptions{.seed = config.seed,
                                                              .simulated = true,
                                                              .buggify = result.buggify,
                                                              .knobs = knobs,
                                                              .trace_file = config.trace_file,
                                                              .task_log = result.tasks.get()});
  } catch (const Error& e) {
    result.failure = fmt::format("the runtime refused its options (a --knob override, or the trace "
                                 "file): {}",
                                 e.name());
    return result;
  }
  if (config.capture_trace)
    rt->trace().add_sink(
        std::make_unique<CaptureSink>(result.captured, rt->random(), *result.tasks));
  std::shared_ptr<TimelineData> timeline;
  if (config.timeline) {
    timeline = std::make_shared<TimelineData>();
    timeline->title = config.timeline_title;
    rt->trace().add_sink(make_timeline_trace_sink(timeline));
  }

  // Declared in destruction order: the root actor goes first, then the cluster (which cancels every
  // simulated process's actors), then the workloads those actors used.
  std::vector<std::unique_ptr<Workload>> workloads;
  std::unique_ptr<client::Database> database;
  ClusterRecord cluster;
  cluster.replication = settings.replication;
  cluster.replication_min = settings.replication_min;
  cluster.create_with_configure_new = settings.create_with_configure_new;
  sim::SwarmConfig swarm =
      sim::draw_swarm(rt->random(), settings.min_machines, settings.max_machines);
  if (settings.datacenters) {
    swarm.datacenters = *settings.datacenters;
    swarm.machines_per_datacenter =
        std::max(1, (swarm.machines + swarm.datacenters - 1) / swarm.datacenters);
  }
  if (settings.processes_per_machine) swarm.processes_per_machine = *settings.processes_per_machine;
  result.swarm = sim::describe(swarm) + (result.buggify ? "; buggify on" : "; buggify off");
  if (config.on_start) config.on_start(result.swarm);
  auto simulator = std::make_unique<sim::Simulator>(*rt, swarm, settings.atlas);
  if (timeline) {
    simulator->network().set_write_observer(
        [t = timeline.get()](const sim::SimNetwork::WriteRecord& w) { record_timeline_write(*t, w); });
  }
  std::string failure;
  {
    flow::Future<flow::Void> root = flow::spawn_in(*simulator->tester().process, [&] {
      std::string order_failure;
      flow::Future<flow::Void> order =
          flow::spawn([&order_failure] { check_runtime_order(order_failure); });
      failure = run_tests(spec, settings, *simulator, workloads, result, warnings, database, cluster);
      if (failure.empty()) failure = order_failure;
    });
    const flow::Future<std::optional<flow::Void>> bounded = flow::timeout(root, settings.max_sim);
    if (!rt->run_until(bounded)) {
      result.failure = "deadlock: the run went quiescent with the test still waiting";
    } else if (bounded.is_error()) {
      result.failure = fmt::format("the test failed: {}", bounded.get_error().name());
    } else if (!bounded.get()) {
      result.failure = fmt::format("stuck: the test ran past maxSimSeconds ({} s)",
                                   settings.max_sim.count() / 1'000'000'000);
    } else {
      result.failure = failure;
    }
  }
  // Buggify is a fault the simulator injects: with it on, it must be seen working.
  if (result.failure.empty() && result.buggify) {
    const flow::Buggify& b = rt->buggify();
    if (b.evaluations() > 0 && b.sites_seen() == 0) {
      result.failure = fmt::format("buggify is on and was asked {} times, but decided no site",
                                   b.evaluations());
    } else if (b.fires() == 0 && b.log_chance_of_no_fire() < std::log(1e-9)) {
      result.failure =
          fmt::format("buggify is on but never fired in {} evaluations at {} active sites",
                      b.evaluations(), b.sites_active());
    }
  }
  result.probes = flow::code_probe_counts(*rt);
  result.recoveries = cluster.recovery_seconds;
  result.recovery_old_log_waits = cluster.recovery_old_log_waits;
  result.replication = cluster.replication_running;
  result.beyond_atlas = settings.atlas.beyond;
  result.network_bytes = simulator->network().bytes_sent();
  for (size_t i = 0; i < simulator->machine_count(); ++i)
    result.disk_bytes += static_cast<uint64_t>(simulator->machine(i).disk.bytes_moved());
  if (timeline) {
    simulator->network().set_write_observer(nullptr);
    for (size_t i = 0; i < simulator->process_count(); ++i) {
      const sim::Simulator::SimProcess& p = simulator->process(i);
      const std::string address = p.address.to_string();
      timeline->processes.push_back({p.name, p.machine->name, p.machine->datacenter,
                                     address.substr(0, address.rfind(':')), p.is_protected});
    }
  }
  simulator.reset();
  for (const auto& w : workloads) {
    std::string edn = w->history_edn();
    if (!edn.empty()) result.histories.emplace_back(w->name(), std::move(edn));
  }
  workloads.clear();
  if (rt->trace().error_count() > 0) {
    // The first SevError event says what went wrong; a failed check alone does not.
    result.failure += (result.failure.empty() ? "" : "; first ") + std::string("SevError event: ") +
                      rt->trace().first_error();
  }
  for (const std::string& w : warnings)
    if (config.on_warning) config.on_warning(w);
  result.passed = result.failure.empty();
  if (timeline) {
    timeline->outcome = result.passed ? "PASS" : "FAIL: " + result.failure;
    result.timeline_html = render_timeline_html(*timeline);
  }
  result.sim_seconds = static_cast<double>(flow::to_ns(rt->now())) / 1e9;
  result.events = rt->scheduler().tasks_run();
  result.trace_events = rt->trace().event_count();
  result.digest = rt->trace().digest();
  result.draws = rt->random().draw_count();
  result.unseed = rt->unseed();
  rt->trace().flush();
  return result;
}

std::string first_divergence(const RunResult& a, const RunResult& b) {
  // The first task at which the order of work differs, if both runs recorded it. Reported when it
  // came before the first differing event: a changed order is usually the cause, and it may emit
  // no event and draw no number at all.
  std::string task_divergence;
  uint64_t task_index = UINT64_MAX;
  if (a.tasks && b.tasks) {
    task_divergence = flow::TaskLog::first_difference(*a.tasks, *b.tasks);
    if (!task_divergence.empty())
      task_index = flow::TaskLog::first_difference_index(*a.tasks, *b.tasks);
  }
  const auto report_tasks = [&](size_t events_before) {
    return fmt::format("the order of work diverges after trace event #{} (same events and random "
                       "draws until then): {}",
                       events_before, task_divergence);
  };
  const size_t n = std::min(a.captured.size(), b.captured.size());
  for (size_t i = 0; i < n; ++i) {
    const CapturedEvent& x = a.captured[i];
    const CapturedEvent& y = b.captured[i];
    if (task_index < x.tasks_before || task_index < y.tasks_before) return report_tasks(i);
    if (x.draws_before != y.draws_before) {
      return fmt::format(
          "random draws diverge before trace event #{}: first run made {} draws, second {}\n"
          "  event: {}",
          i + 1, x.draws_before, y.draws_before, x.line);
    }
    if (x.line != y.line) {
      return fmt::format("trace event #{} differs\n  first:  {}\n  second: {}", i + 1, x.line,
                         y.line);
    }
  }
  if (a.captured.size() != b.captured.size()) {
    const auto& longer = a.captured.size() > b.captured.size() ? a : b;
    if (task_index < longer.captured[n].tasks_before) return report_tasks(n);
    return fmt::format("one run has {} trace events, the other {}; the first extra one: {}",
                       a.captured.size(), b.captured.size(), longer.captured[n].line);
  }
  if (!task_divergence.empty()) return report_tasks(n);
  if (a.draws != b.draws) {
    return fmt::format("random draws diverge after the last trace event: {} vs {}", a.draws,
                       b.draws);
  }
  if (a.unseed != b.unseed || a.digest != b.digest) {
    return "unseeds or digests differ though every trace event matched (nondeterminism after the "
           "last event)";
  }
  for (size_t i = 0; i < std::min(a.probes.size(), b.probes.size()); ++i) {
    if (a.probes[i].hits != b.probes[i].hits) {
      return fmt::format("code probe '{}' was hit {} times in the first run, {} in the second",
                         flow::code_probe_name(*a.probes[i].site), a.probes[i].hits,
                         b.probes[i].hits);
    }
  }
  return "";
}

}  // namespace workloads
