#include "workloads/workload.h"

namespace workloads {

double WorkloadOptions::get_double(const std::string& name, double fallback) {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  used_[name] = true;
  if (const auto* d = std::get_if<double>(&it->second)) return *d;
  if (const auto* i = std::get_if<int64_t>(&it->second)) return static_cast<double>(*i);
  type_errors_.push_back(name + ": expected a number");
  return fallback;
}

int64_t WorkloadOptions::get_int(const std::string& name, int64_t fallback) {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  used_[name] = true;
  if (const auto* i = std::get_if<int64_t>(&it->second)) return *i;
  if (const auto* d = std::get_if<double>(&it->second);
      d && *d == static_cast<double>(static_cast<int64_t>(*d))) {
    return static_cast<int64_t>(*d);
  }
  type_errors_.push_back(name + ": expected an integer");
  return fallback;
}

bool WorkloadOptions::get_bool(const std::string& name, bool fallback) {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  used_[name] = true;
  if (const auto* b = std::get_if<bool>(&it->second)) return *b;
  type_errors_.push_back(name + ": expected true or false");
  return fallback;
}

std::string WorkloadOptions::get_string(const std::string& name, const std::string& fallback) {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  used_[name] = true;
  if (const auto* s = std::get_if<std::string>(&it->second)) return *s;
  type_errors_.push_back(name + ": expected a string");
  return fallback;
}

std::vector<std::string> WorkloadOptions::get_strings(const std::string& name) {
  auto it = values_.find(name);
  if (it == values_.end()) return {};
  used_[name] = true;
  if (const auto* s = std::get_if<std::string>(&it->second)) return {*s};
  std::vector<std::string> out;
  if (const auto* l = std::get_if<OptionList>(&it->second)) {
    for (const OptionValue& v : l->items) {
      const auto* s = std::get_if<std::string>(&v);
      if (s == nullptr) {
        type_errors_.push_back(name + ": expected a list of strings");
        return {};
      }
      out.push_back(*s);
    }
    return out;
  }
  type_errors_.push_back(name + ": expected a list of strings");
  return {};
}

std::vector<std::string> WorkloadOptions::unused() const {
  std::vector<std::string> out;
  for (const auto& [name, value] : values_)
    if (!used_.contains(name)) out.push_back(name);
  return out;
}

const std::map<std::string, WorkloadFactory>& workload_registry() {
  static const std::map<std::string, WorkloadFactory> registry = {
      {"AtomicOps", make_atomic_ops_workload},
      {"Attrition", make_attrition_workload},
      {"BeyondAtlas", make_beyond_atlas_workload},
      {"ChangeConfig", make_change_config_workload},
      {"Durability", make_durability_workload},
      {"ConsistencyCheck", make_consistency_check_workload},
      {"Cycle", make_cycle_workload},
      {"Echo", make_echo_workload},
      {"Increment", make_increment_workload},
      {"Ledger", make_ledger_workload},
      {"ListAppend", make_list_append_workload},
      {"LockDatabase", make_lock_database_workload},
      {"LowLatency", make_low_latency_workload},
      {"RebootStorage", make_reboot_storage_workload},
      {"Register", make_register_workload},
      {"ReportConflictingKeys", make_report_conflicting_keys_workload},
      {"Rollback", make_rollback_workload},
      {"Sideband", make_sideband_workload},
      {"SimpleAtomicAdd", make_simple_atomic_add_workload},
      {"RandomClogging", make_random_clogging_workload},
      {"Rpc", make_rpc_workload},
      {"Serializability", make_serializability_workload},
      {"KeyValueStoreCrash", make_kv_crash_workload},
      {"TriggerRecoveryLoop", make_trigger_recovery_loop_workload},
      {"WriteDuringRead", make_write_during_read_workload},
  };
  return registry;
}

}  // namespace workloads
