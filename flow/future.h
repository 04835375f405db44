#pragma once
// Future<T> and Promise<T> — set-once values shared between actors.
//
// Implementation overview. A Promise and its Futures share one heap-allocated state (SAV<T>,
// "single assignment variable") holding an empty slot, a value, or an Error, plus two reference
// counts, one for Promises and one for Futures, and an intrusive list of Waiters. Setting the
// state fires every waiter in the order they registered; firing only puts work in the scheduler's
// ready queue (or updates a small bookkeeping object), it never runs actor code, so setting a
// promise never switches fibers. When the last Promise of an unset state goes away, its waiters
// receive broken_promise. When the last Future of an actor's result goes away, the actor is
// cancelled (see flow/actor.h).
//
// wait(future) returns the value at once when the future is ready; otherwise it parks the calling
// actor's fiber until the future is set. It must be called on an actor's fiber.
//
// Single-threaded: every object here belongs to the thread that runs the flow scheduler.

#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>

#include "flow/assert.h"
#include "flow/detail/fast_alloc.h"
#include "flow/detail/scheduler_core.h"
#include "flow/detail/waiter.h"
#include "flow/error.h"

namespace flow {

// The value type of futures that only signal.
struct Void {
  friend constexpr bool operator==(Void, Void) { return true; }
};

namespace detail {

class SAVBase {
 public:
  SAVBase(int32_t futures, int32_t promises) : futures_(futures), promises_(promises) {}
  SAVBase(const SAVBase&) = delete;
  SAVBase& operator=(const SAVBase&) = delete;

  bool is_set() const { return state_ != State::kEmpty; }
  bool is_error() const { return state_ == State::kError; }
  // REQUIRES: is_error().
  Error error() const {
    ASSERT(is_error());
    return Error(error_);
  }

  int32_t future_count() const { return futures_; }
  int32_t promise_count() const { return promises_; }

  void add_future_ref() { ++futures_; }
  void del_future_ref() {
    ASSERT_GT(futures_, 0);
    if (--futures_ == 0) last_future_dropped();  // May destroy this.
  }
  void add_promise_ref() { ++promises_; }
  void del_promise_ref() {
    ASSERT_GT(promises_, 0);
    if (promises_ == 1 && !is_set()) {
      // Waiters learn that no value will come; they hold futures, so this state survives.
      set_error(Error(ErrorCode::broken_promise));
    }
    if (--promises_ == 0 && futures_ == 0) destroy();
  }

  // Registers w to fire when this state is set. REQUIRES: !is_set(), w not registered.
  void add_waiter(Waiter* w) {
    ASSERT(!is_set());
    waiters_.push_back(w);
  }
  // add_waiter for the current actor in wait(), which has just seen this state unset, and whose
  // own waiter is on no list while it runs: the checks would repeat on every actor hop.
  void add_current_actor(ActorBase* self) { waiters_.push_back_unchecked(self); }
  // REQUIRES: w is registered here and has not fired.
  void remove_waiter(Waiter* w) { waiters_.remove(w); }

  // REQUIRES: !is_set().
  void set_error(Error e) {
    ASSERT_MSG(!is_set(), "promise set twice (error {})", e.name());
    error_ = e.code();
    state_ = State::kError;
    fire_waiters();
  }

 protected:
  enum class State : uint8_t { kEmpty, kValue, kError };

  virtual ~SAVBase() { ASSERT(waiters_.empty()); }
  // Frees this state; called when both counts reach zero.
  virtual void destroy() = 0;
  // Called when the last Future goes away while Promises remain: actors cancel themselves here.
  virtual void on_last_future_dropped() {}

  void last_future_dropped() {
    if (promises_ == 0) {
      destroy();
    } else if (custom_lifetime_) {
      on_last_future_dropped();  // May destroy this.
    }
  }

  // The last promise of an unset state is going away.
  [[gnu::noinline]] void break_promise() { set_error(Error(ErrorCode::broken_promise)); }

  void fire_waiters() {
    while (Waiter* w = waiters_.pop_front())
      w->fire();
  }

  int32_t futures_;
  int32_t promises_;
  State state_ = State::kEmpty;
  // Set by subclasses that override destroy() or on_last_future_dropped() (actors, never()):
  // plain states skip those virtual calls.
  bool custom_lifetime_ = false;
  ErrorCode error_ = ErrorCode::success;
  WaiterList waiters_;
};

template <class T>
class SAV : public SAVBase, public FastAllocated {
 public:
  SAV(int32_t futures, int32_t promises) : SAVBase(futures, promises) {}

