#pragma once
// run_spec — runs one spec under one seed in a fresh flow::Runtime and simulated cluster.
//
// The run: draw the cluster shape and fault rates from the seed (the swarm), build the cluster,
// then for each [[test]]: set up its workloads, run their start() side by side with faults on (the
// safety phase), heal every fault and reboot every dead machine, and run their check()s, which must
// all finish within the liveness bound (past the atlas, see beyondAtlas). A run fails on a failed check, a workload error, any
// SevError trace event, a stall past the liveness bound, or a deadlock; the reason says which.
//
// [configuration] keys (all optional): machineCount, or minMachines/maxMachines (3..8);
// datacenters; processesPerMachine; maxDeadMachines (1); allowWipe (false); allowCorruption
// (false: see sim/fault_atlas.h); livenessSeconds (60);
// maxSimSeconds (3600: a run past this much simulated time fails as stuck); buggify (true/false:
// the default for --buggify random); minimumReplication, redundancyMode (docs/database.md);
// beyondAtlas ('coordinator_majority' or 'team_wiped': a labelled scenario past the fault atlas,
// which the BeyondAtlas workload injects; the run must stop safely, so a check or a workload
// still waiting on the database when its time runs out — livenessSeconds for checks,
// beyondAtlasSafetySeconds (120) for the workloads' starts, which are then cancelled — passes as
// "unavailable", while a failed check or a SevError still fails; 'team_wiped' allows wipes).
// Unknown keys are reported as warnings; a value out of range
// is an error naming it (a spec never reaches one of the simulator's assertions).
//
// [[test]] options, with FoundationDB's meaning where Strata has the thing they act on:
//   runSetup (true)            false: the workloads' setup() is skipped.
//   clearAfterTest (false)     true: after the test passes, every cluster machine restarts on an
//                              empty disk, so the next test starts on an empty cluster. (FDB clears
//                              its keyspace by default; Strata keeps the cluster's state between
//                              tests unless asked, as its workloads check their own files.)
//   runFailureWorkloads (true) false: the swarm's own faults (random connection failures, disk
//                              errors and stalls) stay off for the test; the fault workloads the
//                              spec names still run.
//   connectionFailuresDisableDuration (0 s)  no random connection failure within this long of
//                              the test's start or of the previous one (100000: none).
// A stall past the liveness bound names, for each stuck check, what it waits on (the workload's
// waiting_on(): its actor, the process and role) and that process's state and roles.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "flow/code_probe.h"
#include "flow/task_log.h"
#include "workloads/spec.h"

namespace workloads {

enum class BuggifyMode { kOff, kOn, kRandom };

struct RunConfig {
  uint64_t seed = 1;
  BuggifyMode buggify = BuggifyMode::kRandom;
  std::string trace_file;
  std::vector<std::string> knobs;  // from --knob, after the spec's
  // Keep every trace line (and the random draws before it) for --check-determinism.
  bool capture_trace = false;
  // Record the run for a timeline page (RunResult::timeline_html; workloads/timeline.h).
  bool timeline = false;
  std::string timeline_title;
  // Called once the swarm is drawn, with its description (strata-sim prints it).
  std::function<void(const std::string&)> on_start;
  // Called for each warning (unknown options), once per run.
  std::function<void(const std::string&)> on_warning;
};

struct CapturedEvent {
  uint64_t draws_before;  // random draws made before this event
  std::string line;
  uint64_t tasks_before = 0;  // tasks the scheduler ran before this event
};

struct RunResult {
  bool passed = false;
  std::string failure;  // empty when passed
  bool buggify = false;
  std::string swarm;
  double sim_seconds = 0;
  uint64_t events = 0;  // tasks the scheduler ran
  // Bytes the run sent over the simulated network and asked its disks to read or write: where
  // they are many, copying them, not running tasks, is what the run's wall time buys.
  uint64_t network_bytes = 0;
  uint64_t disk_bytes = 0;
  uint64_t trace_events = 0;
  uint64_t unseed = 0;
  uint64_t digest = 0;
  uint64_t draws = 0;
  std::vector<std::pair<std::string, double>> metrics;
  // Each recovery of the database's transaction system: simulated seconds from the failure's
  // detection to accepting commits.
  std::vector<double> recoveries;
  // Each recovery's longest wait for the first old log to answer its lock (ClusterRecord). Past
  // kOldLogsLostAfter, no log of the ending generation was up and reachable: its replication did
  // not cover the faults (the summaries count such recoveries apart).
  std::vector<double> recovery_old_log_waits;
  static constexpr double kOldLogsLostAfter = 1.0;  // seconds: as long as a silent worker is failed
  int replication = 0;  // the database's (copies of each shard and log tag); 0: no database ran
  // A labelled scenario past the fault atlas (the spec's beyondAtlas; empty: none), and whether
  // the database was still unavailable when the checks' time ran out (a pass there: it stopped
  // safely).
  std::string beyond_atlas;
  bool unavailable = false;
  // Every probe site in the program with its hits in this run (flow::code_probe_counts), taken
  // before the cluster is torn down: the teardown's cancellations are not the run's doing.
  std::vector<flow::CodeProbeCount> probes;
  std::vector<CapturedEvent> captured;
  std::string timeline_html;  // with RunConfig::timeline
  // The histories the workloads recorded, in EDN, by workload name (Workload::history_edn).
  std::vector<std::pair<std::string, std::string>> histories;
  // The order of work (which actor of which process ran, task by task), kept with `captured`.
  std::shared_ptr<flow::TaskLog> tasks;
};

RunResult run_spec(const Spec& spec, const RunConfig& config);

// Compares two captured runs of one seed: empty when they agree, else a description of the first
// event, random draw or task (which actor ran) at which they diverge, with both versions. A
// divergence that emits no event and draws nothing still shows in the order of tasks, and one
// that changes only which code probes were hit shows in their counts.
std::string first_divergence(const RunResult& a, const RunResult& b);

}  // namespace workloads
