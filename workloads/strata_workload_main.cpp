// strata-workload — runs a spec's database workloads (Cycle, Ledger, ...: the same code as in
// simulation) against a real cluster found through its cluster file (workloads/real_runner.h).
//
//   strata-workload --cluster-file strata.cluster SPEC.toml [--seed N] [--liveness SECONDS]
//
// Prints PASS or FAIL with what failed, the seed, and the workloads' metrics. Exit status: 0 on
// PASS, 1 on FAIL, 2 for bad arguments or a spec that cannot run on a real cluster.

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "client/database.h"
#include "client/transaction.h"
#include "embed/cluster_file.h"
#include "flow/flow.h"
#include "net/asio/asio_world.h"
#include "programs/command_line.h"
#include "roles/common/cluster_description.h"
#include "workloads/real_runner.h"
#include "workloads/spec.h"

int main(int argc, char** argv) {
  std::string cluster_file, spec_path;
  uint64_t seed = std::random_device{}();
  double liveness_s = 120;
  CLI::App app{"strata-workload: a spec's database workloads against a real cluster",
               "strata-workload"};
  app.add_option("--cluster-file,-C", cluster_file, "the cluster file")->required();
  app.add_option("spec", spec_path, "the spec file (TOML, as strata-sim reads)")->required();
  app.add_option("--seed", seed, "the seed of the workloads' random choices (default: drawn)");
  app.add_option("--liveness", liveness_s, "seconds the checks may take")
      ->check(CLI::Range(1.0, 86400.0))
      ->capture_default_str();
  double connect_s = 30;
  app.add_option("--connect-timeout", connect_s, "seconds to wait for the cluster's first answer")
      ->check(CLI::Range(0.1, 86400.0))
      ->capture_default_str();
  std::string trace_dir;
  app.add_option("--trace-dir", trace_dir,
                 "write the run's trace (JSON lines) here; SevError lines go to stderr too");
  programs::parse_or_exit(app, argc, argv);
  const workloads::SpecLoad load = workloads::load_spec(spec_path);
  if (!load.spec) {
    fmt::print(stderr, "strata-workload: {}\n", load.error);
    return 2;
  }
  if (const std::string refused = workloads::real_world_refusal(*load.spec); !refused.empty()) {
    fmt::print(stderr, "strata-workload: {}: {}\n", spec_path, refused);
    return 2;
  }
  std::string why;
  const flow::ErrorOr<roles::ClusterDescription> cluster =
      embed::read_cluster_file(cluster_file, &why);
  if (!cluster.ok()) {
    fmt::print(stderr, "strata-workload: {}\n", why);
    return 2;
  }
  std::string failure;
  std::vector<std::pair<std::string, double>> metrics;
  const auto began = std::chrono::steady_clock::now();
  try {
    net::AsioWorld world;
    flow::RuntimeOptions options;
    options.seed = seed;
    options.simulated = false;
    options.reactor = &world.reactor();
    options.main_process_name = "strata-workload";
    options.knobs = load.spec->knobs;
    flow::Runtime rt(options);
    // A check's violations are SevError events: said on stderr, and kept whole in --trace-dir.
    rt.trace().add_sink(flow::make_file_trace_sink("/dev/stderr", flow::SevError));
    if (!trace_dir.empty())
      rt.trace().add_sink(flow::make_rotating_trace_sink(trace_dir, "strata-workload",
                                                         int64_t{64} << 20, 10, flow::SevInfo));
    world.attach(rt.main_process(), ".");
    rt.run([&] {
      client::Database db(cluster.get());
      // The cluster answers first: a run against one that is down ends here, saying so.
      const auto within =
          std::chrono::duration_cast<flow::Duration>(std::chrono::duration<double>(connect_s));
      if (!flow::wait(flow::timeout(flow::spawn([&db] {
                                      client::Transaction t(db);
                                      t.set_lock_aware(true);
                                      return t.get_read_version();
                                    }),
                                    within))) {
        failure = fmt::format(
            "the cluster did not answer within {} s ('strata-cli status' says why)", connect_s);
        return;
      }
      failure = workloads::run_spec_on_cluster(
          *load.spec, db,
          std::chrono::duration_cast<flow::Duration>(std::chrono::duration<double>(liveness_s)),
          &metrics);
    });
  } catch (const flow::Error& e) {
    failure = fmt::format("the run ended with {}", e.name());
  }
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  fmt::print("{} {} on {} seed {} in {:.1f} s{}\n", failure.empty() ? "PASS" : "FAIL", spec_path,
             cluster_file, seed, wall, failure.empty() ? "" : ": " + failure);
  for (const auto& [name, value] : metrics)
    fmt::print("  {} = {:.3f}\n", name, value);
  return failure.empty() ? 0 : 1;
}
