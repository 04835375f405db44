#pragma once
// A small simulated cluster for the net tests: three quiet machines (100–200 µs latency, no
// faults), the RPC test server on process 1, helpers to run client actors, and a trace capture.

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "flow/flow.h"
#include "net/testing/rpc_test_service.h"
#include "net/transport.h"
#include "sim/simulator.h"

namespace net_test {

using namespace std::chrono_literals;

inline sim::SwarmConfig quiet_cluster() {
  sim::SwarmConfig c;
  c.datacenters = 1;
  c.machines_per_datacenter = 3;
  c.processes_per_machine = 1;
  c.network.min_latency = 100us;
  c.network.max_latency = 200us;
  return c;
}

// Keeps every trace line, so a test can ask whether an event was emitted.
struct TraceCapture : flow::ITraceSink {
  void write(flow::Severity, std::string_view line) override { lines.emplace_back(line); }
  // How many lines are events of type `type`.
  size_t count(std::string_view type) const {
    const std::string needle = "\"Type\":\"" + std::string(type) + "\"";
    size_t n = 0;
    for (const auto& l : lines) n += l.find(needle) != std::string::npos;
    return n;
  }
  std::vector<std::string> lines;
};

struct Cluster {
  explicit Cluster(uint64_t seed, std::vector<std::string> knobs = {})
      : rt({.seed = seed, .knobs = std::move(knobs)}), sim(rt, quiet_cluster()) {
    auto sink = std::make_unique<TraceCapture>();
    trace = sink.get();
    rt.trace().add_sink(std::move(sink));
  }
  flow::Runtime rt;
  sim::Simulator sim;
  TraceCapture* trace = nullptr;

  sim::Simulator::SimProcess& server() { return sim.process(1); }
  void start_server() {
    sim.add_role(server(), "rpc_server", [] { net::testing::run_test_server(); });
  }
  // Runs `fn` as an actor of process `p` until it ends; returns its result.
  template <class Fn>
  auto run_in(int p, Fn fn) {
    auto f = flow::spawn_in(*sim.process(p).process, fn);
    REQUIRE(rt.run_until(f));
    if (f.is_error()) FAIL("the actor ended with " << f.get_error().name());
    return f.get();
  }
  // Runs `fn` as an actor of process 0 until it ends; returns its result.
  template <class Fn>
  auto client(Fn fn) {
    return run_in(0, std::move(fn));
  }
};

// The error a future ended with, or success. May suspend.
template <class T>
flow::ErrorCode outcome(const flow::Future<T>& f) {
  try {
    flow::wait(f);
    return flow::ErrorCode::success;
  } catch (const flow::Error& e) {
    if (e.code() == flow::ErrorCode::operation_cancelled) throw;
    return e.code();
  }
}

}  // namespace net_test
