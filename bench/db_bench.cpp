// db-bench — the database in the real world: one process whose worker hosts every role (a
// master, a resolver, a GRV proxy, a commit proxy, a log and a storage server, asked for as a
// cluster's workers are) on real files in a scratch folder, and N client actors in the same
// process, talking through the transport's loopback.
// Beside its figures it measures the disk's own fdatasync rate in the same run.
//
// Phases, each for --seconds after loading --keys keys (16-byte keys, 100-byte values):
//   reads      each client runs read-only transactions of 10 random gets
//   writes     each client commits transactions that set one random key
//   mix        transactions of 10 operations, each a get (90%) or a set (10%)
//   half_load  writes again, paced to half the write phase's rate: commit latency at that load
// Figures: reads_per_s, write_commits_per_s, mix_ops_per_s, and the p50/p99 latencies (ms) of
// getting a read version, of a get and of a commit (from the reads and writes phases, and the
// commit latency at half load), how late the run loop wakes a 1 ms timer at half load (p99 and
// max: what holds the one thread), raw_fdatasync_per_s and the p99 of one raw write and sync.
//
// With --cluster-file it measures a real cluster instead (scripts/local-cluster makes one): the
// same phases, from this process's clients.
//
//   build/bin/db-bench [--engine memory|ssd] [--clients N] [--seconds S] [--keys N] [--dir PARENT]
//                      [--cluster-file FILE] [--malloc tuned|default] [--json]

#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "bench/raw_disk.h"
#include "bench/latency.h"
#include "client/database.h"
#include "client/transaction.h"
#include "embed/cluster_file.h"
#include "flow/flow.h"
#include "net/asio/asio_world.h"
#include "programs/command_line.h"
#include "roles/common/cluster_description.h"
#include "roles/common/shard_map.h"
#include "roles/worker/start_generation.h"
#include "roles/worker/worker_interface.h"

namespace {

using bench::ms;
using bench::percentile;

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string engine = "memory";
  int64_t clients = 64;
  double seconds = 3.0;
  int64_t keys = 10'000;
  std::string dir_parent;
  std::string cluster_file;  // a real cluster's; empty: the database in this process
  bool json = false;
  bool tune_malloc = true;
};

// glibc's malloc consolidates its fast bins before every allocation of 1 KiB or more, a cost that
// grows with the small blocks freed since; a larger per-thread cache keeps most small blocks out
// of the fast bins. Measured here: write commits and 90/10 ops about 1.3-1.5x. Tunables are read
// when a process starts, so db-bench starts itself again with them, unless GLIBC_TUNABLES is set
// already (the user's choice wins) or --malloc default asks for glibc's defaults.
constexpr const char* kMallocTunables = "glibc.malloc.tcache_count=2000";

void restart_with_tuned_malloc(char** argv) {
  if (std::getenv("GLIBC_TUNABLES") != nullptr) return;
  if (::setenv("GLIBC_TUNABLES", kMallocTunables, 1) != 0) return;
  ::execv("/proc/self/exe", argv);
  ::unsetenv("GLIBC_TUNABLES");  // exec failed: go on with the defaults
}

