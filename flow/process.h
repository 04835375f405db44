#pragma once
// Process — the context an actor runs in: which simulated (or real) process it belongs to.
//
// Every actor belongs to the process that was current when it was spawned (or the one named in
// spawn_in). The scheduler makes an actor's process current whenever its fiber runs, so code
// reaches its own address, data folder, clock, network and disk through current_process() without
// threading them through every call. Killing a process cancels all of its actors.
//
// Fail-stop. A process whose durable state can no longer be trusted — a sync of it failed, so
// bytes it wrote may sit in the OS cache and not on the disk, and a failed fsync on Linux may even
// mark them clean — must not carry on, nor reopen that state in the same process and build on
// what it reads back from the cache. It calls fail_stop(), as FoundationDB and PostgreSQL do: the
// world ends the process, and it starts again from what the disk holds.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "flow/detail/actor_base.h"
#include "flow/detail/intrusive_list.h"
#include "flow/network_address.h"

namespace flow {

class IClock;
class IFileSystem;
class INetwork;
namespace detail {
class Scheduler;
class SchedulerCore;
}  // namespace detail

class Process;

// The exit status of a real process that fail_stop() ended, so that whatever supervises it can
// tell a fail-stop from a crash (and from a clean exit).
inline constexpr int kFailStopExitCode = 87;

// How a world ends a process on purpose (fail_stop()). The simulator implements it by killing the
// simulated process and rebooting it a little later; a process without one is a real process,
// which fail_stop() ends by exiting the program.
class IProcessTerminator {
 public:
  virtual ~IProcessTerminator() = default;
  // Kills `p` now: every actor of it is cancelled (one on the current call chain at its next
  // wait). Returns; the caller then unwinds.
  virtual void terminate(Process& p, std::string_view reason) = 0;
};

// State a higher layer keeps per process (net's transport). See Process::extension().
class ProcessExtension {
 public:
  virtual ~ProcessExtension() = default;
};

class Process {
 public:
  explicit Process(std::string name, std::string machine = "", std::string data_folder = "");
  // Destroys the extensions; then REQUIRES that no actor of this process is alive.
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  const std::string& name() const { return name_; }
  const std::string& machine() const { return machine_; }
  const std::string& data_folder() const { return data_folder_; }
  // Where other processes reach this one; unset for a process that does not listen.
  const NetworkAddress& address() const { return address_; }
  void set_address(NetworkAddress a) { address_ = a; }

  // The world interfaces; each REQUIRES that the world has set it.
  INetwork& network() const;
  IFileSystem& file_system() const;
  IClock& clock() const;
  void set_network(INetwork* n) { network_ = n; }
  void set_file_system(IFileSystem* fs) { file_system_ = fs; }
  void set_clock(IClock* c) { clock_ = c; }
  // The world's way to end this process (see fail_stop()); null: exit the program.
  IProcessTerminator* terminator() const { return terminator_; }
  void set_terminator(IProcessTerminator* t) { terminator_ = t; }

  size_t actor_count() const { return actors_.size(); }

  // Cancels every actor of this process, as a kill does. An actor on the current call chain (the
  // caller itself, or an actor suspended in a spawn or cancel it made) cannot be unwound now: it
  // is marked cancelled and throws operation_cancelled at its next wait.
  void cancel_all_actors();

  // This process's T (a ProcessExtension constructible from Process&), made on first use. A kill
  // ends a process's state with its actors: the world calls clear_extensions() after
  // cancel_all_actors(), so a rebooted process starts with fresh extensions.
  template <class T>
  T& extension() {
    static const size_t slot = new_extension_slot();
    if (slot >= extensions_.size()) extensions_.resize(slot + 1);
    if (!extensions_[slot]) extensions_[slot] = std::make_unique<T>(*this);
    return static_cast<T&>(*extensions_[slot]);
  }
  // Destroys every extension, newest slot first.
  void clear_extensions();

 private:
  friend class detail::Scheduler;
  friend class detail::SchedulerCore;

  std::string name_;
  std::string machine_;
  std::string data_folder_;
  NetworkAddress address_;
  INetwork* network_ = nullptr;
  IFileSystem* file_system_ = nullptr;
  IClock* clock_ = nullptr;
  IProcessTerminator* terminator_ = nullptr;
  detail::IntrusiveList<detail::ActorBase, detail::ProcessActorsTag> actors_;
  std::vector<std::unique_ptr<ProcessExtension>> extensions_;

  static size_t new_extension_slot();
};

// The process whose actor is running, or the runtime's main process outside any actor.
Process& current_process();

// Ends the current process at once, because its durable state can no longer be trusted (see
// "Fail-stop" above); `reason` says why. Logs ProcessFailStop (SevWarnAlways: a fail-stop is the
// system working as designed, not a failed run), then:
//  - with a terminator (the simulator), has it kill the process and throws operation_cancelled,
//    so the caller's actor unwinds and ends like every other actor of the process;
//  - without one (a real process), flushes the trace and exits the program with
//    kFailStopExitCode, without unwinding or running destructors.
// Never returns. REQUIRES: not inside a catch block (killing a simulated process switches fibers).
// May suspend.
[[noreturn]] void fail_stop(std::string_view reason);

}  // namespace flow
