#pragma once
// ErrorOr<T> — a value or a flow::Error, for synchronous code (codecs, parsers) that must not
// throw.

#include <utility>
#include <variant>

#include "flow/assert.h"
#include "flow/error.h"

namespace flow {

template <class T>
class [[nodiscard]] ErrorOr {
 public:
  ErrorOr(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design, like std::optional
  ErrorOr(Error error) : v_(error) {}         // NOLINT

  bool ok() const { return v_.index() == 0; }
  bool is_error() const { return !ok(); }

  // REQUIRES: ok().
  T& get() & {
    ASSERT(ok());
    return std::get<0>(v_);
  }
  const T& get() const& {
    ASSERT(ok());
    return std::get<0>(v_);
  }
  T&& get() && {
    ASSERT(ok());
    return std::get<0>(std::move(v_));
  }
  // REQUIRES: is_error().
  Error error() const {
    ASSERT(is_error());
    return std::get<1>(v_);
  }
  // The value, or throws the error.
  T& value_or_throw() & {
    if (is_error()) throw std::get<1>(v_);
    return std::get<0>(v_);
  }

 private:
  std::variant<T, Error> v_;
};

}  // namespace flow
