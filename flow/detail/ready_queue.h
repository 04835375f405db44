#pragma once
// ReadyQueue — actors ready to run, one FIFO per priority.
//
// pop() returns the oldest actor of the highest non-empty priority, so the order is exactly
// (priority descending, readiness order ascending): nothing depends on addresses. O(1) push, pop
// and remove (a cancelled actor leaves the queue). Every actor ping-pong goes through push and
// pop, so the links are bare pointers in the actor (no sentinel, no per-list count) and a bitmask
// finds the highest non-empty priority in one instruction.

#include <bit>
#include <cstdint>

#include "flow/detail/actor_base.h"

namespace flow::detail {

class ReadyQueue {
  static_assert(kTaskPriorityCount <= 64);

 public:
  bool empty() const { return nonempty_ == 0; }
  // O(n): for tests and diagnostics only; the hot paths keep no count.
  size_t size() const {
    size_t n = 0;
    for (const Fifo& q : queues_)
      for (const ActorBase* a = q.head; a != nullptr; a = a->ready_next_)
        ++n;
    return n;
  }

  void push(ActorBase* a, TaskPriority p) {
    const int i = static_cast<int>(p);
    Fifo& q = queues_[i];
    a->ready_priority_ = p;
    a->ready_next_ = nullptr;
    a->ready_prev_ = q.tail;
    if (q.tail != nullptr) {
      q.tail->ready_next_ = a;
    } else {
      q.head = a;
      nonempty_ |= uint64_t{1} << i;
    }
    q.tail = a;
  }

  // REQUIRES: !empty().
  ActorBase* pop(TaskPriority* priority) {
    // The highest non-empty priority is nearly always the one popped last: testing for that
    // first (a predicted branch) keeps the bit scan off the path from the queue to the context
    // the caller switches to.
    int i = last_popped_;
    if ((nonempty_ >> i) != 1) {
      i = 63 - std::countl_zero(nonempty_);
      last_popped_ = i;
    }
    Fifo& q = queues_[i];
    ActorBase* a = q.head;
    q.head = a->ready_next_;
    if (q.head != nullptr) {
      q.head->ready_prev_ = nullptr;
    } else {
      q.tail = nullptr;
      nonempty_ &= ~(uint64_t{1} << i);
    }
    *priority = static_cast<TaskPriority>(i);
    return a;
  }

  // REQUIRES: a is in this queue.
  void remove(ActorBase* a) {
    Fifo& q = queues_[static_cast<int>(a->ready_priority_)];
    (a->ready_prev_ != nullptr ? a->ready_prev_->ready_next_ : q.head) = a->ready_next_;
    (a->ready_next_ != nullptr ? a->ready_next_->ready_prev_ : q.tail) = a->ready_prev_;
    if (q.head == nullptr) nonempty_ &= ~(uint64_t{1} << static_cast<int>(a->ready_priority_));
    a->ready_prev_ = a->ready_next_ = nullptr;
  }

 private:
  struct Fifo {
    ActorBase* head = nullptr;
    ActorBase* tail = nullptr;
  };
  Fifo queues_[kTaskPriorityCount];
  uint64_t nonempty_ = 0;
  int last_popped_ = 0;  // the priority pop() last found highest
};

}  // namespace flow::detail
