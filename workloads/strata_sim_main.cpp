// strata-sim — runs a simulation spec under one seed, and says PASS or FAIL and how to replay it.
//
// This is a program's main: the one place (with net/asio/) allowed wall clocks and OS randomness.
// Both only touch what is printed (wall time, and a seed when none is given), never the run.

#include <fmt/format.h>
#include <malloc.h>
#include <sys/mman.h>

#include <CLI/CLI.hpp>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "flow/code_probe.h"
#include "flow/planted_bug.h"
#include "programs/command_line.h"
#include "workloads/sim_operator_new.h"
#include "workloads/sim_runner.h"
#include "workloads/spec.h"

namespace {

constexpr const char* kDescription =
    "strata-sim: runs the simulation test SPEC.toml (FoundationDB's spec format) under a seed and "
    "prints PASS\n"
    "or FAIL, simulated and wall time, events run, the unseed, the trace digest, the command that "
    "replays\n"
    "the run, and how many of the program's code probes the run reached.\n"
    "Exit status: 0 on PASS, 1 on FAIL, 2 on bad usage or a bad spec.";

struct Args {
  std::string spec;
  std::optional<uint64_t> seed;
  workloads::BuggifyMode buggify = workloads::BuggifyMode::kRandom;
  std::string trace;
  bool check_determinism = false;
  std::vector<std::string> knobs;
  bool json = false;
  bool quiet = false;
  std::string probes;
  std::string timeline;
  std::string history;
  flow::PlantedBug plant = flow::PlantedBug::kNone;
};

[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(stderr, "strata-sim: %s\n(strata-sim --help lists the options)\n", message.c_str());
  std::exit(2);
}

// The path an output option names, checked now: one that cannot be written is a usage error,
// not a failed run at the end.
std::string writable_path(const char* option, std::string path) {
  if (std::FILE* f = std::fopen(path.c_str(), "w")) {
    std::fclose(f);
  } else {
    usage_error(fmt::format("{}: cannot write '{}': {}", option, path, std::strerror(errno)));
  }
  return path;
}

// Writes `text` to `path`; false (with a message) if it could not.
bool write_file(const std::string& path, const std::string& text) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  const bool written = f != nullptr && std::fwrite(text.data(), 1, text.size(), f) == text.size();
  if (f == nullptr || std::fclose(f) != 0 || !written) {
    std::fprintf(stderr, "strata-sim: cannot write %s: %s\n", path.c_str(), std::strerror(errno));
    return false;
  }
  return true;
}

Args parse_args(int argc, char** argv) {
  Args a;
  CLI::App app{kDescription, "strata-sim"};
  std::string seed, buggify = "random", trace, timeline, history, plant;
  app.add_option("spec", a.spec, "the spec file")->required();
  app.add_option("--seed", seed, "the seed (default: a random one, printed)");
  app.add_option("--buggify", buggify, "on, off, or random (drawn from the seed)")
      ->capture_default_str();
  app.add_option("--trace", trace, "write the run's trace events to FILE (JSON lines)");
  app.add_flag("--check-determinism", a.check_determinism,
               "run the seed twice and compare; name the first divergence");
  app.add_option("--knob", a.knobs, "override a knob, name=value (repeatable)");
  app.add_flag("--json", a.json,
               "print the summary as one JSON object: \"probes\" (sites, hits, never reached), "
               "\"recoveries\" "
               "(each recovery's simulated seconds), \"recovery_old_log_waits\" (each one's wait "
               "for the first old "
               "log; over 1 s: the old logs were lost), \"replication\" (copies of the data; 0: no "
               "database ran)");
  app.add_flag("--quiet", a.quiet, "print only the summary");
  app.add_option("--probes", a.probes,
                 "write every probe site to FILE, one \"HITS<tab>file:line what\" line each "
                 "(scripts/seed-sweep)");
  app.add_option("--timeline", timeline,
                 "write a picture of the run to FILE, one self-contained HTML page: a lane per "
                 "process, its roles, "
                 "messages, faults and events, the first SevError marked");
  app.add_option("--history", history,
                 "write the histories the workloads recorded (ListAppend, Register) to FILE in "
                 "Jepsen's EDN shape");
  app.add_option("--plant", plant,
                 "plant a known bug in the roles: stale_read, lost_write or skipped_conflict_check "
                 "(a build with "
                 "-DSTRATA_PLANTED_BUGS=ON; scripts/planted-bugs)");
  programs::parse_or_exit(app, argc, argv);
  if (!seed.empty()) {
    char* end = nullptr;
    errno = 0;
    const unsigned long long s = std::strtoull(seed.c_str(), &end, 0);
    if (*end != '\0' || errno != 0 || seed[0] == '-')
      usage_error(fmt::format("--seed needs a non-negative integer, not '{}'", seed));
    a.seed = s;
  }
  if (buggify == "on")
    a.buggify = workloads::BuggifyMode::kOn;
  else if (buggify == "off")
    a.buggify = workloads::BuggifyMode::kOff;
  else if (buggify == "random")
    a.buggify = workloads::BuggifyMode::kRandom;
  else
    usage_error(fmt::format("--buggify takes on, off or random, not '{}'", buggify));
  for (const std::string& k : a.knobs)
    if (k.find('=') == std::string::npos)
      usage_error(fmt::format("--knob takes name=value, not '{}'", k));
  if (!trace.empty()) a.trace = writable_path("--trace", trace);
  if (!timeline.empty()) a.timeline = writable_path("--timeline", timeline);
  if (!history.empty()) a.history = writable_path("--history", history);
  if (!plant.empty()) {
    const std::optional<flow::PlantedBug> bug = flow::planted_bug_named(plant);
    if (!bug || *bug == flow::PlantedBug::kNone)
      usage_error(fmt::format(
          "--plant takes stale_read, lost_write or skipped_conflict_check, not '{}'", plant));
    if (!flow::kPlantedBugsBuilt)
      usage_error(
          "--plant: this strata-sim was built without planted bugs (configure with "
          "-DSTRATA_PLANTED_BUGS=ON)");
    a.plant = *bug;
  }
  return a;
}

