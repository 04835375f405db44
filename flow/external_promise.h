#pragma once
// ExternalPromise<T> — the sending end of a Future<T>, built into an object of another layer.
//
// net's pending reply is the model: one heap object per request that is at once the state the
// caller's Future<T> reads and the receiver the transport hands the reply to, with no actor and
// no second allocation. The object holds one promise reference of its own from construction. It
// sets a value or an error at most once (send, send_error) and gives up its reference with
// release(), which frees it once no future remains. If the last future goes away first,
// on_future_dropped() tells the object that nobody wants the value any more (it usually stops
// waiting and calls release()).
//
// Single-threaded, like every flow object. A subclass is made with `new` and never deleted
// directly: release() and the last future free it.

#include <utility>

#include "flow/assert.h"
#include "flow/error.h"
#include "flow/future.h"

namespace flow {

template <class T>
class ExternalPromise : private detail::SAV<T> {
 public:
  ExternalPromise(const ExternalPromise&) = delete;
  ExternalPromise& operator=(const ExternalPromise&) = delete;
  // Made with `new`, from flow's small-object allocator like every future state.
  using detail::SAV<T>::operator new;
  using detail::SAV<T>::operator delete;

  // The future of this state. REQUIRES: not released (the caller holds the object alive).
  Future<T> get_future() {
    ASSERT(!released_);
    this->add_future_ref();
    return Future<T>::adopt(this);
  }

  bool is_set() const { return detail::SAV<T>::is_set(); }
  bool released() const { return released_; }

  // Sets the value; waiters run. REQUIRES: !is_set(), not released.
  template <class U>
  void send(U&& v) {
    ASSERT(!released_);
    this->set_value(std::forward<U>(v));
  }
  // Sets the error; waiters run. REQUIRES: !is_set(), not released.
  void send_error(Error e) {
    ASSERT(!released_);
    this->set_error(e);
  }
  // Gives up this object's promise reference: if it is still unset, waiters get broken_promise.
  // Frees the object now if no future remains. REQUIRES: not released.
  void release() {
    ASSERT_MSG(!released_, "an external promise released twice");
    released_ = true;
    this->del_promise_ref();  // May destroy this.
  }

 protected:
  ExternalPromise() : detail::SAV<T>(0, 1) { this->custom_lifetime_ = true; }
  ~ExternalPromise() override = default;

  // The last future went away while this object still holds its reference. May release().
  virtual void on_future_dropped() = 0;

 private:
  void on_last_future_dropped() final { on_future_dropped(); }
  void destroy() final { delete this; }

  bool released_ = false;
};

}  // namespace flow
