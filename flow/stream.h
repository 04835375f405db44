#pragma once
// PromiseStream<T> / FutureStream<T> — an ordered queue of values between actors.
//
// Any number of senders (PromiseStream copies) and one logical receiver (FutureStream copies share
// one queue). Values arrive in send order; wait_next() takes the next one, parking while the queue
// is empty. A terminal error (send_error, e.g. end_of_stream) is delivered after every value sent
// before it. When every PromiseStream is gone, the receiver gets broken_promise after the queued
// values. Values sent when no FutureStream exists are dropped.
//
// Bound: the queue asserts it never holds more than `queue_max` values (default 1,000,000): a
// producer that outruns its consumer is a bug to find, not memory to exhaust.

#include <deque>
#include <optional>
#include <utility>

#include "flow/assert.h"
#include "flow/detail/fast_alloc.h"
#include "flow/future.h"

namespace flow {

namespace detail {

template <class T>
class StreamQueue : public FastAllocated {
 public:
  explicit StreamQueue(size_t queue_max) : queue_max_(queue_max) {}
  ~StreamQueue() { ASSERT(waiters_.empty()); }

  void add_promise() { ++promises_; }
  void del_promise() {
    if (--promises_ == 0 && !error_) close_with(Error(ErrorCode::broken_promise));
    maybe_delete();
  }
  void add_future() { ++futures_; }
  void del_future() {
    --futures_;
    maybe_delete();
  }

  template <class U>
  void send(U&& v) {
    ASSERT_MSG(!error_, "send on a stream already ended with {}", error_->name());
    if (futures_ == 0) return;
    ASSERT_MSG(queue_.size() < queue_max_, "stream queue exceeds its bound of {}", queue_max_);
    queue_.push_back(std::forward<U>(v));
    fire();
  }
  void send_error(Error e) {
    ASSERT_MSG(!error_, "stream ended twice ({} then {})", error_->name(), e.name());
    close_with(e);
  }

  bool is_ready() const { return !queue_.empty() || error_.has_value(); }
  size_t size() const { return queue_.size(); }
  // REQUIRES: is_ready(). The next value, or throws the terminal error.
  T pop() {
    if (queue_.empty()) throw *error_;
    T v = std::move(queue_.front());
    queue_.pop_front();
    return v;
  }
  void add_waiter(Waiter* w) { waiters_.push_back(w); }
  void remove_waiter(Waiter* w) { waiters_.remove(w); }

 private:
  void close_with(Error e) {
    error_ = e;
    fire();
  }
  void fire() {
    while (Waiter* w = waiters_.pop_front())
      w->fire();
  }
  void maybe_delete() {
    if (promises_ == 0 && futures_ == 0) delete this;
  }

  size_t queue_max_;
  std::deque<T> queue_;
  std::optional<Error> error_;
  int32_t promises_ = 0;
  int32_t futures_ = 0;
  WaiterList waiters_;
};

// Parks the current actor until `ready()` holds; see wait_until_set. May suspend.
void wait_until_stream_ready(void* queue, bool (*ready)(void*), void (*add_waiter)(void*, Waiter*),
                             void (*remove_waiter)(void*, Waiter*));

}  // namespace detail

template <class T>
class PromiseStream;

template <class T>
class FutureStream {
 public:
  FutureStream(const FutureStream& o) : q_(o.q_) { q_->add_future(); }
  FutureStream& operator=(const FutureStream& o) {
    o.q_->add_future();
    q_->del_future();
    q_ = o.q_;
    return *this;
  }
  ~FutureStream() { q_->del_future(); }

  // Whether wait_next() would return (or throw) without parking.
  bool is_ready() const { return q_->is_ready(); }
  size_t size() const { return q_->size(); }
  detail::StreamQueue<T>* test_queue() const { return q_; }

 private:
  friend class PromiseStream<T>;
  explicit FutureStream(detail::StreamQueue<T>* q) : q_(q) { q_->add_future(); }
  detail::StreamQueue<T>* q_;
};

template <class T>
class PromiseStream {
 public:
  explicit PromiseStream(size_t queue_max = 1'000'000) : q_(new detail::StreamQueue<T>(queue_max)) {
    q_->add_promise();
  }
  PromiseStream(const PromiseStream& o) : q_(o.q_) { q_->add_promise(); }
  PromiseStream& operator=(const PromiseStream& o) {
    o.q_->add_promise();
    q_->del_promise();
    q_ = o.q_;
    return *this;
  }
  ~PromiseStream() { q_->del_promise(); }

  FutureStream<T> get_future() const { return FutureStream<T>(q_); }
  template <class U = T>
  void send(U&& v) const {
    q_->send(std::forward<U>(v));
  }
  void send_error(Error e) const { q_->send_error(e); }
  // Ends the stream: the receiver gets end_of_stream after the queued values.
  void close() const { q_->send_error(Error(ErrorCode::end_of_stream)); }

 private:
  detail::StreamQueue<T>* q_;
};

// The next value of `s`, parking until there is one; throws the stream's terminal error once the
// values before it are taken. REQUIRES: on an actor's fiber. May suspend.
template <class T>
T wait_next(const FutureStream<T>& s) {
  detail::StreamQueue<T>* q = s.test_queue();
  if (!q->is_ready()) {
    const FutureStream<T> hold = s;
    detail::wait_until_stream_ready(
        q, [](void* p) { return static_cast<detail::StreamQueue<T>*>(p)->is_ready(); },
        [](void* p, detail::Waiter* w) { static_cast<detail::StreamQueue<T>*>(p)->add_waiter(w); },
        [](void* p, detail::Waiter* w) {
          static_cast<detail::StreamQueue<T>*>(p)->remove_waiter(w);
        });
  } else {
    detail::check_not_cancelled();
  }
  return q->pop();
}

}  // namespace flow
