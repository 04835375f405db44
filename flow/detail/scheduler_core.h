#pragma once
// SchedulerCore — the part of the scheduler that every actor hop touches: the current actor, the
// ready queue, and the park path that switches fibers.
//
// It lives in its own header, below future.h, so that wait() can inline the whole park path into
// the waiting actor's own frame. That matters more than the instructions saved: Boost.Context's
// jump returns through an indirect jump rather than a `ret`, which leaves the CPU's return-stack
// predictor one entry out of step, so every function return between the switch and the actor's
// code mispredicts (about 20 cycles each). A wait that switches straight from the actor's frame
// returns through none. The rest of the scheduler (starting, cancelling, timers, the loop) is in
// scheduler.h.

#include <cxxabi.h>

#include <cstdint>
#include <exception>

#include "flow/assert.h"
#include "flow/detail/actor_base.h"
#include "flow/detail/fiber.h"
#include "flow/detail/ready_queue.h"
#include "flow/detail/waiter.h"
#include "flow/task_priority.h"
#include "flow/time.h"

namespace flow {
class Process;
class TaskLog;
}

// For the few functions on the park path: the compiler's heuristics would otherwise leave some of
// them out of line, and each call level costs a mispredicted return after every switch.
#define STRATA_ALWAYS_INLINE [[gnu::always_inline]] inline

namespace flow::detail {

class SchedulerCore {
 public:
  ActorBase* current_actor() const { return current_actor_; }
  TaskPriority current_priority() const { return current_priority_; }

  // Makes a parked actor ready at the current priority; ignored if it is not parked.
  STRATA_ALWAYS_INLINE void wake(ActorBase* a) {
    if (a->state_ != ActorBase::State::kParked) return;
    a->state_ = ActorBase::State::kReady;
    ready_.push(a, current_priority_);
  }

  // Parks the current actor until wake() or a cancel resumes it. REQUIRES: on an actor.
  // May suspend.
  STRATA_ALWAYS_INLINE void park() {
    ActorBase* const self = current_actor_;
    self->state_ = ActorBase::State::kParked;
    suspend_current<false>(self);
  }

 protected:
  explicit SchedulerCore(Process* main_process, int reactor_poll_interval)
      : current_process_(main_process),
        tasks_until_poll_(reactor_poll_interval),
        eh_globals_(reinterpret_cast<const EhGlobals*>(abi::__cxa_get_globals())) {}

  // The C++ runtime's per-thread exception state, as the Itanium C++ ABI lays it out (section
  // 2.2.2, __cxa_eh_globals; libstdc++ and libc++ both follow it). Its address is fixed for the
  // life of the thread, and the scheduler runs on the thread that made it.
  struct EhGlobals {
    void* caught_exceptions;  // innermost exception whose handler is running, or null
    unsigned int uncaught_exceptions;  // thrown, not yet caught: unwinding is under way
  };

  // The current actor tried to park inside a catch block or a destructor: aborts.
  [[noreturn, gnu::cold, gnu::noinline]] void parked_in_handler() const;

  // Which actor suspended or finished, carried by a switch as its data pointer: the actor's
  // address, with the lowest bit set when it finished (actors are aligned to at least 8). A note
  // in a register rather than in memory on the stack being left.
  struct SwitchNote {
    ActorBase* from;  // the actor that suspended or finished; null: the caller of resume()
    bool finished;

    void* encode() const {
      return reinterpret_cast<void*>(reinterpret_cast<uintptr_t>(from) | (finished ? 1u : 0u));
    }
    static SwitchNote decode(void* data) {
      const auto bits = reinterpret_cast<uintptr_t>(data);
      return {reinterpret_cast<ActorBase*>(bits & ~uintptr_t{1}), (bits & 1u) != 0};
    }
  };
  static_assert(alignof(ActorBase) >= 2, "SwitchNote keeps a flag in an actor's lowest bit");