  template <class U>
  void set_value(U&& v) {
    ASSERT_MSG(!is_set(), "promise set twice");
    new (&value_) T(std::forward<U>(v));
    state_ = State::kValue;
    fire_waiters();
  }
  // REQUIRES: is_set() && !is_error().
  const T& value() const {
    ASSERT(state_ == State::kValue);
    return value_;
  }
  T& value() {
    ASSERT(state_ == State::kValue);
    return value_;
  }

  // REQUIRES (not checked: wait() has just seen it): is_set(). The value, or throws the error.
  const T& value_or_throw() const {
    if (state_ == State::kError) throw Error(error_);
    return value_;
  }

  // The typed twins of SAVBase's: a plain state (not an actor) is freed without a virtual call,
  // since a ping-pong between actors frees one per hop.
  void del_future_ref() {
    ASSERT_GT(futures_, 0);
    if (--futures_ == 0) nobody_wants_value();
  }
  STRATA_ALWAYS_INLINE void del_promise_ref() {
    ASSERT_GT(promises_, 0);
    if (promises_ == 1 && !is_set()) [[unlikely]]
      break_promise();
    if (--promises_ == 0 && futures_ == 0) destroy_now();
  }

 protected:
  ~SAV() override {
    if (state_ == State::kValue) value_.~T();
  }
  void destroy() override { delete this; }

 private:
  // The last future has gone: free the state, or (an actor) cancel it.
  void nobody_wants_value() {
    if (promises_ == 0) {
      destroy_now();
    } else if (custom_lifetime_) {
      on_last_future_dropped();  // May destroy this.
    }
  }
  void destroy_now() {
    if (custom_lifetime_) {
      destroy();
    } else {
      this->SAV::~SAV();
      fast_free(this, sizeof(SAV));
    }
  }

  union {
    T value_;
  };
};

// Parks the current actor until `sav` is set; throws operation_cancelled if the actor is
// cancelled meanwhile. Inline, so that the fiber switch happens in the waiting actor's own frame
// (see flow/detail/scheduler_core.h). REQUIRES: on an actor's fiber. May suspend.
STRATA_ALWAYS_INLINE void wait_until_set(SAVBase* sav) {
  SchedulerCore* const s = g_scheduler_core;
  ActorBase* const self = s != nullptr ? s->current_actor() : nullptr;
  ASSERT_MSG(self != nullptr, "wait() called outside an actor (or with no flow::Runtime)");
  if (self->cancelled()) throw_operation_cancelled();
  sav->add_current_actor(self);
  s->park();
  if (self->Waiter::linked()) sav->remove_waiter(self);
  if (self->cancelled()) throw_operation_cancelled();
}

// Throws operation_cancelled if the current actor has been cancelled (cheap).
inline void check_not_cancelled() {
  const SchedulerCore* const s = g_scheduler_core;
  const ActorBase* const self = s != nullptr ? s->current_actor() : nullptr;
  if (self != nullptr && self->cancelled()) throw_operation_cancelled();
}

}  // namespace detail

template <class T>
class Promise;

template <class T>
class [[nodiscard]] Future {
 public:
  using ValueType = T;

  // An invalid future: it must be assigned before use.
  Future() = default;
  // A future that is ready at once.
  Future(const T& v) : sav_(new detail::SAV<T>(1, 0)) { sav_->set_value(v); }        // NOLINT
  Future(T&& v) : sav_(new detail::SAV<T>(1, 0)) { sav_->set_value(std::move(v)); }  // NOLINT
  Future(Error e) : sav_(new detail::SAV<T>(1, 0)) { sav_->set_error(e); }           // NOLINT

  Future(const Future& o) : sav_(o.sav_) {
    if (sav_) sav_->add_future_ref();
  }
  Future(Future&& o) noexcept : sav_(std::exchange(o.sav_, nullptr)) {}
  Future& operator=(const Future& o) {
    if (o.sav_) o.sav_->add_future_ref();
    release();
    sav_ = o.sav_;
    return *this;
  }
  Future& operator=(Future&& o) noexcept {
    if (this != &o) {
      release();
      sav_ = std::exchange(o.sav_, nullptr);
    }
    return *this;
  }
  ~Future() { release(); }

