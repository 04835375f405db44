// RandomClogging's swizzled mode: a random subset clogged one by one, then unclogged one by one
// in a different random order, every clog ended by the end of the workload.
#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include "flow/flow.h"
#include "flow/trace_event.h"
#include "workloads/workload.h"

using namespace std::chrono_literals;

namespace {

// Keeps the lines of the swizzle's trace events.
class SwizzleSink final : public flow::ITraceSink {
 public:
  explicit SwizzleSink(std::vector<std::string>& out) : out_(out) {}
  void write(flow::Severity, std::string_view line) override {
    if (line.find("SimSwizzle") != std::string_view::npos) out_.emplace_back(line);
  }

 private:
  std::vector<std::string>& out_;
};

// The value of "Key":"..." in a JSON trace line.
std::string field(const std::string& line, const std::string& key) {
  const std::string start = "\"" + key + "\":";
  size_t at = line.find(start);
  REQUIRE(at != std::string::npos);
  at += start.size();
  if (line[at] == '"') ++at;
  const size_t end = line.find_first_of("\",}", at);
  return line.substr(at, end - at);
}

}  // namespace

TEST_CASE("RandomClogging swizzle: clogs a random subset, unclogs it in another order") {
  const uint64_t seed = 21;
  INFO("seed " << seed);
  flow::Runtime rt({.seed = seed});
  std::vector<std::string> lines;
  rt.trace().add_sink(std::make_unique<SwizzleSink>(lines));
  sim::SwarmConfig c;
  c.machines = 8;
  sim::Simulator s(rt, c);
  std::map<std::string, workloads::OptionValue> values = {
      {"testDuration", 20.0}, {"swizzle", int64_t{1}}};
  workloads::WorkloadOptions options(values);
  auto w = workloads::make_random_clogging_workload(options);
  CHECK(options.unused().empty());
  workloads::WorkloadContext ctx{&s, "swizzle", nullptr, {}};
  auto done = flow::spawn_in(*s.tester().process, [&] { w->start(ctx); });
  REQUIRE(rt.run_until(done));

  // Per round: the order of clogs and of unclogs.
  std::map<std::string, std::vector<std::string>> clogged, unclogged;
  for (const std::string& line : lines) {
    const bool clog = line.find("SimSwizzleClog") != std::string::npos;
    (clog ? clogged : unclogged)[field(line, "Round")].push_back(field(line, "Address"));
  }
  REQUIRE(clogged.size() >= 3);
  int reordered = 0;
  bool some_left_out = false;
  for (const auto& [round, order] : clogged) {
    CHECK(order.size() <= 8);
    if (order.size() < 8) some_left_out = true;
    std::vector<std::string> a = order, b = unclogged[round];
    REQUIRE(a.size() == b.size());  // every clog ended
    if (a.size() > 1) {
      CHECK(a != b);  // a different order
      ++reordered;
    }
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    CHECK(a == b);  // the same processes
  }
  CHECK(reordered > 0);
  CHECK(some_left_out);  // a subset, not always everyone
  // No clog outlives the workload: a chunk sent now is not held back.
  const uint32_t a = s.process(0).address.ip;
  const uint32_t b = s.process(1).address.ip;
  CHECK(s.network().delivery_time(a, b) <=
        flow::now() + c.network.max_latency * c.network.slow_factor);
}
