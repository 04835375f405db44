#pragma once
// FifoLock — mutual exclusion between actors, granted in the order asked.
//
// For state that must not be touched by a second actor while the first is suspended in the middle
// of using it (a SQLite connection waiting on the disk, say). Not reentrant.

#include <deque>

#include "flow/future.h"

namespace flow {

class FifoLock {
 public:
  class Guard {
   public:
    explicit Guard(FifoLock& lock) : lock_(&lock) {}
    Guard(Guard&& o) noexcept : lock_(std::exchange(o.lock_, nullptr)) {}
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;
    Guard& operator=(Guard&&) = delete;
    ~Guard() {
      if (lock_) lock_->release();
    }

   private:
    FifoLock* lock_;
  };

  // Returns once this actor holds the lock; the guard releases it. May suspend.
  [[nodiscard]] Guard take() {
    if (!held_) {
      held_ = true;
      return Guard(*this);
    }
    Promise<Void> turn;
    Future<Void> granted = turn.get_future();
    waiters_.push_back(std::move(turn));
    try {
      wait(granted);
    } catch (...) {
      // Cancelled: if the lock was already handed over, pass it on.
      if (granted.is_ready() && !granted.is_error()) release();
      throw;
    }
    return Guard(*this);
  }

  bool is_held() const { return held_; }

 private:
  // Hands the lock to the first waiter still waiting, or frees it.
  void release() {
    while (!waiters_.empty()) {
      Promise<Void> next = std::move(waiters_.front());
      waiters_.pop_front();
      if (next.future_count() > 0) {
        next.send();
        return;
      }
    }
    held_ = false;
  }

  bool held_ = false;
  std::deque<Promise<Void>> waiters_;
};

}  // namespace flow
