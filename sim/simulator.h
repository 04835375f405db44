#pragma once
// Simulator — the simulated cluster: datacenters of machines of processes, each process with its
// own address, data folder, clock, network and file system, and the means to kill and reboot them.
//
// Kill levels. Killing a *process* is a crash: its actors are cancelled and its connections fail,
// but what it wrote stays (the machine's page cache survives a process crash). Killing a *machine*
// is a power loss: every process on it crashes and its disk loses, keeps or tears unsynced writes
// (see SimDisk). A *datacenter* kill kills all of its machines. Rebooting restarts the process's
// roles with the same data folder; reboot-and-wipe starts them on an empty disk.
//
// Roles. A workload gives a process roles (functions run as actors of that process). They start
// when added and again on every reboot, until the process is killed for good.
//
// The fault atlas keeps injected faults within what the run's configuration claims to survive:
// protected processes (the testers) are never killed or cut off, at most `max_dead_machines`
// machines are down at once, and data is wiped or corrupted only where the configuration allows.
// A fault that would exceed it is refused (the caller picks another or skips).
//
// Fail-stop. A process that calls flow::fail_stop() (its durable state can no longer be trusted:
// a sync failed) is killed like kill_process() — its machine's cache, and so its unsynced writes,
// survive — and rebooted after a random 0.1-2 s, unless something else brought it back or its
// machine is down by then (it comes back with its machine).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "flow/future.h"
#include "flow/network.h"
#include "flow/process.h"
#include "flow/runtime.h"
#include "sim/sim_clock.h"
#include "sim/fault_atlas.h"
#include "sim/sim_disk.h"
#include "sim/sim_network.h"

namespace sim {

// The shape and fault rates of one run; drawn from the seed by draw_swarm(), or set by a test.
struct SwarmConfig {
  int datacenters = 1;
  // Exactly this many machines, spread over the datacenters (the first ones get one more when it
  // does not divide); 0: datacenters * machines_per_datacenter.
  int machines = 0;
  int machines_per_datacenter = 3;
  int processes_per_machine = 1;
  NetworkModel network{};
  double connection_failure_probability = 0;
  DiskModel disk{};
  double io_error_probability = 0;
  double io_timeout_probability = 0;
  // How long an operation that times out waits before it fails: drawn per run, since a fixed 5 s
  // never reached a caller between kills a second apart.
  flow::Duration io_timeout_delay = std::chrono::seconds(5);
  double disk_stall_probability = 0;
  flow::Duration max_clock_skew = std::chrono::milliseconds(0);
  double max_clock_drift_ppm = 0;
  // While faults are on, now and then a random process's clock jumps forward by up to this.
  flow::Duration max_clock_jump = flow::Duration(0);
};

// Draws a cluster shape and fault rates within the given bounds. Fault rates apply only while
// faults are enabled (the safety phase).
SwarmConfig draw_swarm(flow::DeterministicRandom& rng, int min_machines, int max_machines);
std::string describe(const SwarmConfig& c);

class Simulator final : public flow::IProcessTerminator {
 public:
  struct Machine;

  struct SimProcess {
    int index;
    std::string name;
    flow::NetworkAddress address;
    Machine* machine;
    std::unique_ptr<flow::Process> process;
    std::unique_ptr<SimClock> clock;
    std::unique_ptr<flow::INetwork> network;
    std::unique_ptr<SimFileSystem> file_system;
    bool alive = true;
    bool is_protected = false;
    std::vector<std::pair<std::string, std::function<void()>>> roles;
    std::vector<flow::Future<flow::Void>> running;  // the roles' actors while alive
  };

  struct Machine {
    int index;
    int datacenter;
    std::string name;
    SimDisk disk;
    std::vector<SimProcess*> processes;
    bool alive = true;
    explicit Machine(DiskModel model) : disk(model) {}
  };

  // Builds the cluster described by `config` in the current flow::Runtime.
  Simulator(flow::Runtime& runtime, const SwarmConfig& config, FaultAtlas atlas = {});
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  const SwarmConfig& config() const { return config_; }
  FaultAtlas& atlas() { return atlas_; }
  SimNetwork& network() { return network_; }
  size_t process_count() const { return processes_.size(); }
  SimProcess& process(size_t i) { return *processes_[i]; }
  size_t machine_count() const { return machines_.size(); }
  Machine& machine(size_t i) { return *machines_[i]; }
  int datacenter_count() const { return config_.datacenters; }

  // A process outside the fault domain (its own machine, never killed or cut off): testers run
  // here, as in FoundationDB.
  SimProcess& tester();

  // Gives `p` a role and starts it now if `p` is alive.
  void add_role(SimProcess& p, std::string name, std::function<void()> body);

  // Turns injected faults (connection failures, disk errors, stalls) on or off.
  void set_faults_enabled(bool on);
  // Ends every partition and clog, and turns faults off: the start of the liveness phase.
  void heal();

  // The fault atlas's verdict on killing machine `m` now.
  bool can_kill_machine(const Machine& m) const;
  // Corruption, if the fault atlas allows it (else these do nothing and return false). Flips one
  // random bit of `m`'s durable data; false also when there is nothing to corrupt.
  bool corrupt_disk(Machine& m);
  // While disk faults are on, `m`'s disk misdirects writes and corrupts reads at these rates.
  bool set_disk_corruption(Machine& m, double misdirect_probability,
                           double read_corruption_probability);
  bool can_cut_off(const SimProcess& p) const { return !p.is_protected; }
  int dead_machines() const;

  // Kill levels; see the header comment. Killing what is already dead does nothing.
  void kill_process(SimProcess& p);
  void kill_machine(Machine& m);
  void kill_datacenter(int dc);
  // The start of the liveness phase: every dead machine comes back (with its disk), and so does
  // every process killed alone on a live machine.
  void reboot_all_dead();
  // clearAfterTest: every cluster machine (not the testers') restarts on an empty disk. Not a
  // fault, so the fault atlas is not asked.
  void clear_cluster();
  // "dc0-m1-p0 (10.0.1.1:1) alive; roles: echo_server running, ..." for the process at `address`'s
  // ip, or a note that no simulated process has it.
  std::string describe_process(flow::NetworkAddress address) const;

  // Brings a dead process (or machine) back; `wipe` first empties the machine's disk.
  void reboot_process(SimProcess& p);
  void reboot_machine(Machine& m, bool wipe);
  void reboot_datacenter(int dc, bool wipe);

  // flow::IProcessTerminator, for flow::fail_stop(): kills `p` now and reboots it later.
  void terminate(flow::Process& p, std::string_view reason) override;
  // How many processes fail_stop() has ended in this run.
  int64_t fail_stops() const { return fail_stops_; }

 private:
  void start_roles(SimProcess& p);
  // The end of a kill: every actor of `p` cancelled, its per-process state dropped.
  static void cancel_process(SimProcess& p);
  SimProcess& make_process(Machine& m, const std::string& name, bool is_protected);

  flow::Runtime& runtime_;
  SwarmConfig config_;
  FaultAtlas atlas_;
  SimNetwork network_;
  std::vector<std::unique_ptr<Machine>> machines_;
  std::vector<std::unique_ptr<SimProcess>> processes_;
  SimProcess* tester_ = nullptr;
  std::vector<flow::Future<flow::Void>> reboots_;  // the delayed reboots after a fail-stop
  flow::Future<flow::Void> clock_jumps_;           // while faults are on
  // Makes clocks jump while faults are on. May suspend.
  void jump_clocks();
  int64_t fail_stops_ = 0;
};

}  // namespace sim
