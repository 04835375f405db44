// The spec reader: every TOML value type gives a value or a named error, never an assertion;
// FoundationDB's own files are read; a test's options reach the runner.
#include <doctest/doctest.h>

#include <filesystem>

#include "workloads/sim_runner.h"
#include "workloads/spec.h"

using workloads::OptionList;
using workloads::parse_spec;

namespace {

constexpr const char* kEchoTest = R"(
[[test]]
testTitle = 'T'
    [[test.workload]]
    testName = 'Echo'
    testDuration = 1.0
    clients = 1
)";

}  // namespace

TEST_CASE("spec: arrays, dates and times are values; tables are named errors") {
  auto load = parse_spec(std::string(R"(
[configuration]
storageEngineExcludeTypes = ["memory", "memory-radixtree"]
nested = [[1, 2], ["a"]]
when = 1979-05-27T07:32:00Z
day = 1979-05-27
)") + kEchoTest,
                         "arrays.toml");
  REQUIRE_MESSAGE(load.spec, load.error);
  const auto& config = load.spec->configuration;
  const auto* list = std::get_if<OptionList>(&config.at("storageEngineExcludeTypes"));
  REQUIRE(list != nullptr);
  REQUIRE(list->items.size() == 2);
  CHECK(std::get<std::string>(list->items[1]) == "memory-radixtree");
  const auto* nested = std::get_if<OptionList>(&config.at("nested"));
  REQUIRE(nested != nullptr);
  CHECK(std::get<OptionList>(nested->items[0]).items.size() == 2);
  CHECK(std::get<std::string>(config.at("when")).find("1979-05-27") == 0);
  CHECK(std::get<std::string>(config.at("day")) == "1979-05-27");

  for (const char* bad : {"[configuration]\nx = { a = 1 }\n", "[configuration]\nx = [{ a = 1 }]\n"}) {
    auto refused = parse_spec(std::string(bad) + kEchoTest, "table.toml");
    CHECK_FALSE(refused.spec);
    CHECK(refused.error.find("option 'x'") != std::string::npos);
    CHECK(refused.error.find("table") != std::string::npos);
  }
  auto workload_table =
      parse_spec(std::string(kEchoTest) + "    extra = { deep = true }\n", "wt.toml");
  CHECK_FALSE(workload_table.spec);
  CHECK(workload_table.error.find("option 'extra'") != std::string::npos);
}

TEST_CASE("spec: FoundationDB's DiskFailureCycle.toml is read; what stops it is the workloads") {
  const std::string path = std::string(STRATA_FDB_SPECS_DIR) + "/slow/DiskFailureCycle.toml";
  if (!std::filesystem::exists(path)) {
    MESSAGE("skipped: " << path << " is not here");
    return;
  }
  auto load = workloads::load_spec(path);
  CHECK_FALSE(load.spec);
  CHECK(load.error.find("must be a boolean") == std::string::npos);
  // Cycle exists now (issue 16); the disk failure injector does not yet.
  CHECK(load.error.find("unknown workload 'DiskFailureInjection'") != std::string::npos);
  CHECK(load.error.find("'DiskFailureInjection' is not built yet") != std::string::npos);
}

TEST_CASE("spec: a workload of FoundationDB's not built yet is named with what it lacks") {
  auto load = parse_spec(R"(
[[test]]
testTitle = 'T'
    [[test.workload]]
    testName = 'RandomMoveKeys'
    [[test.workload]]
    testName = 'FuzzApiCorrectness'
    [[test.workload]]
    testName = 'NoSuchWorkload'
)",
                         "not_built.toml");
  CHECK_FALSE(load.spec);
  CHECK(load.error.find("'RandomMoveKeys' is not built yet: it needs data movement") != std::string::npos);
  CHECK(load.error.find("'FuzzApiCorrectness' is not built yet: the client lacks watches") != std::string::npos);
  CHECK(load.error.find("'NoSuchWorkload' is not built") == std::string::npos);
  CHECK(load.error.find("unknown workloads 'RandomMoveKeys', 'FuzzApiCorrectness', 'NoSuchWorkload'") != std::string::npos);
}

TEST_CASE("spec: a test's options are read, and the runner gives them their meaning") {
  auto load = parse_spec(R"(
[configuration]
machineCount = 3
[[test]]
testTitle = 'T'
connectionFailuresDisableDuration = 100000
runSetup = true
clearAfterTest = true
runFailureWorkloads = false
    [[test.workload]]
    testName = 'Echo'
    testDuration = 2.0
    clients = 2
)",
                         "test_options.toml");
  REQUIRE_MESSAGE(load.spec, load.error);
  const auto& options = load.spec->tests.at(0).options;
  CHECK(options.size() == 4);
  std::vector<std::string> warnings;
  workloads::RunConfig config;
  config.seed = 5;
  config.on_warning = [&](const std::string& w) { warnings.push_back(w); };
  const workloads::RunResult r = workloads::run_spec(*load.spec, config);
  CHECK_MESSAGE(r.passed, r.failure);
  for (const std::string& w : warnings)
    CHECK_MESSAGE(w.find("ignored") == std::string::npos, w);  // every option has its meaning
}

TEST_CASE("spec: runSetup = false skips setup; bad option values are named errors, no assertion") {
  auto no_setup = parse_spec(R"(
[[test]]
testTitle = 'NoSetup'
runSetup = false
    [[test.workload]]
    testName = 'Echo'
    testDuration = 1.0
    clients = 1
)",
                             "no_setup.toml");
  REQUIRE(no_setup.spec);
  workloads::RunConfig config;
  config.seed = 3;
  // Without setup no process serves echo: the clients get no replies and the check fails.
  CHECK_FALSE(workloads::run_spec(*no_setup.spec, config).passed);

  for (const char* bad :
       {"[configuration]\ndatacenters = 100000\n", "[configuration]\nprocessesPerMachine = 0\n",
        "[configuration]\nmachineCount = 1000000000000\n", "[configuration]\nlivenessSeconds = 1e300\n",
        "[configuration]\nmaxDeadMachines = -4\n"}) {
    auto load = parse_spec(std::string(bad) + kEchoTest, "bad.toml");
    REQUIRE_MESSAGE(load.spec, load.error);
    const workloads::RunResult r = workloads::run_spec(*load.spec, config);
    CHECK_FALSE(r.passed);
    CHECK_MESSAGE(r.failure.find("[configuration]") != std::string::npos, r.failure);
  }
  auto bad_test = parse_spec(R"(
[[test]]
testTitle = 'Bad'
connectionFailuresDisableDuration = -1
    [[test.workload]]
    testName = 'Echo'
)",
                             "bad_test.toml");
  REQUIRE(bad_test.spec);
  const workloads::RunResult r = workloads::run_spec(*bad_test.spec, config);
  CHECK_FALSE(r.passed);
  CHECK(r.failure.find("connectionFailuresDisableDuration") != std::string::npos);
}
