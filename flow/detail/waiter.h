#pragma once
// Waiter — something waiting for a future's state (or a stream) to be set — and WaiterList, the
// FIFO of them that each state keeps.
//
// A waiter is either an actor's own waiter (every ActorBase is one; see actor_base.h), whose
// firing makes that actor ready, or a function to call, which must not switch fibers. An actor's
// waiter is part of the actor, so firing it finds the actor by a fixed offset rather than by
// loading a pointer: the hop from a promise to the actor it wakes is on the critical path of
// every actor ping-pong (promise → waiter → actor → ready queue → the actor's context).
// Waiters link into their list through bare pointers (no sentinel, no count).

#include "flow/assert.h"

namespace flow::detail {

class Waiter {
 public:
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;

  // A waiter that calls fire_fn when fired.
  explicit Waiter(void (*fire_fn)(Waiter*)) : fire_fn_(fire_fn) {}

  bool linked() const { return linked_; }
  // Makes the waiting actor ready, or calls the function. Never switches fibers. Defined in
  // scheduler_core.h, which knows the scheduler.
  void fire();

 protected:
  // An actor's own waiter: ActorBase's base.
  Waiter() = default;

 private:
  friend class WaiterList;
  void (*fire_fn_)(Waiter*) = nullptr;  // null: this is an ActorBase
  Waiter* prev_ = nullptr;
  Waiter* next_ = nullptr;
  bool linked_ = false;
};

// The waiters of one state (or stream), in registration order.
class WaiterList {
 public:
  bool empty() const { return head_ == nullptr; }

  // REQUIRES: w is not registered anywhere.
  void push_back(Waiter* w) {
    ASSERT(!w->linked_);
    push_back_unchecked(w);
  }
  // As push_back, for a waiter its caller knows is on no list.
  void push_back_unchecked(Waiter* w) {
    w->linked_ = true;
    w->next_ = nullptr;
    w->prev_ = tail_;
    (tail_ != nullptr ? tail_->next_ : head_) = w;
    tail_ = w;
  }
  // REQUIRES: w is on this list.
  void remove(Waiter* w) {
    ASSERT(w->linked_);
    (w->prev_ != nullptr ? w->prev_->next_ : head_) = w->next_;
    (w->next_ != nullptr ? w->next_->prev_ : tail_) = w->prev_;
    w->linked_ = false;
  }
  Waiter* pop_front() {
    Waiter* w = head_;
    if (w != nullptr) {
      head_ = w->next_;
      (head_ != nullptr ? head_->prev_ : tail_) = nullptr;
      w->linked_ = false;
    }
    return w;
  }

 private:
  Waiter* head_ = nullptr;
  Waiter* tail_ = nullptr;
};

}  // namespace flow::detail
