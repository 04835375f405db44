#pragma once
// TaskLog — the order of work in one run: which actor the scheduler ran, in which process, at
// which priority, one entry per task, for the determinism self-check (--check-determinism).
//
// Two runs of one seed must run the same tasks in the same order. A divergence that emits no
// trace event and draws no random number shows only here. Every entry uses ids that are stable
// from one run to the next (an actor's per-run number, its process's name, never an address).
// The log keeps a digest and count of every task, and the entries themselves up to kTasksKeptMax,
// so that first_difference() can name the first task at which two runs part.
//
// Recording is off unless a Runtime is given a log (RuntimeOptions::task_log): the scheduler's
// hot path then pays one predicted branch per task. Single-threaded, like the scheduler.

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "flow/task_priority.h"

namespace flow {

class Process;

class TaskLog {
 public:
  enum class Kind : uint8_t {
    kRun,     // taken from the ready queue
    kStart,   // a new actor's first run, inside its spawner's task
    kCancel,  // a parked or ready actor resumed to unwind, inside the canceller's task
  };
  struct Task {
    uint64_t actor;    // ActorBase::id(): 1 for the run's first actor
    uint32_t process;  // index into process_names()
    TaskPriority priority;
    Kind kind;
    friend bool operator==(const Task&, const Task&) = default;
  };
  // 16 bytes each: 256 MiB at most per run.
  static constexpr size_t kTasksKeptMax = size_t{16} << 20;

  void record(uint64_t actor, const Process& process, TaskPriority priority, Kind kind);

  uint64_t count() const { return count_; }
  uint64_t digest() const { return digest_; }
  // The first min(count(), kTasksKeptMax) tasks.
  const std::vector<Task>& tasks() const { return tasks_; }
  const std::vector<std::string>& process_names() const { return process_names_; }
  std::string describe(const Task& t) const;

  // Empty when the two logs agree; else names the first task at which they differ, with both
  // versions (or says that they differ past the tasks kept).
  static std::string first_difference(const TaskLog& a, const TaskLog& b);
  // The index of the first task at which a and b differ, or count() when they agree. Past the
  // tasks kept, the first index not kept.
  static uint64_t first_difference_index(const TaskLog& a, const TaskLog& b);

 private:
  uint32_t process_index(const Process& p);

  std::vector<Task> tasks_;
  std::vector<std::string> process_names_;
  std::unordered_map<std::string, uint32_t> index_of_name_;  // looked up, never iterated
  const Process* last_process_ = nullptr;  // the process of the last entry, and its index
  uint32_t last_process_index_ = 0;
  uint64_t count_ = 0;
  uint64_t digest_ = 0;
};

}  // namespace flow