std::string shell_quote(const std::string& s) {
  if (s.find_first_of(" \t'\"$\\;&|<>()*?") == std::string::npos && !s.empty()) return s;
  std::string out = "'";
  for (char c : s)
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", c);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// The run's probes as JSON: {"sites": N, "hit": {name: hits, ...}, "never_hit": [name, ...]}.
std::string probes_json(const std::vector<flow::CodeProbeCount>& probes) {
  std::string hit, never;
  for (const flow::CodeProbeCount& p : probes) {
    const std::string name = json_string(flow::code_probe_name(*p.site));
    if (p.hits > 0) {
      hit += fmt::format("{}{}: {}", hit.empty() ? "" : ", ", name, p.hits);
    } else {
      never += fmt::format("{}{}", never.empty() ? "" : ", ", name);
    }
  }
  return fmt::format("{{\"sites\": {}, \"hit\": {{{}}}, \"never_hit\": [{}]}}", probes.size(), hit,
                     never);
}

size_t probes_reached(const std::vector<flow::CodeProbeCount>& probes) {
  size_t n = 0;
  for (const flow::CodeProbeCount& p : probes)
    n += p.hits > 0 ? 1 : 0;
  return n;
}

// Keeps freed memory, up to blocks of 32 MiB, in the process for the next allocation instead of
// handing it back to the OS. A simulation frees and allocates whole simulated files and large
// messages over and over; by default glibc maps each block of 128 KiB or more anew and unmaps it
// when freed, and on a virtual machine each page's first touch costs tens of microseconds: a
// third of kv_crash's time went to page faults (15,000 per run, 5,000 with this).
void keep_freed_memory() {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

// Grows the heap by a reserve at start and asks for transparent huge pages on it, so that the
// heap's first touch costs one fault per 2 MiB instead of one per 4 KiB. Every run is a fresh
// process whose heap (messages, file images, the cluster's state) is touched for the first time:
// without this, rpc spent 35% of its time in page faults. Only address space is reserved: pages
// are still faulted in as they are first touched. Where the kernel refuses (THP off), nothing
// changes.
void reserve_heap_in_huge_pages() {
  constexpr size_t kBlockBytes = 30 << 20;  // under the mmap threshold: from the heap
  constexpr int kBlocks = 8;                // 240 MiB of address space
  constexpr uintptr_t kHugePage = 2 << 20;
  void* blocks[kBlocks];
  for (void*& b : blocks) b = std::malloc(kBlockBytes);
  for (int i = 0; i < kBlocks; ++i) {
    if (blocks[i] == nullptr) continue;
    const auto lo = (reinterpret_cast<uintptr_t>(blocks[i]) + kHugePage - 1) & ~(kHugePage - 1);
    const auto hi = (reinterpret_cast<uintptr_t>(blocks[i]) + kBlockBytes) & ~(kHugePage - 1);
    if (hi > lo) (void)madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_HUGEPAGE);
  }
  for (void* b : blocks) std::free(b);
}

}  // namespace

