#pragma once
// Process — the context an actor runs in: which simulated (or real) process it belongs to.
//
// Every actor belongs to the process that was current when it was spawned (or the one named in
// spawn_in). The scheduler makes an actor's process current whenever its fiber runs, so code
// reaches its own address, data folder, clock, network and disk through current_process() without
// threading them through every call. Killing a process cancels all of its actors.

#include <string>

#include "flow/detail/actor_base.h"
#include "flow/detail/intrusive_list.h"

namespace flow {

class IClock;
class IFileSystem;
class INetwork;

class Process {
 public:
  explicit Process(std::string name, std::string machine = "", std::string data_folder = "");
  ~Process();  // REQUIRES: no actor of this process is alive.
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  const std::string& name() const { return name_; }
  const std::string& machine() const { return machine_; }
  const std::string& data_folder() const { return data_folder_; }

  // The world interfaces; each REQUIRES that the world has set it.
  INetwork& network() const;
  IFileSystem& file_system() const;
  IClock& clock() const;
  void set_network(INetwork* n) { network_ = n; }
  void set_file_system(IFileSystem* fs) { file_system_ = fs; }
  void set_clock(IClock* c) { clock_ = c; }

  size_t actor_count() const { return actors_.size(); }

  // Cancels every actor of this process, as a kill does. An actor on the current call chain (the
  // caller itself, or an actor suspended in a spawn or cancel it made) cannot be unwound now: it
  // is marked cancelled and throws operation_cancelled at its next wait.
  void cancel_all_actors();

 private:
  friend class detail::Scheduler;
  friend class detail::SchedulerCore;

  std::string name_;
  std::string machine_;
  std::string data_folder_;
  INetwork* network_ = nullptr;
  IFileSystem* file_system_ = nullptr;
  IClock* clock_ = nullptr;
  detail::IntrusiveList<detail::ActorBase, detail::ProcessActorsTag> actors_;
};

// The process whose actor is running, or the runtime's main process outside any actor.
Process& current_process();

}  // namespace flow
