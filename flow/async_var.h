#pragma once
// AsyncVar<T> — a value that actors can watch for changes.
//
// set() stores a new value and, if it differs from the old one, wakes everyone waiting on
// on_change(). on_change() is ready on the first change after it was called.

#include <utility>

#include "flow/future.h"

namespace flow {

template <class T>
class AsyncVar {
 public:
  AsyncVar() : value_() {}
  explicit AsyncVar(T v) : value_(std::move(v)) {}

  const T& get() const { return value_; }
  Future<Void> on_change() const { return change_.get_future(); }

  void set(T v) {
    if (v == value_) return;
    set_unconditionally(std::move(v));
  }
  // Wakes the watchers even when the value is equal.
  void set_unconditionally(T v) {
    value_ = std::move(v);
    // Replace the promise first, so that a woken watcher waiting again sees the next change.
    Promise<Void> fired = std::exchange(change_, Promise<Void>());
    fired.send();
  }

 private:
  T value_;
  Promise<Void> change_;
};

}  // namespace flow