  bool is_valid() const { return sav_ != nullptr; }
  bool is_ready() const { return sav_->is_set(); }
  bool is_error() const { return sav_->is_error(); }
  // REQUIRES: is_ready() && !is_error().
  const T& get() const { return sav_->value(); }
  // REQUIRES: is_error().
  Error get_error() const { return sav_->error(); }

  // Drops this reference; an actor whose last future this was is cancelled.
  void cancel() {
    release();
    sav_ = nullptr;
  }

  detail::SAV<T>* test_state() const { return sav_; }

 private:
  friend class Promise<T>;
  template <class U>
  friend class Future;
  explicit Future(detail::SAV<T>* sav) : sav_(sav) {}  // Adopts one future reference.

  void release() {
    if (sav_) sav_->del_future_ref();
  }

  detail::SAV<T>* sav_ = nullptr;

 public:
  // For flow's own combinators and actors: adopts a state that already counts this reference.
  static Future adopt(detail::SAV<T>* sav) { return Future(sav); }
};

template <class T>
class Promise {
 public:
  Promise() : sav_(new detail::SAV<T>(0, 1)) {}
  Promise(const Promise& o) : sav_(o.sav_) { sav_->add_promise_ref(); }
  Promise(Promise&& o) noexcept : sav_(std::exchange(o.sav_, nullptr)) {}
  Promise& operator=(const Promise& o) {
    o.sav_->add_promise_ref();
    release();
    sav_ = o.sav_;
    return *this;
  }
  Promise& operator=(Promise&& o) noexcept {
    if (this != &o) {
      release();
      sav_ = std::exchange(o.sav_, nullptr);
    }
    return *this;
  }
  ~Promise() { release(); }

  Future<T> get_future() const {
    sav_->add_future_ref();
    return Future<T>(sav_);
  }

  // REQUIRES: can_be_set(). Wakes every waiter; never switches fibers.
  template <class U = T>
  void send(U&& v) const {
    sav_->set_value(std::forward<U>(v));
  }
  void send() const requires std::is_same_v<T, Void> { sav_->set_value(Void{}); }
  // REQUIRES: can_be_set().
  void send_error(Error e) const { sav_->set_error(e); }

  bool is_valid() const { return sav_ != nullptr; }
  bool is_set() const { return sav_->is_set(); }
  bool can_be_set() const { return !sav_->is_set(); }
  // Whether anyone still holds a future of this promise (if not, sending is pointless).
  int32_t future_count() const { return sav_->future_count(); }

 private:
  void release() {
    if (sav_) sav_->del_promise_ref();
  }
  detail::SAV<T>* sav_;
};

// The value of `f`, waiting for it if needed; throws its error. The value is copied out, so it
// stays valid after the future is gone; whoever owns `f` may even drop it while this waits.
// REQUIRES: on an actor's fiber, f.is_valid(). May suspend.
template <class T>
STRATA_ALWAYS_INLINE T wait(const Future<T>& f) {
  detail::SAV<T>* sav = f.test_state();
  ASSERT_MSG(sav != nullptr, "wait on an invalid future");
  if (sav->is_set()) {
    detail::check_not_cancelled();
    return sav->value_or_throw();
  }
  // A reference of our own, held until the value is copied out (the return value is made before
  // `hold` goes): whoever owns `f` may drop it while we are parked.
  const Future<T> hold = f;
  detail::wait_until_set(sav);
  return sav->value_or_throw();
}

// As above, for a future the caller gives up (a temporary, or std::move(f)): when no other future
// shares the state, the value is moved out rather than copied. `f` is left invalid.
template <class T>
STRATA_ALWAYS_INLINE T wait(Future<T>&& f) {
  const Future<T> mine = std::move(f);  // ours alone now: nobody else can drop it
  detail::SAV<T>* sav = mine.test_state();
  ASSERT_MSG(sav != nullptr, "wait on an invalid future");
  if (sav->is_set()) {
    detail::check_not_cancelled();
  } else {
    detail::wait_until_set(sav);
  }
  if (sav->is_error()) throw sav->error();
  if (sav->future_count() == 1) return std::move(sav->value());
  return sav->value();
}

}  // namespace flow
