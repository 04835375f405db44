// resolver-bench — the resolver's conflict history (roles/resolver/conflict_history.h) beside a
// plain std::map step function, on the same writes and the same reads, in one run.
//
// The window: WRITES written ranges (default 1,000,000) over 5,000,000 versions, in batches of
// 1,000 at rising versions, as a resolver would record them; keys are 8 random bytes, each write
// covers one key to a little past it. Then both answer the same conflict checks (the newest write
// over a range, compared with a read version inside the window):
//   point_checks_per_s   a range of one key
//   range_checks_per_s   a range spanning about SPAN written keys (default 1,000); C/20 of them
//   mixed_checks_per_s   90% point, 10% range; C/5 of them
// each for `history` and `map`, and each ratio history/map. The history answers them the way
// the resolver does, a batch (1,000 checks) at a time with newest_writes; the map one at a time,
// as std::map can. point_checks_per_s_history_one_by_one is the history's newest_write called
// for each point check alone, for comparison. Fill rates (writes recorded per second) are
// printed too. All must give the same answers: a difference is an error (exit 1).
//
//   build/bin/resolver-bench [--json] [--writes N] [--span K] [--checks C]    (or --help)

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <limits>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "programs/command_line.h"
#include "roles/resolver/conflict_history.h"

namespace {

using roles::ConflictHistory;
using roles::Version;
using Clock = std::chrono::steady_clock;

// The baseline: step boundaries in a std::map, each with the version of the step it starts.
class MapHistory {
 public:
  MapHistory() { steps_[""] = ConflictHistory::kNever; }
  Version newest_write(const std::string& begin, const std::string& end) const {
    auto it = std::prev(steps_.upper_bound(begin));
    Version newest = ConflictHistory::kNever;
    for (; it != steps_.end() && it->first < end; ++it)
      newest = std::max(newest, it->second);
    return newest;
  }
  void add_write(const std::string& begin, const std::string& end, Version version) {
    const Version after = std::prev(steps_.upper_bound(end))->second;
    steps_.erase(steps_.lower_bound(begin), steps_.lower_bound(end));
    steps_[begin] = version;
    steps_.emplace(end, after);  // kept if a step already starts there
  }

 private:
  std::map<std::string, Version> steps_;
};

// xorshift64*: the bench's own numbers (not the simulation's).
struct Numbers {
  uint64_t s = 0x2545f4914f6cdd1dULL;
  uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545f4914f6cdd1dULL;
  }
};

