#include "workloads/real_runner.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "flow/actor.h"
#include "flow/combinators.h"
#include "flow/trace_event.h"

namespace workloads {

namespace {

// The workloads that touch nothing but the database (no simulator, no run record).
constexpr std::array<std::string_view, 13> kRealWorld = {
    "AtomicOps", "Cycle",    "Increment",        "Ledger",          "ListAppend",      "LockDatabase", "LowLatency",
    "Register",  "ReportConflictingKeys", "Serializability", "Sideband", "SimpleAtomicAdd", "WriteDuringRead"};

}  // namespace

bool runs_in_real_world(const std::string& test_name) {
  return std::find(kRealWorld.begin(), kRealWorld.end(), test_name) != kRealWorld.end();
}

std::string real_world_refusal(const Spec& spec) {
  for (const TestSpec& test : spec.tests)
    for (const WorkloadSpec& w : test.workloads)
      if (!runs_in_real_world(w.test_name))
        return fmt::format("test '{}': workload {} needs the simulator (on a real cluster: {})", test.title,
                           w.test_name, fmt::join(kRealWorld, ", "));
  return "";
}

std::string run_spec_on_cluster(const Spec& spec, client::Database& db, flow::Duration liveness,
                                std::vector<std::pair<std::string, double>>* metrics) {
  if (std::string refused = real_world_refusal(spec); !refused.empty()) return refused;
  // The workloads reach the database through the context, as in simulation (database(ctx)).
  std::unique_ptr<client::Database> handle(&db);
  struct Release {
    std::unique_ptr<client::Database>& h;
    ~Release() { (void)h.release(); }  // not ours to delete
  } release{handle};
  for (const TestSpec& test : spec.tests) {
    WorkloadOptions test_options(test.options);
    const bool run_setup = test_options.get_bool("runSetup", true);
    std::vector<std::unique_ptr<Workload>> ws;
    for (const WorkloadSpec& w : test.workloads) {
      WorkloadOptions options(w.options);
      ws.push_back(workload_registry().at(w.test_name)(options));
      for (const std::string& e : options.type_errors())
        return fmt::format("test '{}', workload {}: option {}", test.title, w.test_name, e);
    }
    WorkloadContext ctx{nullptr, test.title, &handle, {}, nullptr};
    flow::TraceEvent(flow::SevInfo, "TestStarting").detail("Title", test.title);
    if (run_setup)
      for (const auto& w : ws) w->setup(ctx);
    std::string failure;
    std::vector<flow::Future<flow::Void>> starts;
    for (const auto& w : ws) {
      starts.push_back(flow::spawn([w = w.get(), &ctx, &failure] {
        try {
          w->start(ctx);
        } catch (const flow::Error& e) {
          if (e.code() == flow::ErrorCode::operation_cancelled) throw;
          if (failure.empty()) failure = fmt::format("workload {} failed: {}", w->name(), e.name());
        }
      }));
    }
    flow::wait(flow::wait_all(starts));
    if (!failure.empty()) return fmt::format("test '{}': {}", test.title, failure);
    flow::TraceEvent(flow::SevInfo, "TestChecking").detail("Title", test.title);
    std::vector<flow::Future<bool>> checks;
    for (const auto& w : ws) {
      checks.push_back(flow::spawn([w = w.get(), &ctx, &failure]() -> bool {
        try {
          return w->check(ctx);
        } catch (const flow::Error& e) {
          if (e.code() == flow::ErrorCode::operation_cancelled) throw;
          if (failure.empty()) failure = fmt::format("workload {} check failed: {}", w->name(), e.name());
          return false;
        }
      }));
    }
    if (!flow::wait(flow::timeout(flow::wait_all(checks), liveness)))
      return fmt::format("test '{}': the checks did not finish within {} s", test.title, flow::to_seconds(liveness));
    if (!failure.empty()) return fmt::format("test '{}': {}", test.title, failure);
    for (size_t i = 0; i < ws.size(); ++i)
      if (!checks[i].get()) return fmt::format("test '{}': workload {} check failed", test.title, ws[i]->name());
    if (metrics != nullptr)
      for (const auto& w : ws) {
        std::vector<std::pair<std::string, double>> m;
        w->metrics(m);
        for (auto& [name, value] : m) metrics->push_back({w->name() + "." + name, value});
      }
  }
  return "";
}

}  // namespace workloads
