#pragma once
// spawn — runs a function as an actor on its own fiber.
//
//   Future<int> f = spawn(compute, 6, 7);   // compute(int, int) runs now, until it first parks
//
// The function may call wait() at any depth. Its return value (or the flow::Error it throws)
// sets the returned future; a void function yields Future<Void>. Arguments are copied (or moved)
// into the actor before it starts, like std::thread's; pass pointers or std::ref for shared state.
//
// Cancellation: when the last Future of an actor's result is dropped before the actor finishes,
// the actor is cancelled at once: its pending wait throws operation_cancelled, destructors run as
// the stack unwinds, and the fiber ends before the drop returns. Catch blocks must rethrow
// operation_cancelled. An actor must not wait in a catch block or a destructor. A cancelled actor's
// result becomes broken_promise, never operation_cancelled: a kill of one process reaches a waiter
// in another as a broken promise, not as a cancellation it would have to rethrow.
//
// Throwing anything but flow::Error out of an actor is a bug: it aborts with the exception's text.

#include <exception>
#include <functional>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "flow/detail/actor_base.h"
#include "flow/future.h"
#include "flow/scheduler.h"

namespace flow {

namespace detail {

[[noreturn]] void foreign_exception_in_actor(const char* what);

template <class R>
using ActorValue = std::conditional_t<std::is_void_v<R>, Void, R>;

template <class T, class Fn, class... Args>
class Actor final : public SAV<T>, public ActorBase {
 public:
  template <class F, class... A>
  explicit Actor(F&& fn, A&&... args)
      // One future for the caller, one promise held by the running actor.
      : SAV<T>(1, 1), call_(std::forward<F>(fn), std::forward<A>(args)...) {
    this->custom_lifetime_ = true;
  }

  void run_body() override {
    std::optional<Error> error;
    try {
      auto call = std::move(call_);
      if constexpr (std::is_void_v<std::invoke_result_t<Fn, Args...>>) {
        std::apply([](auto&& f, auto&&... a) { std::invoke(std::move(f), std::move(a)...); },
                   std::move(call));
        this->set_value(Void{});
      } else {
        this->set_value(std::apply(
            [](auto&& f, auto&&... a) { return std::invoke(std::move(f), std::move(a)...); },
            std::move(call)));
      }
    } catch (const Error& e) {
      error = e;
    } catch (const std::exception& e) {
      foreign_exception_in_actor(e.what());
    } catch (...) {
      foreign_exception_in_actor("(not a std::exception)");
    }
    // operation_cancelled means "you are cancelled" and is for this actor's own stack alone. A
    // waiter on its result lives on (an actor whose last future was dropped has none; one killed
    // with its process may have waiters in live processes): to them this actor is a promise that
    // will never be kept, as if its promise had been dropped.
    if (error && error->code() == ErrorCode::operation_cancelled && this->cancelled()) {
      error = Error(ErrorCode::broken_promise);
    }
    // Outside the catch block: setting a promise may cancel other actors.
    if (error) this->set_error(*error);
  }

  void fiber_released() override { this->del_promise_ref(); }

 protected:
  void on_last_future_dropped() override { scheduler().cancel(this); }
  void destroy() override { delete this; }

 private:
  ~Actor() override = default;

  std::tuple<Fn, Args...> call_;
};

}  // namespace detail

// Runs fn(args...) as an actor of `process` (the simulator boots processes this way). May
// suspend the caller: the new actor runs first, until it parks.
template <class Fn, class... Args>
auto spawn_in(Process& process, Fn&& fn, Args&&... args)
    -> Future<detail::ActorValue<std::invoke_result_t<std::decay_t<Fn>, std::decay_t<Args>...>>> {
  using R = std::invoke_result_t<std::decay_t<Fn>, std::decay_t<Args>...>;
  using T = detail::ActorValue<R>;
  using A = detail::Actor<T, std::decay_t<Fn>, std::decay_t<Args>...>;
  auto* actor = new A(std::forward<Fn>(fn), std::forward<Args>(args)...);
  Future<T> result = Future<T>::adopt(actor);
  detail::scheduler().start(actor, process);
  return result;
}

// Runs fn(args...) as an actor of the current process. May suspend the caller (the new actor runs
// first, until it parks).
template <class Fn, class... Args>
auto spawn(Fn&& fn, Args&&... args) {
  return spawn_in(detail::scheduler().current_process(), std::forward<Fn>(fn),
                  std::forward<Args>(args)...);
}

}  // namespace flow
