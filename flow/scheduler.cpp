#include "flow/scheduler.h"

#include <algorithm>
#include <exception>
#include <span>

#include "flow/error.h"

namespace flow::detail {
namespace {

// The one live scheduler; set for the lifetime of a flow::Runtime.
Scheduler* g_scheduler = nullptr;

struct FiberWaiter : Waiter {
  explicit FiberWaiter(ActorBase* a) : Waiter(&fire_fn), actor(a) {}
  static void fire_fn(Waiter* w) { g_scheduler->wake(static_cast<FiberWaiter*>(w)->actor); }
  ActorBase* actor;
};

[[noreturn]] void throw_cancelled() {
  throw Error(ErrorCode::operation_cancelled);
}

}  // namespace

Scheduler& scheduler() {
  ASSERT_MSG(g_scheduler != nullptr, "no flow::Runtime is active");
  return *g_scheduler;
}

Scheduler::Scheduler(IReactor& reactor, Process& main_process, Options options)
    : reactor_(reactor),
      options_(options),
      stacks_(options.fiber_stack_bytes, options.fiber_stack_pool_max),
      current_process_(&main_process),
      tasks_until_poll_(options.reactor_poll_interval) {
  ASSERT_MSG(g_scheduler == nullptr, "only one flow::Runtime may be active at a time");
  ASSERT_GT(options_.reactor_poll_interval, 0);
  g_scheduler = this;
}

Scheduler::~Scheduler() {
  ASSERT_EQ(all_.size(), 0u);
  // Dropping the timers' promises may wake waiters; nobody is left to run them.
  timers_.clear();
  while (!ready_.empty()) {
    TaskPriority p;
    (void)ready_.pop(&p);
  }
  g_scheduler = nullptr;
}

void Scheduler::fiber_entry(Transfer t) {
  auto* note = static_cast<SwitchNote*>(t.data);
  ActorBase* const self = g_scheduler->current_actor_;
  ASSERT(note->from == nullptr);  // an actor's first run always comes from resume()
  arrived(nullptr, &self->resumer_);
  self->resumer_.ctx = t.fctx;
  self->run_body();
  // Leave for good: whoever we switch to releases this stack once we are off it.
  SwitchNote last{self, true};
  Scheduler& s = scheduler();  // asserts that a Runtime is active
  (void)s.leave(self, s.handoff_target(self), &last, true);
  UNREACHABLE();
}

void Scheduler::start(ActorBase* a, Process& process) {
  a->process_ = &process;
  process.actors_.push_back(a);
  all_.push_back(a);
  a->stack_ = stacks_.acquire();
  a->self_.ctx = make_context(a->stack_, &Scheduler::fiber_entry);
  a->self_.stack_bottom = a->stack_.bottom();
  a->self_.stack_bytes = a->stack_.usable_bytes();
  resume(a, false);
}

void Scheduler::resume(ActorBase* a, bool by_loop) {
  ActorBase* const prev_actor = current_actor_;
  Process* const prev_process = current_process_;
  const TaskPriority prev_priority = current_priority_;
  current_actor_ = a;
  current_process_ = a->process_;
  a->state_ = ActorBase::State::kRunning;
  a->resumed_by_loop_ = by_loop;

  void* fake_stack = nullptr;
  SwitchNote note{nullptr, false};
  const Transfer t = switch_to(a->self_, &note, &fake_stack, false);
  arrived(fake_stack, nullptr);

  // Back from `a`, or (after handoffs) from another actor the loop would otherwise have run.
  const SwitchNote back = *static_cast<SwitchNote*>(t.data);
  current_actor_ = prev_actor;
  current_process_ = prev_process;
  current_priority_ = prev_priority;
  if (back.finished) {
    finished(back.from);  // May free it.
  } else {
    back.from->self_.ctx = t.fctx;
  }
}

void Scheduler::finished(ActorBase* a) {
  a->state_ = ActorBase::State::kDone;
  a->process_->actors_.remove(a);
  all_.remove(a);
  stacks_.release(a->stack_);
  a->stack_ = Stack{};
  a->fiber_released();
}

ActorBase* Scheduler::handoff_target(ActorBase* self) {
  if (!self->resumed_by_loop_ || ready_.empty() || tasks_until_poll_ <= 1) return nullptr;
  if (!timers_.empty() && timers_.front().when <= reactor_.now()) return nullptr;
  TaskPriority p;
  ActorBase* next = ready_.pop(&p);
  current_priority_ = p;
  ++tasks_run_;
  --tasks_until_poll_;
  return next;
}

Transfer Scheduler::leave(ActorBase* self, ActorBase* next, SwitchNote* note, bool forever) {
  void** fake_stack = forever ? nullptr : &self->fake_stack_;
  if (next == nullptr) return switch_to(self->resumer_, note, fake_stack, forever);
  next->resumer_ = self->resumer_;
  next->resumed_by_loop_ = true;
  next->state_ = ActorBase::State::kRunning;
  current_actor_ = next;
  current_process_ = next->process_;
  return switch_to(next->self_, note, fake_stack, forever);
}

void Scheduler::arrive(ActorBase* self, Transfer t) {
  const SwitchNote note = *static_cast<SwitchNote*>(t.data);
  if (note.from == nullptr) {
    // Resumed by resume(): the context we came from is our resumer now.
    arrived(self->fake_stack_, &self->resumer_);
    self->resumer_.ctx = t.fctx;
  } else {
    // Handed the thread by another actor, which set our resumer before switching.
    arrived(self->fake_stack_, nullptr);
    if (note.finished) {
      finished(note.from);
    } else {
      note.from->self_.ctx = t.fctx;
    }
  }
}

void Scheduler::suspend_current() {
  ActorBase* const self = current_actor_;
#if defined(STRATA_FIBER_GUARD_PAGES)
  // Parking inside a catch block or a destructor would interleave two fibers' exception state.
  ASSERT_MSG(std::uncaught_exceptions() == 0 && !std::current_exception(),
             "an actor may not wait inside a catch block or a destructor");
#endif
  ActorBase* const next = handoff_target(self);
  if (next == self) {
    // A yield with nothing else to run first: carry on without switching.
    self->state_ = ActorBase::State::kRunning;
    return;
  }
  SwitchNote note{self, false};
  const Transfer t = leave(self, next, &note, false);
  arrive(self, t);
}

void Scheduler::park() {
  ActorBase* const self = current_actor_;
  ASSERT_MSG(self != nullptr, "wait() called outside an actor");
  self->state_ = ActorBase::State::kParked;
  suspend_current();
}

void Scheduler::wake(ActorBase* a) {
  if (a->state_ != ActorBase::State::kParked) return;
  a->state_ = ActorBase::State::kReady;
  ready_.push(a, current_priority_);
}

void Scheduler::yield_current(TaskPriority p) {
  ActorBase* const self = current_actor_;
  ASSERT_MSG(self != nullptr, "yield() called outside an actor");
  if (self->cancelled_) throw_cancelled();
  self->state_ = ActorBase::State::kReady;
  ready_.push(self, p);
  suspend_current();
  if (self->cancelled_) throw_cancelled();
}

void Scheduler::cancel(ActorBase* a) {
  if (a->state_ == ActorBase::State::kDone || a->cancelled_) return;
  a->cancelled_ = true;
  switch (a->state_) {
    case ActorBase::State::kReady:
      ready_.remove(a);
      resume(a, false);
      break;
    case ActorBase::State::kParked:
      resume(a, false);
      break;
    case ActorBase::State::kRunning:
    case ActorBase::State::kDone:
      break;
  }
}

Future<Void> Scheduler::timer(Time when, TaskPriority p) {
  Promise<Void> promise;
  Future<Void> f = promise.get_future();
  timers_.push_back(TimerEntry{when, p, timer_sequence_++, std::move(promise)});
  std::push_heap(timers_.begin(), timers_.end(), &Scheduler::fires_later);
  return f;
}

void Scheduler::fire_due_timers() {
  if (timers_.empty()) return;
  const Time t = reactor_.now();
  while (!timers_.empty() && timers_.front().when <= t) {
    std::pop_heap(timers_.begin(), timers_.end(), &Scheduler::fires_later);
    TimerEntry e = std::move(timers_.back());
    timers_.pop_back();
    current_priority_ = e.priority;
    if (e.promise.future_count() > 0) e.promise.send();
  }
}

bool Scheduler::run_one() {
  ASSERT_MSG(current_actor_ == nullptr, "the scheduler loop runs outside actors");
  fire_due_timers();
  if (!ready_.empty()) {
    TaskPriority p;
    ActorBase* a = ready_.pop(&p);
    current_priority_ = p;
    ++tasks_run_;
    --tasks_until_poll_;
    resume(a, true);
    if (tasks_until_poll_ <= 0) {
      tasks_until_poll_ = options_.reactor_poll_interval;
      reactor_.poll_ready_events();
    }
    return true;
  }
  const Time next = timers_.empty() ? kTimeMax : timers_.front().when;
  return reactor_.wait_for_events(next);
}

void Scheduler::cancel_actors_of(Process& p) {
  // Cancelling one actor can end others (their last future was its local) or start new ones, so
  // rescan from the front each time. Actors on the current call chain stay, marked cancelled.
  for (;;) {
    ActorBase* a = p.actors_.front();
    while (a != nullptr && a->cancelled_)
      a = p.actors_.next(a);
    if (a == nullptr) return;
    cancel(a);
  }
}

void Scheduler::cancel_all_actors() {
  ASSERT_MSG(current_actor_ == nullptr, "cancel_all_actors() is for the scheduler's owner");
  while (ActorBase* a = all_.front()) {
    ASSERT(!a->cancelled_);
    cancel(a);
  }
}

void wait_until_set(SAVBase* sav) {
  Scheduler& s = scheduler();  // asserts that a Runtime is active
  ActorBase* const self = s.current_actor();
  ASSERT_MSG(self != nullptr, "wait() called outside an actor");
  if (self->cancelled()) throw_cancelled();
  FiberWaiter w(self);
  sav->add_waiter(&w);
  s.park();
  if (w.linked()) sav->remove_waiter(&w);
  if (self->cancelled()) throw_cancelled();
}

void check_not_cancelled() {
  ActorBase* const self = g_scheduler ? g_scheduler->current_actor() : nullptr;
  if (self != nullptr && self->cancelled()) throw_cancelled();
}

}  // namespace flow::detail

