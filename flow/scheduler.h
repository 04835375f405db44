#pragma once
// Scheduler — runs actors: one thread, a ready queue, a timer heap, and the world's reactor.
//
// Order: the ready queue runs the highest priority first and FIFO within a priority; timers fire
// in (time, priority descending, creation order). When nothing is ready the reactor waits for the
// next outside event or timer (in virtual time: jumps to it). Nothing depends on addresses, so a
// run is a pure function of its inputs and seed.
//
// An actor's wake-up runs at the priority of whatever woke it: a timer's priority, or the priority
// of the task that set the future it waited on (as in FoundationDB, where callbacks run inside
// send). A spawned actor starts at once, at its spawner's priority.
//
// Context switches: resuming an actor switches from the current context (the scheduler loop, or
// an actor that spawns or cancels another) to the actor's fiber; when the actor parks it switches
// back to whoever resumed it. One shortcut keeps the order but halves the switches: an actor the
// loop resumed that parks while another actor is next in the ready queue (and no timer is due and
// no poll of the world is due) switches straight to that actor, which inherits the loop as its
// resumer. Every switch carries a SwitchNote saying which actor suspended (or finished), so the
// context that arrives can record where that actor stopped, or release its stack.

#include <csignal>
#include <cstdint>
#include <vector>

#include "flow/detail/actor_base.h"
#include "flow/detail/fiber.h"
#include "flow/detail/ready_queue.h"
#include "flow/detail/scheduler_core.h"
#include "flow/future.h"
#include "flow/process.h"
#include "flow/reactor.h"
#include "flow/task_priority.h"
#include "flow/time.h"

namespace flow::detail {

class Scheduler : public SchedulerCore {
 public:
  struct Options {
    size_t fiber_stack_bytes = 256 * 1024;
    size_t fiber_stack_pool_max = 1024;
    int reactor_poll_interval = 64;
  };

  Scheduler(IReactor& reactor, Process& main_process, Options options);
  ~Scheduler();  // REQUIRES: every actor has ended (see cancel_all_actors).
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  Time now() const { return reactor_.now(); }
  IReactor& reactor() const { return reactor_; }
  Process& current_process() const { return *current_process_; }

  // Records every task run from now on into `log` (null: stop). The log must outlive the
  // scheduler or be detached first.
  void set_task_log(TaskLog* log) { task_log_ = log; }

  // Starts `a` in `process` and runs it until its first unready wait. May suspend the caller.
  void start(ActorBase* a, Process& process);
  // park() and wake() are SchedulerCore's.
  // Cancels `a`: a parked or ready actor is resumed at once and unwinds; an actor on the current
  // call chain is only marked and throws at its next wait. May suspend the caller.
  void cancel(ActorBase* a);
  // Requeues the current actor at priority p behind everything ready. May suspend.
  void yield_current(TaskPriority p);

  // A future set at world time `when`, firing at priority p.
  Future<Void> timer(Time when, TaskPriority p);

  // Runs tasks until `done` is set; returns false if the run became quiescent first. With `done`
  // null, runs until quiescent (and returns false).
  bool run_until(const SAVBase* done);

  // Cancels every actor of `p`; see Process::cancel_all_actors.
  void cancel_actors_of(Process& p);
  // Cancels every actor. REQUIRES: not on an actor.
  void cancel_all_actors();

  uint64_t tasks_run() const {
    return tasks_run_ + static_cast<uint64_t>(tasks_until_poll_at_start_ - tasks_until_poll_);
  }
  size_t actor_count() const { return all_.size(); }
  size_t ready_count() const { return ready_.size(); }
  // Timers that someone still waits for (abandoned ones may linger in the heap until swept).
  size_t timer_count() const { return timers_.size() - dead_timers_; }
  size_t test_timer_heap_size() const { return timers_.size(); }
  const StackPool& stack_pool() const { return stacks_; }

 private:
  friend class SchedulerCore;  // finished() releases stacks and unlinks from all_

  // A timer's state. The heap holds its one promise reference. When its last future goes (its
  // waiter was cancelled, or moved on), the timer is abandoned: it fires nothing and must not move
  // time, so it is dropped when it reaches the top of the heap, and abandoned entries are swept
  // out once they are half of it (a cancelled timeout must not make the heap grow).
  class TimerSAV final : public SAV<Void> {
   public:
    explicit TimerSAV(Scheduler& owner) : SAV<Void>(1, 1), owner_(owner) {
      this->custom_lifetime_ = true;
    }

   protected:
    void on_last_future_dropped() override { owner_.timer_abandoned(); }

   private:
    Scheduler& owner_;
  };
  struct TimerEntry {
    Time when;
    TaskPriority priority;
    uint64_t sequence;
    TimerSAV* sav;  // the heap's promise reference
  };
  static constexpr size_t kAbandonedTimersSweepMin = 64;
  // Heap order: the entry that must fire first is "greatest".
  static bool fires_later(const TimerEntry& a, const TimerEntry& b) {
    if (a.when != b.when) return a.when > b.when;
    if (a.priority != b.priority) return a.priority < b.priority;
    return a.sequence > b.sequence;
  }

  static void fiber_entry(Transfer t);
  // The SIGSEGV handler: a fault in a stack's guard page is reported as an overflow of that
  // stack's actor, which aborts; any other fault goes to the handler installed before ours.
  static void on_segv(int signal, siginfo_t* info, void* context);
  // Installs on_segv, and an alternate signal stack for this thread if it has none, so that the
  // handler can run when a fiber's stack is exhausted. Does nothing when both are in place.
  static void install_overflow_handler();
  // The actor whose stack's guard page holds `address`, or null.
  const ActorBase* actor_with_guard_page_at(const void* address);
  void resume(ActorBase* a, bool by_loop);
  // Runs one task (firing due timers first); if none is ready, waits for the world. Returns false
  // when the run is quiescent: nothing ready, no timer, no outside source of events.
  bool run_one();
  // Fires every timer due at loop_now_; returns whether any was.
  bool fire_due_timers();
  // Takes the first timer off the heap; the caller then drops the heap's promise reference.
  TimerEntry pop_timer();
  // Drops abandoned timers from the top of the heap, so the next timer is one someone waits for.
  void drop_abandoned_timers_on_top();
  // A timer in the heap has lost its last future.
  void timer_abandoned();
  // Removes every abandoned timer from the heap.
  void sweep_abandoned_timers();

  IReactor& reactor_;
  Options options_;
  StackPool stacks_;
  std::vector<TimerEntry> timers_;
  uint64_t timer_sequence_ = 0;
  size_t dead_timers_ = 0;  // abandoned timers still in timers_
  uint64_t actors_started_ = 0;  // gives each actor its id
  IntrusiveList<ActorBase, AllActorsTag> all_;
};

// The active run's scheduler. REQUIRES: a flow::Runtime exists.
Scheduler& scheduler();

}  // namespace flow::detail
