#include "workloads/spec.h"

#include <fmt/format.h>

#include <toml++/toml.h>
#include <algorithm>
#include <fstream>
#include <sstream>
#include <string_view>
#include <utility>

namespace workloads {
namespace {

// FoundationDB's workloads that its own spec files name and strata-sim does not have yet, with
// what each lacks: a spec naming one is refused with it, so a sweep says why it cannot run.
constexpr std::pair<std::string_view, std::string_view> kNotBuiltYet[] = {
    {"ApiCorrectness", "the workload is not written yet"},
    {"DiskFailureInjection", "the workload is not written yet (the simulator's disk faults are the atlas's)"},
    {"FuzzApiCorrectness",
     "the client lacks watches, the numbered transaction options, getAddressesForKey and range size estimates"},
    {"InventoryTest", "the workload is not written yet"},
    {"MinimumThroughput", "the workload is not written yet"},
    {"RandomMoveKeys", "it needs data movement (shards moving between storage teams: data distribution, a later issue)"},
    {"Storefront", "the workload is not written yet"},
    {"Watches", "the client lacks watches"},
    {"WatchesSameKeyCorrectness", "the client lacks watches"},
};

// Arrays nest at most this deep (TOML allows any depth; an option has no use for more).
constexpr int kOptionDepthMax = 8;

// A TOML value as an option: scalars as themselves, dates and times as their ISO 8601 text,
// arrays as lists. Tables (inline or not) are no option value: empty, with `why` set.
std::optional<OptionValue> to_option(const toml::node& node, int depth, std::string& why) {
  if (auto v = node.as_boolean()) return OptionValue(v->get());
  if (auto v = node.as_integer()) return OptionValue(v->get());
  if (auto v = node.as_floating_point()) return OptionValue(v->get());
  if (auto v = node.as_string()) return OptionValue(v->get());
  if (node.is_date() || node.is_time() || node.is_date_time()) {
    std::ostringstream out;
    node.visit([&out](const auto& n) { out << n; });
    return OptionValue(out.str());
  }
  if (const toml::array* a = node.as_array()) {
    if (depth >= kOptionDepthMax) {
      why = fmt::format("is an array nested more than {} deep", kOptionDepthMax);
      return std::nullopt;
    }
    OptionList list;
    for (const toml::node& item : *a) {
      auto v = to_option(item, depth + 1, why);
      if (!v) return std::nullopt;
      list.items.push_back(std::move(*v));
    }
    return OptionValue(std::move(list));
  }
  why = node.is_table() ? "is a table (options are booleans, numbers, strings, dates and times, "
                          "or arrays of them)"
                        : "has a type strata-sim does not read";
  return std::nullopt;
}

std::string option_text(const toml::node& node) {
  std::ostringstream out;
  if (auto v = node.as_string()) return v->get();
  node.visit([&out](const auto& n) { out << n; });
  return out.str();
}

// Reads a table's scalar entries into `out`; anything else is an error.
bool read_options(const toml::table& table, const std::string& where,
                  std::map<std::string, OptionValue>& out, std::string& error) {
  for (const auto& [key, node] : table) {
    std::string why;
    auto value = to_option(node, 0, why);
    if (!value) {
      const auto& at = node.source().begin;
      error = fmt::format("{}: option '{}' (line {}) {}", where, key.str(), at.line, why);
      return false;
    }
    out.emplace(std::string(key.str()), std::move(*value));
  }
  return true;
}

}  // namespace

SpecLoad load_spec(const std::string& path) {
  std::ifstream in(path);
  if (!in) return {std::nullopt, fmt::format("cannot read spec file '{}'", path), {}};
  std::stringstream text;
  text << in.rdbuf();
  return parse_spec(text.str(), path);
}

SpecLoad parse_spec(const std::string& text, const std::string& source_name) {
  SpecLoad result;
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    result.error =
        fmt::format("{}:{}:{}: {}", source_name, where.line, where.column, e.description());
    return result;
  }
  Spec spec;
  spec.path = source_name;
  for (const auto& [key, node] : root) {
    const std::string k(key.str());
    if (k != "configuration" && k != "knobs" && k != "test") {
      result.warnings.push_back(
          fmt::format("{}: unknown top-level entry '{}' ignored", source_name, k));
    }
  }
  if (const toml::node* config = root.get("configuration")) {
    const toml::table* t = config->as_table();
    if (t == nullptr) {
      result.error = fmt::format("{}: [configuration] must be a table", source_name);
      return result;
    }
    if (!read_options(*t, source_name + " [configuration]", spec.configuration, result.error)) {
      return result;
    }
  }
  if (const toml::node* knobs = root.get("knobs")) {
    const toml::array* a = knobs->as_array();
    if (a == nullptr) {
      result.error = fmt::format("{}: knobs must be written [[knobs]]", source_name);
      return result;
    }
    for (const toml::node& entry : *a) {
      const toml::table* t = entry.as_table();
      if (t == nullptr) {
        result.error = fmt::format("{}: each [[knobs]] entry must be a table", source_name);
        return result;
      }
      for (const auto& [key, value] : *t)
        spec.knobs.push_back(fmt::format("{}={}", key.str(), option_text(value)));
    }
  }
  const toml::array* tests = root["test"].as_array();
  if (tests == nullptr || tests->empty()) {
    result.error = fmt::format("{}: no [[test]] entries", source_name);
    return result;
  }
  std::vector<std::string> unknown;
  for (size_t i = 0; i < tests->size(); ++i) {
    const toml::table* t = (*tests)[i].as_table();
    if (t == nullptr) {
      result.error = fmt::format("{}: [[test]] #{} is not a table", source_name, i + 1);
      return result;
    }
    TestSpec test;
    test.title = t->get_as<std::string>("testTitle") ? t->get_as<std::string>("testTitle")->get()
                                                     : fmt::format("test{}", i + 1);
    const toml::array* workloads = (*t)["workload"].as_array();
    if (workloads == nullptr || workloads->empty()) {
      result.error =
          fmt::format("{}: test '{}' has no [[test.workload]] entries", source_name, test.title);
      return result;
    }
    // The test's own options (everything but testTitle and its workloads); the runner reads them
    // and warns about those it does not know.
    for (const auto& [key, node] : *t) {
      const std::string k(key.str());
      if (k == "testTitle" || k == "workload") continue;
      std::string why;
      auto value = to_option(node, 0, why);
      if (!value) {
        result.error = fmt::format("{}: test '{}': option '{}' (line {}) {}", source_name,
                                   test.title, k, node.source().begin.line, why);
        return result;
      }
      test.options.emplace(k, std::move(*value));
    }
    for (const toml::node& w : *workloads) {
      const toml::table* wt = w.as_table();
      WorkloadSpec ws;
      if (wt == nullptr || !wt->get_as<std::string>("testName")) {
        result.error =
            fmt::format("{}: test '{}': a workload has no testName", source_name, test.title);
        return result;
      }
      ws.test_name = wt->get_as<std::string>("testName")->get();
      std::map<std::string, OptionValue> options;
      if (!read_options(*wt, fmt::format("{}: workload {}", source_name, ws.test_name), options,
                        result.error)) {
        return result;
      }
      options.erase("testName");
      ws.options = std::move(options);
      if (!workload_registry().contains(ws.test_name)) unknown.push_back(ws.test_name);
      test.workloads.push_back(std::move(ws));
    }
    spec.tests.push_back(std::move(test));
  }
  if (!unknown.empty()) {
    std::string names, known;
    for (const auto& n : unknown)
      if (names.find("'" + n + "'") == std::string::npos)
        names += (names.empty() ? "'" : ", '") + n + "'";
    for (const auto& [name, factory] : workload_registry())
      known += (known.empty() ? "" : ", ") + name;
    result.error = fmt::format("{}: unknown workload{} {} (strata-sim knows: {})", source_name,
                               unknown.size() > 1 ? "s" : "", names, known);
    for (const auto& [name, lacks] : kNotBuiltYet)
      if (std::find(unknown.begin(), unknown.end(), name) != unknown.end())
        result.error += fmt::format("; '{}' is not built yet: {}", name, lacks);
    return result;
  }
  result.spec = std::move(spec);
  return result;
}

}  // namespace workloads