int main(int argc, char** argv) {
  keep_freed_memory();
  // Not where a sanitizer keeps the allocator (the blocks would only fill its quarantine), nor
  // where address space is too tight for operator new's region.
  if (workloads::sim_operator_new_active()) reserve_heap_in_huge_pages();
  const Args args = parse_args(argc, argv);
  const uint64_t seed = args.seed ? *args.seed : std::random_device{}() % 1'000'000'000ull;

  workloads::SpecLoad load = workloads::load_spec(args.spec);
  for (const std::string& w : load.warnings)
    std::fprintf(stderr, "strata-sim: warning: %s\n", w.c_str());
  if (!load.spec) {
    std::fprintf(stderr, "strata-sim: %s\n", load.error.c_str());
    return 2;
  }

  workloads::RunConfig config;
  config.seed = seed;
  config.buggify = args.buggify;
#if defined(STRATA_PLANTED_BUGS)
  flow::plant(args.plant);  // for the process: both runs of --check-determinism
#endif
  config.trace_file = args.trace;
  config.knobs = args.knobs;
  config.capture_trace = args.check_determinism;
  config.timeline = !args.timeline.empty();
  config.timeline_title = fmt::format("strata-sim {} --seed {}", args.spec, seed);
  if (!args.quiet && !args.json) {
    config.on_start = [&](const std::string& swarm) {
      std::printf("strata-sim: %s seed %llu\n  swarm: %s\n", args.spec.c_str(),
                  static_cast<unsigned long long>(seed), swarm.c_str());
      std::fflush(stdout);
    };
  }
  config.on_warning = [](const std::string& w) {
    std::fprintf(stderr, "strata-sim: warning: %s\n", w.c_str());
  };

  const auto wall_start = std::chrono::steady_clock::now();
  workloads::RunResult result = workloads::run_spec(*load.spec, config);
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  if (args.check_determinism) {
    workloads::RunConfig again = config;
    again.on_start = nullptr;
    again.on_warning = nullptr;
    again.trace_file.clear();
    again.timeline = false;
    const workloads::RunResult second = workloads::run_spec(*load.spec, again);
    const std::string divergence = workloads::first_divergence(result, second);
    if (!divergence.empty()) {
      result.passed = false;
      result.failure = "nondeterminism: the seed ran twice differently: " + divergence;
    } else if (second.passed != result.passed || second.failure != result.failure) {
      result.passed = false;
      result.failure = "nondeterminism: the two runs ended differently";
    }
  }

  std::string replay = fmt::format("strata-sim {} --seed {} --buggify {}", shell_quote(args.spec),
                                   seed, result.buggify ? "on" : "off");
  for (const std::string& k : args.knobs)
    replay += " --knob " + shell_quote(k);
  if (args.check_determinism) replay += " --check-determinism";
  if (args.plant != flow::PlantedBug::kNone)
    replay += fmt::format(" --plant {}", flow::planted_bug_name(args.plant));
  const double ratio = wall > 0 ? result.sim_seconds / wall : 0;

  // Seconds each, comma-separated; in the text summary, a recovery that waited longer than
  // kOldLogsLostAfter for the first old log is marked "(old logs lost)".
  std::string recoveries, recoveries_marked, old_log_waits;
  for (size_t i = 0; i < result.recoveries.size(); ++i) {
    const char* comma = i == 0 ? "" : ", ";
    const double wait =
        i < result.recovery_old_log_waits.size() ? result.recovery_old_log_waits[i] : 0;
    recoveries += fmt::format("{}{:.6f}", comma, result.recoveries[i]);
    recoveries_marked +=
        fmt::format("{}{:.6f}{}", comma, result.recoveries[i],
                    wait > workloads::RunResult::kOldLogsLostAfter ? " (old logs lost)" : "");
    old_log_waits += fmt::format("{}{:.6f}", comma, wait);
  }
  if (args.json) {
    std::string metrics;
    for (const auto& [name, value] : result.metrics)
      metrics += fmt::format("{}{}: {}", metrics.empty() ? "" : ", ", json_string(name), value);
    std::printf(
        "{\"result\": %s, \"spec\": %s, \"seed\": %llu, \"buggify\": %s, \"failure\": %s, "
        "\"swarm\": %s, \"sim_seconds\": %.6f, \"wall_seconds\": %.6f, \"sim_to_wall_ratio\": "
        "%.3f, "
        "\"events\": %llu, \"network_bytes\": %llu, \"disk_bytes\": %llu, "
        "\"trace_events\": %llu, \"unseed\": \"0x%016llx\", \"digest\": "
        "\"0x%016llx\", \"determinism_checked\": %s, \"metrics\": {%s}, \"recoveries\": [%s], "
        "\"recovery_old_log_waits\": [%s], \"replication\": %d, \"beyond_atlas\": %s, "
        "\"unavailable\": %s, \"replay\": %s, \"probes\": %s}\n",
        result.passed ? "\"PASS\"" : "\"FAIL\"", json_string(args.spec).c_str(),
        static_cast<unsigned long long>(seed), result.buggify ? "true" : "false",
        json_string(result.failure).c_str(), json_string(result.swarm).c_str(), result.sim_seconds,
        wall, ratio, static_cast<unsigned long long>(result.events),
        static_cast<unsigned long long>(result.network_bytes),
        static_cast<unsigned long long>(result.disk_bytes),
        static_cast<unsigned long long>(result.trace_events),
        static_cast<unsigned long long>(result.unseed),
        static_cast<unsigned long long>(result.digest), args.check_determinism ? "true" : "false",
        metrics.c_str(), recoveries.c_str(), old_log_waits.c_str(), result.replication,
        json_string(result.beyond_atlas).c_str(), result.unavailable ? "true" : "false",
        json_string(replay).c_str(), probes_json(result.probes).c_str());
  } else {
    std::printf("%s  %s  seed %llu\n", result.passed ? "PASS" : "FAIL", args.spec.c_str(),
                static_cast<unsigned long long>(seed));
    if (!result.passed) std::printf("  failure: %s\n", result.failure.c_str());
    if (!result.beyond_atlas.empty())
      std::printf("  beyond the atlas: %s%s\n", result.beyond_atlas.c_str(),
                  !result.passed ? ""
                  : result.unavailable
                      ? "; the database stopped safely (unavailable at the end, nothing wrong seen)"
                      : "; the database came back, nothing wrong seen");
    std::printf("  simulated %.3f s, wall %.3f s, ratio %.1fx; moved %.1f MiB over the network, %.1f MiB "
                "to and from disks\n",
                result.sim_seconds, wall, ratio, static_cast<double>(result.network_bytes) / (1 << 20),
                static_cast<double>(result.disk_bytes) / (1 << 20));
    std::printf("  events %llu, trace events %llu, unseed 0x%016llx, digest 0x%016llx%s\n",
                static_cast<unsigned long long>(result.events),
                static_cast<unsigned long long>(result.trace_events),
                static_cast<unsigned long long>(result.unseed),
                static_cast<unsigned long long>(result.digest),
                args.check_determinism && result.passed ? ", deterministic (ran twice)" : "");
    if (!result.metrics.empty() && !args.quiet) {
      std::string line;
      for (const auto& [name, value] : result.metrics)
        line += fmt::format("{}{}={}", line.empty() ? "" : ", ", name, value);
      std::printf("  metrics: %s\n", line.c_str());
    }
    // Printed with --quiet too: scripts/seed-sweep gathers them for its percentiles.
    if (!result.recoveries.empty())
      std::printf("  recoveries: %zu, replication %d, seconds: %s\n", result.recoveries.size(),
                  result.replication, recoveries_marked.c_str());
    std::printf("  probes: %zu of %zu reached\n", probes_reached(result.probes),
                result.probes.size());
    std::printf("  replay: %s\n", replay.c_str());
  }
  if (!args.probes.empty()) {
    std::FILE* f = std::fopen(args.probes.c_str(), "w");
    if (f == nullptr) {
      std::fprintf(stderr, "strata-sim: cannot write %s: %s\n", args.probes.c_str(),
                   std::strerror(errno));
      return 2;
    }
    for (const flow::CodeProbeCount& p : result.probes)
      std::fprintf(f, "%llu\t%s\n", static_cast<unsigned long long>(p.hits),
                   flow::code_probe_name(*p.site).c_str());
    if (std::fclose(f) != 0) {
      std::fprintf(stderr, "strata-sim: cannot write %s\n", args.probes.c_str());
      return 2;
    }
  }
  if (!args.history.empty()) {
    // One history per workload that recorded one, each after a comment naming it.
    std::string text;
    for (const auto& [name, edn] : result.histories)
      text += ";; " + name + "\n" + edn;
    if (!write_file(args.history, text)) return 2;
    if (!args.quiet && !args.json)
      std::printf("  history: %s (%zu workload%s)\n", args.history.c_str(), result.histories.size(),
                  result.histories.size() == 1 ? "" : "s");
  }
  if (!args.timeline.empty()) {
    if (!write_file(args.timeline, result.timeline_html)) return 2;
    if (!args.quiet && !args.json) std::printf("  timeline: %s\n", args.timeline.c_str());
  }
  return result.passed ? 0 : 1;
}