namespace flow {

Process::Process(std::string name, std::string machine, std::string data_folder)
    : name_(std::move(name)), machine_(std::move(machine)), data_folder_(std::move(data_folder)) {}

Process::~Process() {
  ASSERT_MSG(actors_.empty(), "process {} destroyed with {} actors alive", name_, actors_.size());
}

INetwork& Process::network() const {
  ASSERT_MSG(network_ != nullptr, "process {} has no network", name_);
  return *network_;
}
IFileSystem& Process::file_system() const {
  ASSERT_MSG(file_system_ != nullptr, "process {} has no file system", name_);
  return *file_system_;
}
IClock& Process::clock() const {
  ASSERT_MSG(clock_ != nullptr, "process {} has no clock", name_);
  return *clock_;
}

void Process::cancel_all_actors() {
  detail::scheduler().cancel_actors_of(*this);
}

Process& current_process() {
  return detail::scheduler().current_process();
}

}  // namespace flow

namespace flow::detail {

void wait_until_stream_ready(void* queue, bool (*ready)(void*), void (*add_waiter)(void*, Waiter*),
                             void (*remove_waiter)(void*, Waiter*)) {
  Scheduler& s = scheduler();  // asserts that a Runtime is active
  ActorBase* const self = s.current_actor();
  ASSERT_MSG(self != nullptr, "wait_next() called outside an actor");
  // Several actors may wait on one stream; whoever wakes second may find it empty again.
  while (!ready(queue)) {
    if (self->cancelled()) throw_cancelled();
    FiberWaiter w(self);
    add_waiter(queue, &w);
    s.park();
    if (w.linked()) remove_waiter(queue, &w);
  }
  if (self->cancelled()) throw_cancelled();
}

size_t wait_any_of(std::span<SAVBase* const> savs) {
  ASSERT_MSG(!savs.empty(), "wait_any of nothing");
  for (size_t i = 0; i < savs.size(); ++i) {
    if (savs[i]->is_set()) {
      check_not_cancelled();
      return i;
    }
  }
  Scheduler& s = scheduler();  // asserts that a Runtime is active
  ActorBase* const self = s.current_actor();
  ASSERT_MSG(self != nullptr, "wait_any() called outside an actor");
  if (self->cancelled()) throw_cancelled();

  std::vector<FiberWaiter> waiters(savs.size(), FiberWaiter(self));
  for (size_t i = 0; i < savs.size(); ++i) {
    savs[i]->add_future_ref();  // whoever owns the futures may drop them while we are parked
    savs[i]->add_waiter(&waiters[i]);
  }
  s.park();
  size_t first = savs.size();
  for (size_t i = 0; i < savs.size(); ++i) {
    if (waiters[i].linked()) savs[i]->remove_waiter(&waiters[i]);
    if (first == savs.size() && savs[i]->is_set()) first = i;
  }
  for (SAVBase* sav : savs)
    sav->del_future_ref();
  if (self->cancelled()) throw_cancelled();
  ASSERT(first < savs.size());
  return first;
}

}  // namespace flow::detail
