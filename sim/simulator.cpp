#include "sim/simulator.h"

#include <fmt/format.h>

#include "flow/actor.h"
#include "flow/code_probe.h"
#include "flow/combinators.h"
#include "flow/trace_event.h"
#include "sim/detail/model_draw.h"

namespace sim {

SwarmConfig draw_swarm(flow::DeterministicRandom& rng, int min_machines, int max_machines) {
  ASSERT_GE(min_machines, 1);
  ASSERT_GE(max_machines, min_machines);
  using std::chrono::microseconds;
  using std::chrono::milliseconds;
  SwarmConfig c;
  c.datacenters = static_cast<int>(rng.random_int(1, 4));
  const int machines = static_cast<int>(rng.random_int(min_machines, max_machines + 1));
  c.machines = machines;
  c.datacenters = std::min(c.datacenters, machines);
  c.machines_per_datacenter = std::max(1, (machines + c.datacenters - 1) / c.datacenters);
  c.processes_per_machine = static_cast<int>(rng.random_int(1, 3));
  c.network.min_latency = microseconds(rng.random_int(20, 200));
  c.network.max_latency = c.network.min_latency + microseconds(rng.random_int(0, 5000));
  c.connection_failure_probability = rng.random_bool(0.5) ? rng.random01() * 0.01 : 0;
  c.disk.iops = rng.random_int(2'000, 50'000);
  c.disk.keep_probability = rng.random01() * 0.6;
  c.disk.tear_probability = rng.random01() * (1 - c.disk.keep_probability);
  c.io_error_probability = rng.random_bool(0.3) ? rng.random01() * 0.002 : 0;
  c.io_timeout_probability = rng.random_bool(0.2) ? rng.random01() * 0.0005 : 0;
  c.disk_stall_probability = rng.random_bool(0.3) ? rng.random01() * 0.01 : 0;
  c.max_clock_skew = milliseconds(rng.random_int(0, 200));
  c.max_clock_drift_ppm = static_cast<double>(rng.random_int(0, 200));
  c.max_clock_jump = rng.coinflip() ? milliseconds(rng.random_int(1, 2000)) : milliseconds(0);
  c.disk.bytes_per_second = rng.random_int(20, 1000) << 20;
  c.io_timeout_delay = milliseconds(rng.random_int(20, 5000));
  return c;
}

std::string describe(const SwarmConfig& c) {
  return fmt::format(
      "{} dc, {} machines x {} processes; latency {}-{} us; conn failure p={:.4f}; "
      "disk iops={} {} MiB/s keep={:.2f} tear={:.2f} io_error p={:.4f} io_timeout p={:.5f} after {} ms stall p={:.4f}; "
      "clock skew <= {} ms, drift <= {} ppm, jumps <= {} ms",
      c.datacenters, c.machines > 0 ? c.machines : c.datacenters * c.machines_per_datacenter,
      c.processes_per_machine,
      c.network.min_latency.count() / 1000, c.network.max_latency.count() / 1000,
      c.connection_failure_probability, c.disk.iops, c.disk.bytes_per_second >> 20,
      c.disk.keep_probability,
      c.disk.tear_probability, c.io_error_probability, c.io_timeout_probability,
      std::chrono::duration_cast<std::chrono::milliseconds>(c.io_timeout_delay).count(),
      c.disk_stall_probability,
      std::chrono::duration_cast<std::chrono::milliseconds>(c.max_clock_skew).count(),
      c.max_clock_drift_ppm,
      std::chrono::duration_cast<std::chrono::milliseconds>(c.max_clock_jump).count());
}

Simulator::Simulator(flow::Runtime& runtime, const SwarmConfig& config, FaultAtlas atlas)
    : runtime_(runtime), config_(config), atlas_(atlas), network_(config.network) {
  ASSERT_GE(config.datacenters, 1);
  ASSERT_LE(config.datacenters, 250);
  ASSERT_GE(config.machines_per_datacenter, 1);
  ASSERT_LE(config.machines_per_datacenter, 250);
  ASSERT_GE(config.machines, 0);
  ASSERT_LE(config.machines, 250 * 250);
  ASSERT_GE(config.processes_per_machine, 1);
  ASSERT_LE(config.processes_per_machine, 250);
  network_.faults().connection_failure_probability = config.connection_failure_probability;
  // Exactly config.machines machines when given, spread over the datacenters; with fewer machines
  // than datacenters there are fewer datacenters (none stays empty).
  const int total = config.machines > 0 ? config.machines
                                        : config.datacenters * config.machines_per_datacenter;
  const int datacenters = std::min(config.datacenters, total);
  config_.datacenters = datacenters;
  for (int dc = 0; dc < datacenters; ++dc) {
    const int in_dc = total / datacenters + (dc < total % datacenters ? 1 : 0);
    for (int m = 0; m < in_dc; ++m) {
      auto machine = std::make_unique<Machine>(config.disk);
      machine->index = static_cast<int>(machines_.size());
      machine->datacenter = dc;
      machine->name = fmt::format("dc{}-m{}", dc, m);
      Machine& mref = *machine;
      machines_.push_back(std::move(machine));
      for (int p = 0; p < config.processes_per_machine; ++p) {
        make_process(mref, fmt::format("{}-p{}", mref.name, p), false);
      }
    }
  }
  auto faults = [&](SimDisk& d) {
    d.faults().io_error_probability = config.io_error_probability;
    d.faults().io_timeout_probability = config.io_timeout_probability;
    d.faults().timeout_delay = config.io_timeout_delay;
    d.faults().stall_probability = config.disk_stall_probability;
  };
  for (auto& m : machines_)
    faults(m->disk);
  flow::TraceEvent(flow::SevInfo, "SimulatorStarted")
      .detail("Machines", static_cast<int64_t>(machines_.size()))
      .detail("Processes", static_cast<int64_t>(processes_.size()))
      .detail("Swarm", describe(config));
}

Simulator::~Simulator() {
  reboots_.clear();
  clock_jumps_ = flow::Future<flow::Void>();
  // Every simulated process dies before the objects its actors use.
  for (auto& p : processes_) {
    p->alive = false;
    network_.kill_address(p->address.ip);
    p->process->cancel_all_actors();
    p->running.clear();
    p->process->clear_extensions();
  }
}

Simulator::SimProcess& Simulator::make_process(Machine& m, const std::string& name,
                                               bool is_protected) {
  auto p = std::make_unique<SimProcess>();
  p->index = static_cast<int>(processes_.size());
  p->name = name;
  p->machine = &m;
  p->is_protected = is_protected;
  const auto slot = static_cast<uint32_t>(m.processes.size());
  p->address =
      flow::NetworkAddress{(10u << 24) | (static_cast<uint32_t>(m.datacenter & 0xff) << 16) |
                               (static_cast<uint32_t>(m.index) << 8) | (slot + 1),
                           1};
  p->process = std::make_unique<flow::Process>(name, m.name, "/" + name);
  p->process->set_address(p->address);
  auto& rng = runtime_.random();
  const int64_t skew_ns =
      std::chrono::duration_cast<flow::Duration>(config_.max_clock_skew).count();
  const flow::Duration skew =
      skew_ns > 0 ? flow::Duration(rng.random_int(-skew_ns, skew_ns + 1)) : flow::Duration(0);
  const double drift = config_.max_clock_drift_ppm > 0
                           ? (rng.random01() * 2 - 1) * config_.max_clock_drift_ppm
                           : 0.0;
  p->clock = std::make_unique<SimClock>(skew, drift);
  p->network = network_.network_for(p->address.ip);
  p->file_system = std::make_unique<SimFileSystem>(m.disk, p->process->data_folder());
  p->process->set_clock(p->clock.get());
  p->process->set_network(p->network.get());
  p->process->set_file_system(p->file_system.get());
  p->process->set_terminator(this);
  SimProcess& ref = *p;
  m.processes.push_back(&ref);
  processes_.push_back(std::move(p));
  return ref;
}

Simulator::SimProcess& Simulator::tester() {
  if (tester_ == nullptr) {
    auto machine = std::make_unique<Machine>(config_.disk);
    machine->index = static_cast<int>(machines_.size());
    machine->datacenter = -1;  // outside every datacenter: a datacenter kill spares the testers
    machine->name = "tester";
    Machine& m = *machine;
    machines_.push_back(std::move(machine));
    tester_ = &make_process(m, "tester", true);
  }
  return *tester_;
}

void Simulator::add_role(SimProcess& p, std::string name, std::function<void()> body) {
  p.roles.emplace_back(std::move(name), std::move(body));
  if (p.alive) {
    const auto& [role_name, role_body] = p.roles.back();
    p.running.push_back(flow::spawn_in(*p.process, [&p, role_name = role_name, role_body] {
      try {
        role_body();
      } catch (const flow::Error& e) {
        if (e.code() == flow::ErrorCode::operation_cancelled) throw;
        flow::TraceEvent(flow::SevWarn, "RoleFailed").detail("Role", role_name).detail("Error", e);
      }
    }));
  }
}

void Simulator::start_roles(SimProcess& p) {
  auto roles = std::move(p.roles);
  p.roles.clear();
  for (auto& [name, body] : roles)
    add_role(p, std::move(name), std::move(body));
}

void Simulator::jump_clocks() {
  auto& rng = runtime_.random();
  for (;;) {
    flow::wait(flow::delay(detail::draw_between(rng, std::chrono::milliseconds(100),
                                                std::chrono::seconds(3))));
    SimProcess& p =
        *processes_[static_cast<size_t>(rng.random_int(0, static_cast<int64_t>(processes_.size())))];
    if (p.is_protected) continue;
    const flow::Duration by =
        detail::draw_between(rng, std::chrono::milliseconds(1), config_.max_clock_jump);
    CODE_PROBE(true, "a process's clock jumps forward");
    flow::TraceEvent(flow::SevInfo, "SimClockJump").detail("Process", p.name).detail("By", by);
    p.clock->jump(by);
  }
}

void Simulator::set_faults_enabled(bool on) {
  if (on && config_.max_clock_jump >= std::chrono::milliseconds(1) && !clock_jumps_.is_valid()) {
    clock_jumps_ = flow::spawn_in(runtime_.main_process(), [this] { jump_clocks(); });
  } else if (!on) {
    clock_jumps_ = flow::Future<flow::Void>();
  }
  network_.faults().enabled = on;
  for (auto& m : machines_)
    m->disk.faults().enabled = on && m.get() != (tester_ ? tester_->machine : nullptr);
}

void Simulator::heal() {
  network_.heal();
  set_faults_enabled(false);
  flow::TraceEvent(flow::SevInfo, "SimulatorHealed");
}

bool Simulator::corrupt_disk(Machine& m) {
  if (!atlas_.allow_corruption) {
    flow::TraceEvent(flow::SevWarn, "FaultAtlasRefusedCorruption").detail("Machine", m.name);
    return false;
  }
  return m.disk.corrupt_random_bit();
}

bool Simulator::set_disk_corruption(Machine& m, double misdirect_probability,
                                    double read_corruption_probability) {
  if (!atlas_.allow_corruption) {
    if (misdirect_probability > 0 || read_corruption_probability > 0)
      flow::TraceEvent(flow::SevWarn, "FaultAtlasRefusedCorruption").detail("Machine", m.name);
    return false;
  }
  m.disk.faults().misdirect_probability = misdirect_probability;
  m.disk.faults().read_corruption_probability = read_corruption_probability;
  return true;
}

int Simulator::dead_machines() const {
  int dead = 0;
  for (const auto& m : machines_)
    if (!m->alive) ++dead;
  return dead;
}

bool Simulator::can_kill_machine(const Machine& m) const {
  if (!m.alive) return true;
  for (const SimProcess* p : m.processes)
    if (p->is_protected) return false;
  return dead_machines() < atlas_.max_dead_machines;
}

void Simulator::kill_process(SimProcess& p) {
  if (!p.alive) return;
  ASSERT_MSG(!p.is_protected, "the fault atlas protects {}", p.name);
  flow::TraceEvent(flow::SevInfo, "SimKillProcess").detail("Victim", p.name);
  p.alive = false;
  network_.kill_address(p.address.ip);
  cancel_process(p);
}

void Simulator::cancel_process(SimProcess& p) {
  p.process->cancel_all_actors();
  p.running.clear();
  p.process->clear_extensions();  // a rebooted process starts with fresh state (its transport)
}

void Simulator::kill_machine(Machine& m) {
  if (!m.alive) return;
  CODE_PROBE(true, "a machine loses power");
  flow::TraceEvent(flow::SevInfo, "SimKillMachine").detail("Victim", m.name);
  for (SimProcess* p : m.processes)
    kill_process(*p);
  m.alive = false;
  m.disk.kill();
}

void Simulator::kill_datacenter(int dc) {
  CODE_PROBE(true, "a datacenter loses power");
  flow::TraceEvent(flow::SevInfo, "SimKillDatacenter").detail("Datacenter", dc);
  for (auto& m : machines_)
    if (m->datacenter == dc && m.get() != (tester_ ? tester_->machine : nullptr)) kill_machine(*m);
}

void Simulator::reboot_process(SimProcess& p) {
  if (p.alive) kill_process(p);
  else cancel_process(p);  // whatever a fail-stop left to cancel (see terminate())
  if (!p.machine->alive) return;  // comes back with its machine
  CODE_PROBE(true, "a process reboots on its running machine");
  flow::TraceEvent(flow::SevInfo, "SimRebootProcess").detail("Victim", p.name);
  p.alive = true;
  start_roles(p);
}

void Simulator::reboot_all_dead() {
  for (auto& m : machines_)
    if (!m->alive) reboot_machine(*m, false);
  for (auto& p : processes_)
    if (!p->alive && p->machine->alive) reboot_process(*p);
}

void Simulator::clear_cluster() {
  flow::TraceEvent(flow::SevInfo, "SimClearCluster");
  for (auto& m : machines_) {
    if (m.get() == (tester_ ? tester_->machine : nullptr)) continue;
    kill_machine(*m);
    m->disk.wipe();
    m->alive = true;
    for (SimProcess* p : m->processes) {
      p->alive = true;
      start_roles(*p);
    }
  }
}

std::string Simulator::describe_process(flow::NetworkAddress address) const {
  for (const auto& p : processes_) {
    if (p->address.ip != address.ip) continue;
    std::string roles;
    for (size_t i = 0; i < p->roles.size(); ++i) {
      const bool running = p->alive && i < p->running.size() && !p->running[i].is_ready();
      roles += fmt::format("{}{} {}", roles.empty() ? "" : ", ", p->roles[i].first,
                           running ? "running" : "not running");
    }
    return fmt::format("process {} ({}) {}{}; roles: {}", p->name, address.to_string(),
                       p->alive ? "alive" : "dead",
                       p->machine->alive ? "" : fmt::format(", machine {} down", p->machine->name),
                       roles.empty() ? "none" : roles);
  }
  return fmt::format("{}, which no simulated process has", address.to_string());
}

void Simulator::reboot_machine(Machine& m, bool wipe) {
  kill_machine(m);
  ASSERT_MSG(!wipe || atlas_.allow_wipe, "the fault atlas forbids wiping {}", m.name);
  CODE_PROBE(wipe, "a machine reboots on a wiped disk");
  CODE_PROBE(!wipe, "a machine reboots with its disk");
  if (wipe) m.disk.wipe();
  flow::TraceEvent(flow::SevInfo, "SimRebootMachine").detail("Victim", m.name).detail("Wipe", wipe);
  m.alive = true;
  for (SimProcess* p : m.processes) {
    p->alive = true;
    start_roles(*p);
  }
}

void Simulator::terminate(flow::Process& process, std::string_view reason) {
  SimProcess* victim = nullptr;
  for (auto& p : processes_)
    if (p->process.get() == &process) victim = p.get();
  ASSERT_MSG(victim != nullptr, "fail_stop() in {}, which is no simulated process", process.name());
  ASSERT_MSG(!victim->is_protected, "fail_stop() in protected process {}: {}", victim->name,
             reason);
  CODE_PROBE(true, "a process fail-stops and is rebooted later");
  ++fail_stops_;
  flow::TraceEvent(flow::SevInfo, "SimFailStop")
      .detail("Victim", victim->name)
      .detail("Reason", reason);
  // The actor that called fail_stop() is still on the call stack, inside objects that other
  // actors of the process may own: cancelling those now would free what it is about to unwind
  // through (a log's durability actor inside its DiskQueue, whose owner is the role's actor). So
  // the process is cut off now, and its actors are cancelled as soon as this one has unwound:
  // by a task of the highest priority, before anything it woke runs.
  flow::TraceEvent(flow::SevInfo, "SimKillProcess").detail("Victim", victim->name);
  victim->alive = false;
  network_.kill_address(victim->address.ip);
  std::erase_if(reboots_, [](const flow::Future<flow::Void>& f) { return f.is_ready(); });
  reboots_.push_back(flow::spawn_in(runtime_.main_process(), [victim] {
    flow::yield(flow::TaskPriority::Max);
    if (!victim->alive) cancel_process(*victim);
  }));
  const flow::Duration after =
      detail::draw_between(runtime_.random(), std::chrono::milliseconds(100), std::chrono::seconds(2));
  reboots_.push_back(flow::spawn_in(runtime_.main_process(), [this, victim, after] {
    flow::wait(flow::delay(after));
    if (!victim->alive && victim->machine->alive) reboot_process(*victim);
  }));
}

void Simulator::reboot_datacenter(int dc, bool wipe) {
  for (auto& m : machines_)
    if (m->datacenter == dc && m.get() != (tester_ ? tester_->machine : nullptr)) {
      reboot_machine(*m, wipe);
    }
}

}  // namespace sim