std::string key_of(uint64_t x) {
  std::string k(8, '\0');
  for (int i = 0; i < 8; ++i)
    k[static_cast<size_t>(i)] = static_cast<char>(x >> (56 - 8 * i));
  return k;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  bool json = false;
  uint64_t writes = 1'000'000, span = 1'000, checks = 200'000;
  CLI::App app{
      "resolver-bench: the resolver's conflict history beside a plain std::map step function, on "
      "the same writes and the same reads",
      "resolver-bench"};
  app.add_flag("--json", json, "one JSON object instead of name = value lines");
  // At least 1; the top (2^63 - 1) keeps a negative number, which wraps, out.
  const CLI::Range at_least_one(uint64_t{1}, uint64_t{std::numeric_limits<int64_t>::max()},
                                "POSITIVE");
  app.add_option("--writes", writes, "written ranges recorded (over 5,000,000 versions)")
      ->check(at_least_one)
      ->capture_default_str();
  app.add_option("--span", span, "written keys a range check spans, about")
      ->check(at_least_one)
      ->capture_default_str();
  app.add_option("--checks", checks,
                 "point checks; C/20 range checks and C/5 mixed checks (90% point, 10% range)")
      ->check(at_least_one)
      ->capture_default_str();
  programs::parse_or_exit(app, argc, argv);

  Numbers rng;
  ConflictHistory history;
  MapHistory map;
  constexpr uint64_t kBatch = 1'000;
  constexpr Version kWindow = 5'000'000;
  const Version step = std::max<Version>(1, kWindow / static_cast<Version>(writes / kBatch + 1));
  std::vector<std::pair<std::string, std::string>> ranges;
  ranges.reserve(writes);
  for (uint64_t i = 0; i < writes; ++i) {
    const uint64_t k = std::min(rng.next(), UINT64_MAX - 1001);
    ranges.emplace_back(key_of(k), key_of(k + (rng.next() % 1000) + 1));
  }
  auto fill = [&](auto& h) {
    const auto start = Clock::now();
    for (uint64_t i = 0; i < writes; ++i)
      h.add_write(ranges[i].first, ranges[i].second, static_cast<Version>(i / kBatch + 1) * step);
    return static_cast<double>(writes) / seconds_since(start);
  };
  const double fill_history = fill(history);
  const double fill_map = fill(map);
  const Version newest = static_cast<Version>(writes / kBatch + 1) * step;

  // The same checks for both: read ranges and read versions inside the window.
  struct Checks {
    std::vector<roles::KeyRange> ranges;
    std::vector<Version> read_versions;
    size_t size() const { return ranges.size(); }
  };
  const uint64_t gap = UINT64_MAX / writes;  // about one written key per gap
  // Range checks are slow on the map: a twentieth as many.
  auto make_checks = [&](double range_share, uint64_t count) {
    Checks out;
    out.ranges.reserve(count);
    out.read_versions.reserve(count);
    for (uint64_t i = 0; i < count; ++i) {
      const bool is_range = static_cast<double>(rng.next() % 1000) < range_share * 1000;
      const uint64_t width = is_range && span < UINT64_MAX / gap ? gap * span : 1;
      const uint64_t k = std::min(rng.next(), UINT64_MAX - width);
      out.ranges.push_back({key_of(k), key_of(k + width)});
      out.read_versions.push_back(static_cast<Version>(rng.next() % static_cast<uint64_t>(newest)));
    }
    return out;
  };
  int mismatches = 0;
  constexpr size_t kCheckBatch = 1'000;
  auto run = [&](const Checks& cs, double& history_rate, double& map_rate) {
    std::vector<char> conflict_history(cs.size()), conflict_map(cs.size());
    std::vector<Version> newest_in_batch(kCheckBatch);
    std::vector<ConflictHistory::Range> views;
    views.reserve(cs.size());
    for (const roles::KeyRange& r : cs.ranges)
      views.push_back({r.begin, r.end});
    auto start = Clock::now();
    for (size_t first = 0; first < cs.size(); first += kCheckBatch) {
      const size_t n = std::min(kCheckBatch, cs.size() - first);
      history.newest_writes(std::span(views).subspan(first, n),
                            std::span(newest_in_batch).first(n));
      for (size_t i = 0; i < n; ++i)
        conflict_history[first + i] = newest_in_batch[i] > cs.read_versions[first + i];
    }
    history_rate = static_cast<double>(cs.size()) / seconds_since(start);
    start = Clock::now();
    for (size_t i = 0; i < cs.size(); ++i)
      conflict_map[i] =
          map.newest_write(cs.ranges[i].begin, cs.ranges[i].end) > cs.read_versions[i];
    map_rate = static_cast<double>(cs.size()) / seconds_since(start);
    for (size_t i = 0; i < cs.size(); ++i)
      mismatches += conflict_history[i] != conflict_map[i];
  };
  auto one_by_one = [&](const Checks& cs) {
    std::vector<char> conflict(cs.size());
    const auto start = Clock::now();
    for (size_t i = 0; i < cs.size(); ++i)
      conflict[i] =
          history.newest_write(cs.ranges[i].begin, cs.ranges[i].end) > cs.read_versions[i];
    const double rate = static_cast<double>(cs.size()) / seconds_since(start);
    for (size_t i = 0; i < cs.size(); ++i)
      mismatches += conflict[i] !=
                    (map.newest_write(cs.ranges[i].begin, cs.ranges[i].end) > cs.read_versions[i]);
    return rate;
  };
  double point_h, point_m, range_h, range_m, mixed_h, mixed_m;
  const Checks point_checks = make_checks(0, checks);
  run(point_checks, point_h, point_m);
  run(make_checks(1, std::max<uint64_t>(1, checks / 20)), range_h, range_m);
  run(make_checks(0.1, std::max<uint64_t>(1, checks / 5)), mixed_h, mixed_m);

  const double point_one_by_one = one_by_one(point_checks);

  struct Figure {
    const char* name;
    double value;
    const char* unit;
  };
  const Figure figures[] = {
      {"writes", static_cast<double>(writes), ""},
      {"boundaries", static_cast<double>(history.boundaries()), ""},
      {"fill_writes_per_s_history", fill_history, "/s"},
      {"fill_writes_per_s_map", fill_map, "/s"},
      {"point_checks_per_s_history", point_h, "/s"},
      {"point_checks_per_s_map", point_m, "/s"},
      {"point_ratio", point_h / point_m, ""},
      {"point_checks_per_s_history_one_by_one", point_one_by_one, "/s"},
      {"range_checks_per_s_history", range_h, "/s"},
      {"range_checks_per_s_map", range_m, "/s"},
      {"range_ratio", range_h / range_m, ""},
      {"mixed_checks_per_s_history", mixed_h, "/s"},
      {"mixed_checks_per_s_map", mixed_m, "/s"},
      {"mixed_ratio", mixed_h / mixed_m, ""},
      {"mismatches", static_cast<double>(mismatches), ""},
  };
  if (json) {
    std::printf("{");
    for (size_t i = 0; i < std::size(figures); ++i)
      std::printf("%s\"%s\": %.6g", i ? ", " : "", figures[i].name, figures[i].value);
    std::printf("}\n");
  } else {
    for (const Figure& f : figures)
      std::printf("%-38s = %.4g%s\n", f.name, f.value, f.unit);
  }
  if (mismatches != 0) {
    std::fprintf(stderr, "resolver-bench: the history and the map disagree on %d checks\n",
                 mismatches);
    return 1;
  }
  return 0;
}