// The options, or exits: 0 after --help, 2 for a bad argument.
Options parse(int argc, char** argv) {
  Options o;
  CLI::App app{
      "db-bench: the database measured, in one real process or against a real cluster "
      "(--cluster-file)",
      "db-bench"};
  app.add_option("--engine", o.engine, "the storage engine of the one-process database")
      ->check(CLI::IsMember({"memory", "ssd"}))
      ->capture_default_str();
  app.add_option("--clients", o.clients, "client actors")
      ->check(CLI::Range(int64_t{1}, int64_t{100'000}))
      ->capture_default_str();
  app.add_option("--seconds", o.seconds, "seconds per phase")
      ->check(CLI::Range(0.001, 3600.0))
      ->capture_default_str();
  app.add_option("--keys", o.keys, "keys loaded first")
      ->check(CLI::Range(int64_t{1}, int64_t{100'000'000}))
      ->capture_default_str();
  app.add_option("--dir", o.dir_parent,
                 "where the scratch folder goes (default: the temporary folder)");
  app.add_option("--cluster-file,-C", o.cluster_file,
                 "measure the cluster this file names instead of a database in this process");
  std::string malloc_mode = "tuned";
  app.add_option("--malloc", malloc_mode,
                 "glibc malloc tuned (a larger per-thread cache) or default")
      ->check(CLI::IsMember({"tuned", "default"}))
      ->capture_default_str();
  app.add_flag("--json", o.json, "print the figures as one JSON object");
  programs::parse_or_exit(app, argc, argv);
  o.tune_malloc = malloc_mode == "tuned";
  return o;
}

std::string key(int64_t i) {
  return fmt::format("key{:013}", i);
}

struct Latencies {
  std::vector<double> grv, read, commit;
};

struct Figures {
  double raw_fdatasync_per_s = 0;
  double raw_fdatasync_p99_ms = 0;
  double reads_per_s = 0;
  double write_commits_per_s = 0;
  double mix_ops_per_s = 0;
  double half_load_commits_per_s = 0;
  Latencies phase_latencies;
  std::vector<double> half_load_commit_ms;
  std::vector<double> half_load_loop_lag_ms;
  int64_t retries = 0;
};

// The one process's database: its worker, kept in `roles` (dropping it would cancel every role),
// asked for every role as a cluster's would be. May suspend.
client::ClusterInterfaces start_database(const Options& o,
                                         std::vector<flow::Future<flow::Void>>& roles) {
  using namespace roles;
  const flow::NetworkAddress self = flow::current_process().address();
  roles.push_back(flow::spawn([] { run_worker(); }));
  const KeyRange all{"", std::string(kKeyspaceEnd)};
  GenerationPlan plan;
  plan.master = self;
  plan.grv_proxies = {self};
  plan.commit_proxies = {self};
  plan.logs = {self};
  plan.resolvers = {{all, self}};
  plan.storage_teams = {{all, {self}}};
  plan.engine = o.engine;
  Generation g = start_generation(plan);
  return {std::move(g.grv_proxies), std::move(g.commit_proxies)};
}

// Runs `body(stop)` in `clients` actors for `seconds`; returns the phase's wall seconds. May
// suspend.
template <class Body>
double phase(int64_t clients, double seconds, Body body) {
  bool stop = false;
  const auto start = Clock::now();
  std::vector<flow::Future<flow::Void>> actors;
  for (int64_t c = 0; c < clients; ++c)
    actors.push_back(flow::spawn([&, c] { body(c, stop); }));
  flow::wait(flow::delay(
      std::chrono::duration_cast<flow::Duration>(std::chrono::duration<double>(seconds))));
  stop = true;
  flow::wait(flow::wait_all(actors));
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// May suspend.
Figures measure(const Options& o, client::Database& db) {
  Figures f;
  auto& rng = flow::deterministic_random();
  const std::string value(100, 'v');
  for (int64_t first = 0; first < o.keys; first += 1000)
    db.run([&](client::Transaction& t) {
      for (int64_t i = first; i < std::min(o.keys, first + 1000); ++i)
        t.set(key(i), value);
    });

  int64_t reads = 0;
  double wall = phase(o.clients, o.seconds, [&](int64_t, const bool& stop) {
    while (!stop) {
      db.run([&](client::Transaction& t) {
        auto t0 = Clock::now();
        t.get_read_version();
        f.phase_latencies.grv.push_back(ms(Clock::now() - t0));
        for (int i = 0; i < 10; ++i) {
          t0 = Clock::now();
          t.get(key(rng.random_int(0, o.keys)));
          f.phase_latencies.read.push_back(ms(Clock::now() - t0));
        }
      });
      reads += 10;
    }
  });
  f.reads_per_s = static_cast<double>(reads) / wall;

  int64_t commits = 0;
  // One transaction that sets one key, its commit timed (retried as Database::run would).
  const auto write_one = [&](std::vector<double>& latencies) {
    client::Transaction t(db);
    for (;;) {
      std::optional<flow::Error> failed;
      try {
        t.set(key(rng.random_int(0, o.keys)), value);
        const auto t0 = Clock::now();
        t.commit();
        latencies.push_back(ms(Clock::now() - t0));
        return;
      } catch (const flow::Error& e) {
        if (e.code() == flow::ErrorCode::operation_cancelled) throw;
        failed = e;
      }
      ++f.retries;
      t.on_error(*failed);
    }
  };
  wall = phase(o.clients, o.seconds, [&](int64_t, const bool& stop) {
    while (!stop) {
      write_one(f.phase_latencies.commit);
      ++commits;
    }
  });
  f.write_commits_per_s = static_cast<double>(commits) / wall;

  int64_t ops = 0;
  wall = phase(o.clients, o.seconds, [&](int64_t, const bool& stop) {
    while (!stop) {
      db.run([&](client::Transaction& t) {
        for (int i = 0; i < 10; ++i) {
          if (rng.random_int(0, 10) == 0)
            t.set(key(rng.random_int(0, o.keys)), value);
          else
            t.get(key(rng.random_int(0, o.keys)));
        }
      });
      ops += 10;
    }
  });
  f.mix_ops_per_s = static_cast<double>(ops) / wall;

  // Half the write rate, paced: each client starts a commit every clients / rate seconds.
  const double rate = std::max(1.0, f.write_commits_per_s / 2);
  const auto gap = std::chrono::duration_cast<flow::Duration>(
      std::chrono::duration<double>(static_cast<double>(o.clients) / rate));
  int64_t paced = 0;
  wall = phase(o.clients + 1, o.seconds, [&](int64_t c, const bool& stop) {
    if (c == o.clients) {
      // One more actor measures how late the run loop wakes a 1 ms timer: what a commit waits
      // on when something holds the one thread.
      while (!stop) {
        const auto t0 = Clock::now();
        flow::wait(flow::delay(std::chrono::milliseconds(1)));
        f.half_load_loop_lag_ms.push_back(std::max(0.0, ms(Clock::now() - t0) - 1.0));
      }
      return;
    }
    flow::wait(flow::delay(gap * c / o.clients));  // spread the clients' starts
    auto next = flow::now();
    while (!stop) {
      write_one(f.half_load_commit_ms);
      ++paced;
      next += gap;
      if (next > flow::now()) flow::wait(flow::delay_until(next));
    }
  });
  f.half_load_commits_per_s = static_cast<double>(paced) / wall;
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  if (o.tune_malloc) restart_with_tuned_malloc(argv);
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  const std::string malloc_settings = tunables != nullptr ? tunables : "default";
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path parent =
      o.dir_parent.empty() ? fs::temp_directory_path(ec) : fs::path(o.dir_parent);
  const fs::path dir = parent / fmt::format("db-bench-{}", ::getpid());
  if (ec || !fs::create_directories(dir, ec) || ec) {
    std::fprintf(stderr, "db-bench: cannot create the scratch folder %s\n", dir.string().c_str());
    return 2;
  }
  std::optional<roles::ClusterDescription> cluster;
  if (!o.cluster_file.empty()) {
    std::string why;
    flow::ErrorOr<roles::ClusterDescription> d = embed::read_cluster_file(o.cluster_file, &why);
    if (!d.ok()) {
      std::fprintf(stderr, "db-bench: %s\n", why.c_str());
      fs::remove_all(dir, ec);
      return 2;
    }
    cluster = std::move(d.get());
  }
  Figures f;
  int status = 0;
  try {
    const bench::RawSync raw = bench::raw_fdatasync((dir / "raw").string(), 4096, 1.0);
    f.raw_fdatasync_per_s = raw.per_s;
    f.raw_fdatasync_p99_ms = raw.p99_ms;
    net::AsioWorld world;
    flow::RuntimeOptions options;
    options.simulated = false;
    options.reactor = &world.reactor();
    flow::Runtime rt(options);
    world.attach(rt.main_process(), dir.string());
    rt.main_process().set_address(net::free_loopback_address());
    rt.run([&] {
      std::vector<flow::Future<flow::Void>> roles;
      const std::unique_ptr<client::Database> db =
          cluster ? std::make_unique<client::Database>(*cluster)
                  : std::make_unique<client::Database>(start_database(o, roles));
      // A cluster that does not answer ends the run here, saying so, rather than hanging it.
      if (cluster && !flow::wait(flow::timeout(flow::spawn([&db] {
                                                 client::Transaction t(*db);
                                                 return t.get_read_version();
                                               }),
                                               std::chrono::seconds(30))))
        throw flow::Error(flow::ErrorCode::timed_out);
      f = [&] {
        Figures measured = measure(o, *db);
        measured.raw_fdatasync_per_s = f.raw_fdatasync_per_s;
        measured.raw_fdatasync_p99_ms = f.raw_fdatasync_p99_ms;
        return measured;
      }();
    });
  } catch (const flow::Error& e) {
    if (cluster && e.code() == flow::ErrorCode::timed_out)
      std::fprintf(stderr, "db-bench: the cluster did not answer within 30 s ('strata-cli status' says why)\n");
    else
      std::fprintf(stderr, "db-bench: failed: %s\n", std::string(e.name()).c_str());
    status = 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "db-bench: failed: %s\n", e.what());
    status = 1;
  }
  fs::remove_all(dir, ec);
  if (status != 0) return status;

  const std::vector<std::pair<std::string, double>> figures{
      {"reads_per_s", f.reads_per_s},
      {"write_commits_per_s", f.write_commits_per_s},
      {"mix_ops_per_s", f.mix_ops_per_s},
      {"grv_p50_ms", percentile(f.phase_latencies.grv, 0.5)},
      {"grv_p99_ms", percentile(f.phase_latencies.grv, 0.99)},
      {"read_p50_ms", percentile(f.phase_latencies.read, 0.5)},
      {"read_p99_ms", percentile(f.phase_latencies.read, 0.99)},
      {"commit_p50_ms", percentile(f.phase_latencies.commit, 0.5)},
      {"commit_p99_ms", percentile(f.phase_latencies.commit, 0.99)},
      {"half_load_commits_per_s", f.half_load_commits_per_s},
      {"half_load_commit_p50_ms", percentile(f.half_load_commit_ms, 0.5)},
      {"half_load_commit_p99_ms", percentile(f.half_load_commit_ms, 0.99)},
      {"half_load_loop_lag_p99_ms", percentile(f.half_load_loop_lag_ms, 0.99)},
      {"half_load_loop_lag_max_ms", percentile(f.half_load_loop_lag_ms, 1.0)},
      {"raw_fdatasync_per_s", f.raw_fdatasync_per_s},
      {"raw_fdatasync_p99_ms", f.raw_fdatasync_p99_ms},
      {"commit_retries", static_cast<double>(f.retries)},
  };
  if (o.json) {
    std::string out = fmt::format(
        "{{\"cluster_file\": \"{}\", \"engine\": \"{}\", \"clients\": {}, \"seconds\": {}, "
        "\"keys\": {}, \"malloc\": \"{}\"",
        o.cluster_file, o.engine, o.clients, o.seconds, o.keys, malloc_settings);
    for (const auto& [name, v] : figures)
      out += fmt::format(", \"{}\": {:.3f}", name, v);
    std::printf("%s}\n", out.c_str());
  } else {
    std::printf("db-bench: %s, %lld clients, %.1f s per phase, %lld keys, malloc %s\n",
                o.cluster_file.empty() ? ("one process, engine " + o.engine).c_str()
                                       : ("cluster " + o.cluster_file).c_str(),
                static_cast<long long>(o.clients), o.seconds, static_cast<long long>(o.keys),
                malloc_settings.c_str());
    for (const auto& [name, v] : figures)
      std::printf("  %-26s %12.3f\n", name.c_str(), v);
  }
  return 0;
}