  // Leaves `self` (kParked, or kReady when `yielding`) for the next ready actor or its resumer;
  // returns when it is resumed. May suspend.
  template <bool yielding>
  STRATA_ALWAYS_INLINE void suspend_current(ActorBase* self) {
    // Parking inside a catch block or a destructor run by unwinding would interleave two fibers'
    // exception state (the thread has one chain of caught exceptions): two actors that parked in
    // catch blocks would rethrow each other's errors. Checked in every build, for the seed sweeps
    // run release binaries: two loads from the thread's exception globals, no call.
    if (eh_globals_->caught_exceptions != nullptr || eh_globals_->uncaught_exceptions != 0)
        [[unlikely]] {
      parked_in_handler();
    }
    ActorBase* const next = handoff_target(self);
    if (yielding && next == self) {
      // A yield with nothing else to run first: carry on without switching.
      self->state_ = ActorBase::State::kRunning;
      return;
    }
    const Transfer t = leave(self, next, SwitchNote{self, false}, false);
    arrive(self, t);
  }

  // The ready actor to hand the thread to when `self` parks, or null to return to the resumer.
  STRATA_ALWAYS_INLINE ActorBase* handoff_target(ActorBase* self) {
    // tasks_until_poll_ also drops to 1 when a timer falls due (see Scheduler::timer), so one
    // test covers "time to poll the world" and "a timer must fire first".
    if (!self->resumed_by_loop_ || ready_.empty() || tasks_until_poll_ <= 1) return nullptr;
    TaskPriority p;
    ActorBase* next = ready_.pop(&p);
    current_priority_ = p;
    --tasks_until_poll_;  // counted into tasks_run_ when the loop's task ends
    if (task_log_ != nullptr) [[unlikely]]
      record_task(next, p, kTaskRun);
    return next;
  }

  // Leaves the current actor for `next` (or its resumer when null), carrying `note`.
  STRATA_ALWAYS_INLINE Transfer leave(ActorBase* self, ActorBase* next, SwitchNote note,
                                      bool forever) {
    void** fake_stack = forever ? nullptr : &self->fake_stack_;
    if (next == nullptr) return switch_to(self->resumer_, note.encode(), fake_stack, forever);
    next->resumer_ = self->resumer_;
    next->resumed_by_loop_ = true;
    next->state_ = ActorBase::State::kRunning;
    current_actor_ = next;
    current_process_ = next->process_;
    return switch_to(next->self_, note.encode(), fake_stack, forever);
  }

  // Bookkeeping on arriving in `self` after a switch; see SwitchNote.
  STRATA_ALWAYS_INLINE void arrive(ActorBase* self, Transfer t) {
    const SwitchNote note = SwitchNote::decode(t.data);
    if (note.from == nullptr) {
      // Resumed by resume(): the context we came from is our resumer now.
      arrived(self->fake_stack_, &self->resumer_);
      self->resumer_.ctx = t.fctx;
    } else {
      // Handed the thread by another actor, which set our resumer before switching.
      arrived(self->fake_stack_, nullptr);
      if (note.finished) {
        finished(note.from);
      } else {
        note.from->self_.ctx = t.fctx;
      }
    }
  }

  // An actor's fiber has ended: unlinks it and releases its stack (which may free it).
  void finished(ActorBase* a);

  // Appends a task to task_log_; `kind` is a TaskLog::Kind (flow/task_log.h is not included
  // here, to keep this header light).
  static constexpr uint8_t kTaskRun = 0;
  static constexpr uint8_t kTaskStart = 1;
  static constexpr uint8_t kTaskCancel = 2;
  [[gnu::cold, gnu::noinline]] void record_task(ActorBase* a, TaskPriority p, uint8_t kind);

  ReadyQueue ready_;
  ActorBase* current_actor_ = nullptr;
  Process* current_process_;
  TaskPriority current_priority_ = TaskPriority::DefaultYield;
  Time loop_now_ = kTimeZero;          // the world's time when the loop last looked
  uint64_t tasks_run_ = 0;             // tasks of finished loop iterations
  int tasks_until_poll_;               // tasks left before the loop polls the world
  int tasks_until_poll_at_start_ = 0;  // its value when the current loop task began
  const EhGlobals* const eh_globals_;
  TaskLog* task_log_ = nullptr;  // the order of work, when recorded (--check-determinism)
};

// The active run's scheduler, or null; set for the lifetime of a flow::Runtime.
extern SchedulerCore* g_scheduler_core;

[[noreturn]] void throw_operation_cancelled();

STRATA_ALWAYS_INLINE void Waiter::fire() {
  if (fire_fn_ == nullptr) {
    g_scheduler_core->wake(static_cast<ActorBase*>(this));
  } else {
    fire_fn_(this);
  }
}

}  // namespace flow::detail
