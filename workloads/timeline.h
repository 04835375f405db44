#pragma once
// Timeline — a picture of one simulated run, as one self-contained HTML page
// (strata-sim SPEC --seed N --timeline run.html). A lane per process, grouped by datacenter and
// machine; on each lane the roles it ran over time (from the workers' WorkerRoleStarted and
// WorkerRoleEnded events, cut short when the process dies), the bytes it sent to other processes
// (one stroke per write, from send to arrival), the faults injected on it (clogs, partitions,
// kills, reboots, disk faults, clock jumps: any event of the simulator's or the fault workloads'
// that names it), and every other trace event as a tick. The first SevError is marked across
// every lane, with its text in the header. The page zooms (wheel, or the time fields) and filters
// lanes by name, faults and events by their type, and layers by kind. Recovery states will show once step 3 traces them.
//
// The recorder only receives (trace lines through a sink, writes through the simulated network's
// observer): a run with a timeline is the same run as without one.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "flow/trace_event.h"
#include "sim/sim_network.h"

namespace workloads {

struct TimelineData {
  static constexpr size_t kEventsMax = 200'000;
  static constexpr size_t kWritesMax = 60'000;

  struct Process {
    std::string name;     // "dc0-m1-p0"
    std::string machine;  // "dc0-m1"
    int datacenter = 0;
    std::string ip;  // "10.0.1.2": how faults and writes name it
    bool is_protected = false;
  };
  struct Write {
    uint32_t from_ip, to_ip;
    int64_t sent_ns, arrives_ns;  // arrives_ns -1: held by a silent partition to the end
    size_t bytes;
  };

  std::string title;    // the spec and seed
  std::string outcome;  // "PASS", or "FAIL: <why>"
  std::vector<Process> processes;
  std::vector<std::string> events;  // trace lines (JSON objects), in order
  size_t events_dropped = 0;
  std::vector<Write> writes;
  size_t writes_dropped = 0;
};

// A trace sink that keeps every line in `data` (up to kEventsMax).
std::unique_ptr<flow::ITraceSink> make_timeline_trace_sink(std::shared_ptr<TimelineData> data);
// An observer for SimNetwork::set_write_observer that keeps each write in `data` (up to kWritesMax).
void record_timeline_write(TimelineData& data, const sim::SimNetwork::WriteRecord& w);

// The page: `data` as JSON inside the page's script, which draws it.
std::string render_timeline_html(const TimelineData& data);

}  // namespace workloads
