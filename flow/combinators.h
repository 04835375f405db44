#pragma once
// Timers and combinators: delay, yield, never, wait_any, wait_all, quorum, timeout.
//
// wait_any and yield run inside the calling actor; wait_all, quorum and timeout return futures
// backed by small actors, so dropping their result cancels them and, through them, whatever they
// were waiting on that nobody else holds.

#include <optional>
#include <span>
#include <vector>

#include "flow/actor.h"
#include "flow/future.h"
#include "flow/scheduler.h"
#include "flow/task_priority.h"
#include "flow/time.h"

namespace flow {

// World time now.
inline Time now() {
  return detail::scheduler().now();
}

// Ready at world time `when`; the waiter then runs at priority p.
inline Future<Void> delay_until(Time when, TaskPriority p = TaskPriority::DefaultDelay) {
  return detail::scheduler().timer(when, p);
}
// Ready after `d` of world time; the waiter then runs at priority p.
inline Future<Void> delay(Duration d, TaskPriority p = TaskPriority::DefaultDelay) {
  return delay_until(now() + d, p);
}

// Lets every other actor ready at priority p or above run first, then continues at priority p.
// REQUIRES: on an actor. May suspend.
inline void yield(TaskPriority p = TaskPriority::DefaultYield) {
  detail::scheduler().yield_current(p);
}

namespace detail {

template <class T>
class NeverSAV final : public SAV<T> {
 public:
  NeverSAV() : SAV<T>(1, 1) { this->custom_lifetime_ = true; }

 protected:
  void on_last_future_dropped() override { delete this; }
};

size_t wait_any_of(std::span<SAVBase* const> savs);

}  // namespace detail

// A future that is never set (and never broken).
template <class T = Void>
Future<T> never() {
  return Future<T>::adopt(new detail::NeverSAV<T>());
}

// Waits until at least one of the futures is ready (value or error) and returns the index of the
// first ready one in argument order. REQUIRES: on an actor, every future valid. May suspend.
template <class... Fs>
size_t wait_any(const Fs&... futures) {
  detail::SAVBase* savs[] = {futures.test_state()...};
  return detail::wait_any_of(savs);
}
template <class T>
size_t wait_any(const std::vector<Future<T>>& futures) {
  std::vector<detail::SAVBase*> savs;
  savs.reserve(futures.size());
  for (const Future<T>& f : futures)
    savs.push_back(f.test_state());
  return detail::wait_any_of(savs);
}

// Ready when every future is ready. Fails with the error of the first future, in order, that
// fails (as FoundationDB's waitForAll).
template <class T>
Future<Void> wait_all(std::vector<Future<T>> futures) {
  return spawn(
      [](std::vector<Future<T>> fs) {
        for (const Future<T>& f : fs)
          (void)wait(f);
      },
      std::move(futures));
}

// Ready once n of the futures hold values; fails at once with the first error any of them gets.
// REQUIRES: 0 <= n <= futures.size().
template <class T>
Future<Void> quorum(std::vector<Future<T>> futures, size_t n) {
  ASSERT_LE(n, futures.size());
  return spawn(
      [](std::vector<Future<T>> pending, size_t needed) {
        size_t have = 0;
        while (have < needed) {
          const size_t i = wait_any(pending);
          if (pending[i].is_error()) throw pending[i].get_error();
          ++have;
          pending.erase(pending.begin() + static_cast<ptrdiff_t>(i));
        }
      },
      std::move(futures), n);
}

// f's value, or nullopt if `d` passes first. f's error propagates.
template <class T>
Future<std::optional<T>> timeout(Future<T> f, Duration d) {
  return spawn(
      [](Future<T> what, Duration limit) -> std::optional<T> {
        Future<Void> timer = delay(limit);
        if (wait_any(what, timer) == 0) return wait(what);
        return std::nullopt;
      },
      std::move(f), d);
}

// f's value, or timed_out if `d` passes first.
template <class T>
Future<T> timeout_error(Future<T> f, Duration d) {
  return spawn(
      [](Future<T> what, Duration limit) -> T {
        Future<Void> timer = delay(limit);
        if (wait_any(what, timer) == 0) return wait(what);
        throw Error(ErrorCode::timed_out);
      },
      std::move(f), d);
}

}  // namespace flow
