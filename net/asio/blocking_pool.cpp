#include "net/asio/blocking_pool.h"

#include <algorithm>

namespace net {

BlockingPool::BlockingPool(int threads, std::chrono::microseconds spin_for) : spin_for_(spin_for) {
  for (int i = 0; i < std::max(1, threads); ++i)
    threads_.emplace_back([this] { run(); });
}

BlockingPool::~BlockingPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : threads_)
    t.join();
}

void BlockingPool::post(std::function<void()> job) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(std::move(job));
    queued_.fetch_add(1, std::memory_order_release);
    // Threads still looking for work take jobs without a wake-up; wake one for each job beyond
    // them. A looking thread that gives up checks jobs_ under the lock before it sleeps, so no
    // job is stranded.
    const auto looking = static_cast<size_t>(looking_.load(std::memory_order_acquire));
    wake = sleeping_ > 0 && jobs_.size() > looking;
  }
  if (wake) wake_.notify_one();
}

void BlockingPool::run() {
  for (;;) {
    // Look for work awhile before sleeping: the next job often comes right after the last.
    looking_.fetch_add(1, std::memory_order_acq_rel);
    const auto give_up = std::chrono::steady_clock::now() + spin_for_;
    while (queued_.load(std::memory_order_acquire) == 0 &&
           std::chrono::steady_clock::now() < give_up) {
      std::this_thread::yield();
    }
    looking_.fetch_sub(1, std::memory_order_acq_rel);
    std::function<void()> job;
    {
      std::unique_lock lock(mutex_);
      while (jobs_.empty() && !stopping_) {
        ++sleeping_;
        wake_.wait(lock);
        --sleeping_;
      }
      if (jobs_.empty()) return;  // stopping, and everything posted has run
      job = std::move(jobs_.front());
      jobs_.pop_front();
      queued_.fetch_sub(1, std::memory_order_relaxed);
    }
    job();
  }
}

}  // namespace net
