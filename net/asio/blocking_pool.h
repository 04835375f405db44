#pragma once
// BlockingPool — a few threads that run blocking calls (file I/O) for the real world.
//
// Like asio::thread_pool, with one difference that matters for a log: a thread that finishes a
// job keeps looking for the next one for a short while (spin_for) before it sleeps. A log commits
// in a loop — hand a write-and-sync to the pool, get the result back, hand over the next — and the
// next job comes a few microseconds after the last one ended: a thread still awake takes it
// without the futex wake-up a sleeping one needs, which on a virtual machine costs about as much
// as a tenth of an fdatasync. The spinning is bounded, so an idle pool sleeps.
//
// Jobs run in the order posted when one thread runs them; with more threads, any order. The
// destructor runs every job already posted, then joins the threads.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace net {

class BlockingPool {
 public:
  explicit BlockingPool(int threads,
                        std::chrono::microseconds spin_for = std::chrono::microseconds(50));
  ~BlockingPool();
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  // Runs `job` on one of the threads. Thread-safe.
  void post(std::function<void()> job);

 private:
  void run();

  const std::chrono::microseconds spin_for_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;  // guarded by mutex_
  std::atomic<size_t> queued_{0};           // jobs_.size(), readable without the lock
  std::atomic<int> looking_{0};             // threads between jobs, not yet asleep
  int sleeping_ = 0;                        // threads waiting on wake_; guarded by mutex_
  bool stopping_ = false;                   // guarded by mutex_
  std::vector<std::thread> threads_;
};

}  // namespace net
