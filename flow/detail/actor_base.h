#pragma once
// ActorBase — the scheduling half of an actor: its fiber, its state, and its links into the
// scheduler's ready queue, its process's actor list and the list of all actors.
//
// The typed half (Actor<T, Fn> in flow/actor.h) adds the result state and the function to run.
// States: kRunning while its fiber is executing or is suspended inside a nested switch it made
// itself (spawn, cancel), kParked inside wait, kReady in the ready queue, kDone after its
// function returned and its fiber ended.

#include <cstdint>

#include "flow/detail/fiber.h"
#include "flow/detail/intrusive_list.h"
#include "flow/detail/waiter.h"
#include "flow/task_priority.h"

namespace flow {
class Process;
}

namespace flow::detail {

class Scheduler;
class ReadyQueue;

struct ProcessActorsTag {};
struct AllActorsTag {};

// An actor is its own Waiter: wait() registers the actor itself with the state it waits on (an
// actor parks in one place at a time), and firing it makes the actor ready.
class ActorBase : public Waiter, public ListNode<ProcessActorsTag>, public ListNode<AllActorsTag> {
 public:
  enum class State : uint8_t { kRunning, kParked, kReady, kDone };

  ActorBase() = default;
  ActorBase(const ActorBase&) = delete;
  ActorBase& operator=(const ActorBase&) = delete;

  State state() const { return state_; }
  bool cancelled() const { return cancelled_; }
  Process* process() const { return process_; }
  // This actor's number in its run: 1 for the first actor started, and so on. Stable from one run
  // of a seed to the next (unlike its address), so diagnostics and the task log use it.
  uint64_t id() const { return id_; }

  // Runs the actor's function on its fiber and publishes the result. Never throws.
  virtual void run_body() = 0;
  // Called by the scheduler once the fiber has ended and its stack is released: drops the
  // actor's own reference to its result state, which may free the actor.
  virtual void fiber_released() = 0;

 protected:
  virtual ~ActorBase() = default;

 private:
  friend class Scheduler;
  friend class SchedulerCore;
  friend class ReadyQueue;

  // The fields every hop touches come first, together.
  ActorBase* ready_prev_ = nullptr;  // links in the ReadyQueue while kReady
  ActorBase* ready_next_ = nullptr;
  ContextSide self_;     // this fiber's suspended context (valid while not kRunning)
  ContextSide resumer_;  // the context to return to when parking
  Process* process_ = nullptr;
  State state_ = State::kRunning;
  TaskPriority ready_priority_ = TaskPriority::Zero;
  bool cancelled_ = false;
  // Resumed by the scheduler loop (directly or by a handoff): when it parks, it may hand the
  // thread straight to the next ready actor instead of returning to the loop.
  bool resumed_by_loop_ = false;
  void* fake_stack_ = nullptr;
  Stack stack_;
  uint64_t id_ = 0;
};

}  // namespace flow::detail
