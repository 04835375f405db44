#pragma once
// Runtime — everything one run owns: scheduler, deterministic random, trace log, buggify state,
// code probe hits, knobs, and the main process.
//
// Exactly one Runtime is active at a time; flow's free functions (spawn, wait, delay,
// deterministic_random, buggify, TraceEvent, ...) reach it through Runtime::current(). All run
// state lives here and dies with it, so two runs in one process (--check-determinism) start from
// the same state. Destroying a Runtime cancels every actor still alive.
//
//   flow::Runtime rt({.seed = 42});
//   int v = rt.run([] { wait(flow::delay(1s)); return 7; });

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "flow/actor.h"
#include "flow/buggify.h"
#include "flow/deterministic_random.h"
#include "flow/flow_knobs.h"
#include "flow/future.h"
#include "flow/knobs.h"
#include "flow/process.h"
#include "flow/reactor.h"
#include "flow/scheduler.h"
#include "flow/task_log.h"
#include "flow/trace_event.h"

namespace flow {

struct RuntimeOptions {
  uint64_t seed = 1;
  // A simulated run: ASSERT_SIM checks, and buggify may be on.
  bool simulated = true;
  bool buggify = false;
  // "name=value" knob overrides, applied after any randomization.
  std::vector<std::string> knobs{};
  // The world's reactor; null means a VirtualReactor owned by the runtime.
  IReactor* reactor = nullptr;
  // JSON-lines trace output; empty means none (the digest is kept regardless).
  std::string trace_file{};
  Severity trace_min_severity = SevInfo;
  std::string main_process_name = "main";
  // Where to record the order of work (see flow/task_log.h); null: not recorded. Must outlive
  // the Runtime (its teardown cancels actors, which are tasks too).
  TaskLog* task_log = nullptr;
};

class Runtime {
 public:
  // Throws flow::Error (unknown_knob, invalid_knob_value) for a bad knob override.
  explicit Runtime(RuntimeOptions options = {});
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  static Runtime* current();
  // REQUIRES: a Runtime is active.
  static Runtime& checked_current();

  uint64_t seed() const { return options_.seed; }
  bool simulated() const { return options_.simulated; }
  Time now() const { return scheduler_->now(); }
  // See IReactor::cpu_contended.
  bool cpu_contended() const { return scheduler_->reactor().cpu_contended(); }

  DeterministicRandom& random() { return random_; }
  TraceLog& trace() { return trace_; }
  Buggify& buggify() { return buggify_; }
  const FlowKnobs& knobs() const { return knobs_; }
  KnobSet& knob_set() { return knob_set_; }
  Process& main_process() { return main_process_; }
  Process& current_process() { return scheduler_->current_process(); }
  detail::Scheduler& scheduler() { return *scheduler_; }

  // Runs the scheduler until `f` is ready. Returns false if the run became quiescent first.
  template <class T>
  bool run_until(const Future<T>& f) {
    ASSERT_MSG(f.is_valid(), "run_until() on an invalid future");
    return scheduler_->run_until(f.test_state());
  }
  // Runs until nothing is ready and no timer is pending.
  void run_until_quiescent() { (void)scheduler_->run_until(nullptr); }
  // Spawns fn(args...) in the main process and runs until it ends; returns its value or throws
  // its error. Asserts if the run goes quiescent with the actor still waiting (a deadlock).
  template <class Fn, class... Args>
  auto run(Fn&& fn, Args&&... args) {
    auto f = spawn_in(main_process_, std::forward<Fn>(fn), std::forward<Args>(args)...);
    ASSERT_MSG(run_until(f), "deadlock: the run went quiescent with its root actor waiting");
    if (f.is_error()) throw f.get_error();
    return f.get();
  }

  // A number drawn from the run's random stream after everything else: equal for two runs exactly
  // when they drew the same randomness in the same order. Call once, at the end.
  uint64_t unseed() { return random_.random_uint64(); }

  void record_code_probe_hit(size_t index);
  // Hits per probe site, indexed like CodeProbeSite::index (shorter if later sites were not hit).
  const std::vector<uint64_t>& code_probe_hits() const { return probe_hits_; }

 private:
  RuntimeOptions options_;
  DeterministicRandom random_;
  FlowKnobs knobs_;
  KnobSet knob_set_;
  TraceLog trace_;
  Buggify buggify_;
  Process main_process_;
  std::unique_ptr<VirtualReactor> own_reactor_;
  std::unique_ptr<detail::Scheduler> scheduler_;
  std::vector<uint64_t> probe_hits_;
};

}  // namespace flow
