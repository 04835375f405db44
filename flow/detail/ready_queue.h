#pragma once
// ReadyQueue — actors ready to run, one FIFO per priority.
//
// pop() returns the oldest actor of the highest non-empty priority, so the order is exactly
// (priority descending, readiness order ascending): nothing depends on addresses. O(1) push, pop
// and remove (a cancelled actor leaves the queue).

#include <bit>
#include <cstdint>

#include "flow/detail/actor_base.h"

namespace flow::detail {

class ReadyQueue {
  static_assert(kTaskPriorityCount <= 64);

 public:
  bool empty() const { return nonempty_ == 0; }
  size_t size() const { return size_; }

  void push(ActorBase* a, TaskPriority p) {
    const int i = static_cast<int>(p);
    a->ready_priority_ = p;
    queues_[i].push_back(a);
    nonempty_ |= uint64_t{1} << i;
    ++size_;
  }

  // REQUIRES: !empty().
  ActorBase* pop(TaskPriority* priority) {
    const int i = 63 - std::countl_zero(nonempty_);
    ActorBase* a = queues_[i].pop_front();
    if (queues_[i].empty()) nonempty_ &= ~(uint64_t{1} << i);
    --size_;
    *priority = static_cast<TaskPriority>(i);
    return a;
  }

  // REQUIRES: a is in this queue.
  void remove(ActorBase* a) {
    const int i = static_cast<int>(a->ready_priority_);
    queues_[i].remove(a);
    if (queues_[i].empty()) nonempty_ &= ~(uint64_t{1} << i);
    --size_;
  }

 private:
  friend class Scheduler;
  IntrusiveList<ActorBase, ReadyTag> queues_[kTaskPriorityCount];
  uint64_t nonempty_ = 0;
  size_t size_ = 0;
};

}  // namespace flow::detail
