#pragma once
// Spec — a simulation test file in FoundationDB's TOML format.
//
//   [configuration]              cluster shape and run settings (see sim_runner.h)
//   [[knobs]]                    knob overrides: name = value
//   [[test]]                     tests run one after another on the same cluster
//   testTitle = 'Clogged'
//     [[test.workload]]          workloads of one test run side by side
//     testName = 'Echo'          the workload, by name
//     testDuration = 10.0        its options
//
// Loading checks everything that can be checked before a run: TOML syntax, the shape above, and
// that every workload named exists (an unknown one is an error naming it and listing the known).
// Every TOML value type is read: booleans, integers, floats, strings, dates and times (as their
// ISO 8601 text) and arrays of them (FoundationDB's files use lists, e.g.
// storageEngineExcludeTypes); a table where an option belongs is an error naming the option.
// Nothing in a spec file reaches an assertion: whatever is wrong with one is an error that says
// where.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "workloads/workload.h"

namespace workloads {

struct WorkloadSpec {
  std::string test_name;
  std::map<std::string, OptionValue> options;  // everything but testName
};

struct TestSpec {
  std::string title;
  // The test's options (connectionFailuresDisableDuration, runSetup, ...; see sim_runner.h).
  std::map<std::string, OptionValue> options;
  std::vector<WorkloadSpec> workloads;
};

struct Spec {
  std::string path;
  std::map<std::string, OptionValue> configuration;
  std::vector<std::string> knobs;  // "name=value"
  std::vector<TestSpec> tests;
};

struct SpecLoad {
  std::optional<Spec> spec;  // empty on error
  std::string error;
  std::vector<std::string> warnings;
};

SpecLoad load_spec(const std::string& path);
SpecLoad parse_spec(const std::string& text, const std::string& source_name);

}  // namespace workloads
