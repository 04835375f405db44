#include "server/placement.h"

#include <initializer_list>
#include <string>

#include "flow/code_probe.h"
#include "flow/error.h"

namespace server {

GenerationPlan Placement::place(uint64_t epoch, Version start_version,
                                const std::vector<KeyRange>& resolver_ranges) const {
  auto& rng = flow::deterministic_random();
  // Of `classes` (all if empty): those that answered, else (with `registered`) any registered.
  const auto of = [this](std::initializer_list<ProcessClass> classes, bool registered) {
    std::vector<WorkerRegistration> out;
    for (const WorkerRegistration& w : workers) {
      if (classes.size() != 0 &&
          std::find(classes.begin(), classes.end(), w.process_class) == classes.end())
        continue;
      if (registered ||
          std::find(responsive.begin(), responsive.end(), w.address) != responsive.end())
        out.push_back(w);
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
  if (stateless.empty())
    throw flow::Error(flow::ErrorCode::operation_failed);  // none registered: tried again later
  // The logs may also go to the stateless processes: a generation whose logs share one machine
  // waits for that machine after its death.
  std::vector<WorkerRegistration> logs = choose({ProcessClass::log, ProcessClass::stateless});
  // Machines before classes: with its logs on fewer machines than it has logs, a generation
  // may lose every copy of its newest commits to one machine's death, and the next recovery
  // waits for that machine. Workers of other classes that answered, on other machines, make
  // up the difference.
  std::vector<std::string> log_machines;
  for (const WorkerRegistration& w : logs)
    if (std::find(log_machines.begin(), log_machines.end(), w.machine) == log_machines.end())
      log_machines.push_back(w.machine);
  for (const WorkerRegistration& w : of({}, false)) {
    if (log_machines.size() >= log_count) break;
    if (std::find(log_machines.begin(), log_machines.end(), w.machine) != log_machines.end())
      continue;
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
  for (const WorkerRegistration& w :
       spread(rng, logs, log_count, [](const WorkerRegistration& x) { return x.machine; }))
    plan.logs.push_back(w.address);
  for (const KeyRange& r : resolver_ranges)
    plan.resolvers.push_back({r, pick(stateless)});
  for (size_t i = 0; i < grv_count; ++i)
    plan.grv_proxies.push_back(pick(stateless));
  for (size_t i = 0; i < proxy_count; ++i)
    plan.commit_proxies.push_back(pick(stateless));
  return plan;
}

}  // namespace server
