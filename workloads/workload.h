#pragma once
// Workload — one named piece of a simulation test, in FoundationDB's shape:
//
//   setup()  before the test: give simulated processes roles, prepare state;
//   start()  the safety phase, while faults are injected: do the work, check invariants as it goes;
//   check()  after the faults heal: confirm the results, and that the system makes progress again
//            (the runner fails the run if check() does not finish within the liveness bound);
//   metrics() figures for the report.
//
// A SevError trace event anywhere fails the run, so workloads report violations that way, with
// the details a bug hunter needs. Workloads are made by name (a spec's testName) from options;
// every option a workload does not read is reported as a warning.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "flow/assert.h"
#include "flow/network.h"
#include "flow/time.h"
#include "sim/simulator.h"

namespace client {
class Database;
}

namespace workloads {

struct OptionList;
// An option's value as a spec gave it. TOML dates and times arrive as their ISO 8601 text (a
// string); arrays as an OptionList; tables are refused by the spec reader with a named error.
using OptionValue = std::variant<bool, int64_t, double, std::string, OptionList>;
struct OptionList {
  std::vector<OptionValue> items;
};

// A workload's options, as the spec gave them. Reading one marks it used.
class WorkloadOptions {
 public:
  WorkloadOptions() = default;
  explicit WorkloadOptions(std::map<std::string, OptionValue> values)
      : values_(std::move(values)) {}

  double get_double(const std::string& name, double fallback);
  int64_t get_int(const std::string& name, int64_t fallback);
  bool get_bool(const std::string& name, bool fallback);
  std::string get_string(const std::string& name, const std::string& fallback);
  // keyPrefix: where a database workload's keys live; a named error unless it is at most 100
  // bytes and not a system key.
  std::string get_key_prefix(const std::string& fallback) {
    std::string prefix = get_string("keyPrefix", fallback);
    require(prefix.size() <= 100 && (prefix.empty() || prefix[0] != '\xff'), "keyPrefix",
            "must be at most 100 bytes and not a system key");
    return prefix;
  }
  // A list of strings (a single string is a list of one).
  std::vector<std::string> get_strings(const std::string& name);
  flow::Duration get_seconds(const std::string& name, double fallback) {
    return flow::from_seconds(get_double(name, fallback));
  }

  // Records "name: what" as an error unless `ok`: a workload checks the values it read here, so a
  // value from a spec never reaches one of its assertions.
  void require(bool ok, const std::string& name, const std::string& what) {
    if (!ok) type_errors_.push_back(name + ": " + what);
  }

  // Options given but never read, sorted.
  std::vector<std::string> unused() const;
  // Options whose value had the wrong type or range, as "name: expected a number".
  const std::vector<std::string>& type_errors() const { return type_errors_; }

 private:
  std::map<std::string, OptionValue> values_;
  std::map<std::string, bool> used_;
  std::vector<std::string> type_errors_;
};

// What a workload's check is waiting on, for the runner to name when the check stalls.
struct Waiting {
  std::string actor;  // which of the workload's actors, e.g. "check"
  std::string what;   // what it waits for, e.g. "an echo reply from 10.0.1.1:4500"
  std::optional<flow::NetworkAddress> process;  // the process it waits on, if one
};

struct ClusterRecord;  // workloads/database_cluster.h

struct WorkloadContext {
  // The simulated world the workload runs in; null in the real world (strata-workload runs the
  // workloads that need none against a real cluster).
  sim::Simulator* simulator = nullptr;
  std::string test_title;
  // The run's simulated database, started by the first workload that asks for it
  // (workloads/database_cluster.h); it lasts across the run's tests.
  std::unique_ptr<client::Database>* database = nullptr;
  // Keys the test's workloads use (Workload::key_hints): the database's swarm puts some shard
  // and resolver boundaries among them, so that reads and commits cross servers.
  std::vector<std::string> key_hints;
  // Where the database's current generation runs and what its recoveries took (with database).
  ClusterRecord* cluster = nullptr;

  // The simulated world. REQUIRES: one (simulator set): only the workloads real_world_workloads()
  // names run without.
  sim::Simulator& sim() const {
    ASSERT_MSG(simulator != nullptr, "a workload that needs the simulator runs in the real world");
    return *simulator;
  }
};

class Workload {
 public:
  virtual ~Workload() = default;
  virtual std::string name() const = 0;
  // May suspend.
  virtual void setup(WorkloadContext&) {}
  // May suspend.
  virtual void start(WorkloadContext& ctx) = 0;
  // Whether the workload's results hold. May suspend.
  virtual bool check(WorkloadContext&) { return true; }
  virtual void metrics(std::vector<std::pair<std::string, double>>&) const {}
  // Where the keys it uses begin (prefixes): boundaries drawn near them split its work.
  virtual std::vector<std::string> key_hints() const { return {}; }
  // What check() waits on now, if it knows (the runner names it when the check stalls).
  virtual std::optional<Waiting> waiting_on() const { return std::nullopt; }
  // The history it recorded, in Jepsen's EDN shape (workloads/checkers/history.h), for checking
  // offline; empty if it records none (strata-sim --history).
  virtual std::string history_edn() const { return {}; }
};

using WorkloadFactory = std::function<std::unique_ptr<Workload>(WorkloadOptions&)>;

// Every workload strata-sim knows, by testName.
const std::map<std::string, WorkloadFactory>& workload_registry();

// The factories, one per workload file.
std::unique_ptr<Workload> make_echo_workload(WorkloadOptions& options);
std::unique_ptr<Workload> make_durability_workload(WorkloadOptions& options);
std::unique_ptr<Workload> make_random_clogging_workload(WorkloadOptions& options);
std::unique_ptr<Workload> make_attrition_workload(WorkloadOptions& options);
std::unique_ptr<Workload> make_rollback_workload(WorkloadOptions& options);
std::unique_ptr<Workload> make_trigger_recovery_loop_workload(WorkloadOptions& options);
std::unique_ptr<Workload> make_low_latency_workload(WorkloadOptions& options);
std::unique_ptr<Workload> make_lock_database_workload(WorkloadOptions& options);
std::unique_ptr<Workload> make_change_config_workload(WorkloadOptions& options);
std::unique_ptr<Workload> make_beyond_atlas_workload(WorkloadOptions& options);
std::unique_ptr<Workload> make_rpc_workload(WorkloadOptions& options);
std::unique_ptr<Workload> make_kv_crash_workload(WorkloadOptions& options);
std::unique_ptr<Workload> make_cycle_workload(WorkloadOptions& options);
std::unique_ptr<Workload> make_write_during_read_workload(WorkloadOptions& options);
std::unique_ptr<Workload> make_simple_atomic_add_workload(WorkloadOptions& options);
std::unique_ptr<Workload> make_increment_workload(WorkloadOptions& options);
std::unique_ptr<Workload> make_sideband_workload(WorkloadOptions& options);
std::unique_ptr<Workload> make_ledger_workload(WorkloadOptions& options);
std::unique_ptr<Workload> make_atomic_ops_workload(WorkloadOptions& options);
std::unique_ptr<Workload> make_report_conflicting_keys_workload(WorkloadOptions& options);
std::unique_ptr<Workload> make_reboot_storage_workload(WorkloadOptions& options);
std::unique_ptr<Workload> make_consistency_check_workload(WorkloadOptions& options);
std::unique_ptr<Workload> make_list_append_workload(WorkloadOptions& options);
std::unique_ptr<Workload> make_register_workload(WorkloadOptions& options);
std::unique_ptr<Workload> make_serializability_workload(WorkloadOptions& options);

}  // namespace workloads
