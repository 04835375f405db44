#include "flow/scheduler.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <exception>
#include <memory>
#include <span>
#include <string_view>

#include "flow/error.h"
#include "flow/task_log.h"

namespace flow::detail {
namespace {

// The one live scheduler; set for the lifetime of a flow::Runtime.
Scheduler* g_scheduler = nullptr;

// Crash reporting belongs to the program, not to a run: the SIGSEGV handler outlives runtimes (it finds the active scheduler, if any, through g_scheduler). Nothing here can
// change what a run does.
struct sigaction g_previous_segv_action;
thread_local void* t_signal_stack = nullptr;
constexpr size_t kSignalStackBytes = 64 * 1024;

// Text built without allocating or locking, for the signal handler.
class SignalText {
 public:
  SignalText& add(std::string_view s) {
    for (char c : s)
      if (bytes_ < sizeof(text_)) text_[bytes_++] = c;
    return *this;
  }
  SignalText& add_number(uint64_t v, unsigned base) {
    char digits[24];
    size_t n = 0;
    do {
      digits[n++] = "0123456789abcdef"[v % base];
      v /= base;
    } while (v != 0);
    if (base == 16) add("0x");
    while (n > 0)
      add(std::string_view(&digits[--n], 1));
    return *this;
  }
  void write_to_stderr() const {
    size_t done = 0;
    while (done < bytes_) {
      const ssize_t w = ::write(STDERR_FILENO, text_ + done, bytes_ - done);
      if (w <= 0) return;
      done += static_cast<size_t>(w);
    }
  }

 private:
  char text_[1024];
  size_t bytes_ = 0;
};

}  // namespace

const ActorBase* Scheduler::actor_with_guard_page_at(const void* address) {
  const auto* const p = static_cast<const char*>(address);
  const auto in_guard_page = [p](const ActorBase* a) {
    const Stack& s = a->stack_;
    return s.guarded && p >= static_cast<const char*>(s.mapping) && p < s.bottom();
  };
  // The actor running is nearly always the one that overflowed; the others are checked in case
  // the fault came in the middle of a switch.
  if (current_actor_ != nullptr && in_guard_page(current_actor_)) return current_actor_;
  for (ActorBase* a = all_.front(); a != nullptr; a = all_.next(a))
    if (in_guard_page(a)) return a;
  return nullptr;
}

void Scheduler::on_segv(int signal, siginfo_t* info, void* /*context*/) {
  const ActorBase* const a =
      g_scheduler != nullptr ? g_scheduler->actor_with_guard_page_at(info->si_addr) : nullptr;
  if (a == nullptr) {
    // Not a fiber's overflow: hand the fault to whoever handled it before us (the default action
    // ends the program with SIGSEGV). A fault the hardware raised repeats when we return.
    (void)sigaction(SIGSEGV, &g_previous_segv_action, nullptr);
    if (info->si_code <= 0) (void)raise(signal);  // sent by kill(): it would not repeat
    return;
  }
  // Only async-signal-safe calls from here: the overflow may have come in the middle of malloc.
  SignalText t;
  t.add("flow: stack overflow: actor #")
      .add_number(a->id_, 10)
      .add(" of process '")
      .add(a->process_ != nullptr ? std::string_view(a->process_->name()) : "?")
      .add("' ran past the ")
      .add_number(a->stack_.usable_bytes(), 10)
      .add(" bytes of its fiber stack (fault at ")
      .add_number(reinterpret_cast<uintptr_t>(info->si_addr), 16)
      .add(" in the guard page below ")
      .add_number(reinterpret_cast<uintptr_t>(a->stack_.bottom()), 16)
      .add("); a deeper recursion needs Scheduler::Options::fiber_stack_bytes raised\n");
  t.write_to_stderr();
  std::abort();
}

void Scheduler::install_overflow_handler() {
  // Checked on every Runtime rather than once: a test harness (doctest) puts its own handler and
  // signal stack in place around each test and restores what it found afterwards.
  stack_t current{};
  ASSERT(sigaltstack(nullptr, &current) == 0);
  if ((current.ss_flags & SS_DISABLE) != 0) {
    // The handler cannot run on the stack that overflowed. Ours is mapped once per thread and
    // kept for the rest of the program: the thread may run another Runtime later.
    if (t_signal_stack == nullptr) {
      t_signal_stack = mmap(nullptr, kSignalStackBytes, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
      ASSERT(t_signal_stack != MAP_FAILED);
    }
    stack_t ss{};
    ss.ss_sp = t_signal_stack;
    ss.ss_size = kSignalStackBytes;
    ASSERT(sigaltstack(&ss, nullptr) == 0);
  }
  struct sigaction installed {};
  ASSERT(sigaction(SIGSEGV, nullptr, &installed) == 0);
  if ((installed.sa_flags & SA_SIGINFO) != 0 && installed.sa_sigaction == &Scheduler::on_segv) {
    return;
  }
  struct sigaction sa {};
  sa.sa_sigaction = &Scheduler::on_segv;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  ASSERT(sigaction(SIGSEGV, &sa, &g_previous_segv_action) == 0);
}

SchedulerCore* g_scheduler_core = nullptr;

void throw_operation_cancelled() {
  throw Error(ErrorCode::operation_cancelled);
}

void SchedulerCore::parked_in_handler() const {
  ASSERT_MSG(false,
             "actor #{} of process {} waited inside a catch block or a destructor ({} exception(s) "
             "being thrown, {} being handled); an actor may not wait there",
             current_actor_->id(), current_process_->name(), eh_globals_->uncaught_exceptions,
             eh_globals_->caught_exceptions != nullptr ? "one or more" : "none");
  UNREACHABLE();
}

void SchedulerCore::record_task(ActorBase* a, TaskPriority p, uint8_t kind) {
  static_assert(kTaskRun == static_cast<uint8_t>(TaskLog::Kind::kRun) &&
                kTaskStart == static_cast<uint8_t>(TaskLog::Kind::kStart) &&
                kTaskCancel == static_cast<uint8_t>(TaskLog::Kind::kCancel));
  task_log_->record(a->id(), *a->process(), p, static_cast<TaskLog::Kind>(kind));
}

Scheduler& scheduler() {
  ASSERT_MSG(g_scheduler != nullptr, "no flow::Runtime is active");
  return *g_scheduler;
}

Scheduler::Scheduler(IReactor& reactor, Process& main_process, Options options)
    : SchedulerCore(&main_process, options.reactor_poll_interval),
      reactor_(reactor),
      options_(options),
      stacks_(options.fiber_stack_bytes, options.fiber_stack_pool_max) {
  ASSERT_MSG(g_scheduler == nullptr, "only one flow::Runtime may be active at a time");
  ASSERT_GT(options_.reactor_poll_interval, 0);
  g_scheduler = this;
  g_scheduler_core = this;
  install_overflow_handler();
}

Scheduler::~Scheduler() {
  ASSERT_EQ(all_.size(), 0u);
  // Dropping the timers' promises may wake waiters; nobody is left to run them.
  while (!timers_.empty())
    pop_timer().sav->del_promise_ref();
  while (!ready_.empty()) {
    TaskPriority p;
    (void)ready_.pop(&p);
  }
  g_scheduler = nullptr;
  g_scheduler_core = nullptr;
}

void Scheduler::fiber_entry(Transfer t) {
  const SwitchNote note = SwitchNote::decode(t.data);
  ActorBase* const self = g_scheduler->current_actor_;
  ASSERT(note.from == nullptr);  // an actor's first run always comes from resume()
  arrived(nullptr, &self->resumer_);
  self->resumer_.ctx = t.fctx;
  self->run_body();
  // Leave for good: whoever we switch to releases this stack once we are off it.
  Scheduler& s = scheduler();  // asserts that a Runtime is active
  (void)s.leave(self, s.handoff_target(self), SwitchNote{self, true}, true);
  UNREACHABLE();
}

void Scheduler::start(ActorBase* a, Process& process) {
  a->process_ = &process;
  a->id_ = ++actors_started_;
  if (task_log_ != nullptr) record_task(a, current_priority_, kTaskStart);
  process.actors_.push_back(a);
  all_.push_back(a);
  a->stack_ = stacks_.acquire();
  a->self_.ctx = make_context(a->stack_, &Scheduler::fiber_entry);
#if defined(STRATA_ASAN)
  a->self_.stack_bottom = a->stack_.bottom();
  a->self_.stack_bytes = a->stack_.usable_bytes();
#endif
  resume(a, false);
}

STRATA_ALWAYS_INLINE void Scheduler::resume(ActorBase* a, bool by_loop) {
  ActorBase* const prev_actor = current_actor_;
  Process* const prev_process = current_process_;
  const TaskPriority prev_priority = current_priority_;
  current_actor_ = a;
  current_process_ = a->process_;
  a->state_ = ActorBase::State::kRunning;
  a->resumed_by_loop_ = by_loop;

  void* fake_stack = nullptr;
  const Transfer t = switch_to(a->self_, SwitchNote{nullptr, false}.encode(), &fake_stack, false);
  arrived(fake_stack, nullptr);

  // Back from `a`, or (after handoffs) from another actor the loop would otherwise have run.
  const SwitchNote back = SwitchNote::decode(t.data);
  current_actor_ = prev_actor;
  current_process_ = prev_process;
  current_priority_ = prev_priority;
  if (back.finished) {
    finished(back.from);  // May free it.
  } else {
    back.from->self_.ctx = t.fctx;
  }
}

void SchedulerCore::finished(ActorBase* a) {
  auto* const s = static_cast<Scheduler*>(this);
  a->state_ = ActorBase::State::kDone;
  a->process_->actors_.remove(a);
  s->all_.remove(a);
  s->stacks_.release(a->stack_);
  a->stack_ = Stack{};
  a->fiber_released();
}

void Scheduler::yield_current(TaskPriority p) {
  ActorBase* const self = current_actor_;
  ASSERT_MSG(self != nullptr, "yield() called outside an actor");
  if (self->cancelled_) throw_operation_cancelled();
  self->state_ = ActorBase::State::kReady;
  ready_.push(self, p);
  suspend_current<true>(self);
  if (self->cancelled_) throw_operation_cancelled();
}

void Scheduler::cancel(ActorBase* a) {
  if (a->state_ == ActorBase::State::kDone || a->cancelled_) return;
  a->cancelled_ = true;
  switch (a->state_) {
    case ActorBase::State::kReady:
      ready_.remove(a);
      if (task_log_ != nullptr) record_task(a, current_priority_, kTaskCancel);
      resume(a, false);
      break;
    case ActorBase::State::kParked:
      if (task_log_ != nullptr) record_task(a, current_priority_, kTaskCancel);
      resume(a, false);
      break;
    case ActorBase::State::kRunning:
    case ActorBase::State::kDone:
      break;
  }
}

Future<Void> Scheduler::timer(Time when, TaskPriority p) {
  auto* const sav = new TimerSAV(*this);
  Future<Void> f = Future<Void>::adopt(sav);
  timers_.push_back(TimerEntry{when, p, timer_sequence_++, sav});
  std::push_heap(timers_.begin(), timers_.end(), &Scheduler::fires_later);
  // Time stands still within one loop iteration (in simulation it only moves while the reactor
  // waits), so a timer due now must fire before the current chain of handoffs goes on: stop it.
  if (when <= loop_now_ && tasks_until_poll_ > 1) {
    tasks_until_poll_at_start_ -= tasks_until_poll_ - 1;  // keeps tasks_run() exact
    tasks_until_poll_ = 1;
  }
  return f;
}

Scheduler::TimerEntry Scheduler::pop_timer() {
  std::pop_heap(timers_.begin(), timers_.end(), &Scheduler::fires_later);
  const TimerEntry e = timers_.back();
  timers_.pop_back();
  if (e.sav->future_count() == 0) {
    ASSERT_GT(dead_timers_, 0u);
    --dead_timers_;
  }
  return e;
}

bool Scheduler::fire_due_timers() {
  if (timers_.empty()) return false;
  const Time t = loop_now_;
  bool fired = false;
  while (!timers_.empty() && timers_.front().when <= t) {
    const TimerEntry e = pop_timer();
    if (e.sav->future_count() > 0) {
      current_priority_ = e.priority;
      e.sav->set_value(Void{});
      fired = true;
    }
    e.sav->del_promise_ref();  // May free it.
  }
  return fired;
}

void Scheduler::drop_abandoned_timers_on_top() {
  while (!timers_.empty() && timers_.front().sav->future_count() == 0)
    pop_timer().sav->del_promise_ref();  // Frees it.
}

void Scheduler::timer_abandoned() {
  ++dead_timers_;
  ASSERT_LE(dead_timers_, timers_.size());
  if (dead_timers_ >= kAbandonedTimersSweepMin && dead_timers_ * 2 > timers_.size()) {
    sweep_abandoned_timers();
  }
}

void Scheduler::sweep_abandoned_timers() {
  // The heap order is total (time, priority, sequence), so rebuilding it is deterministic.
  size_t kept = 0;
  for (const TimerEntry& e : timers_) {
    if (e.sav->future_count() == 0) {
      e.sav->del_promise_ref();  // Frees it; nobody waits, so nothing runs.
    } else {
      timers_[kept++] = e;
    }
  }
  timers_.resize(kept);
  std::make_heap(timers_.begin(), timers_.end(), &Scheduler::fires_later);
  dead_timers_ = 0;
}

STRATA_ALWAYS_INLINE bool Scheduler::run_one() {
  ASSERT_MSG(current_actor_ == nullptr, "the scheduler loop runs outside actors");
  loop_now_ = reactor_.now();
  const bool fired = fire_due_timers();
  if (!ready_.empty()) {
    TaskPriority p;
    ActorBase* a = ready_.pop(&p);
    current_priority_ = p;
    if (task_log_ != nullptr) [[unlikely]]
      record_task(a, p, kTaskRun);
    tasks_until_poll_at_start_ = tasks_until_poll_;
    --tasks_until_poll_;
    resume(a, true);
    tasks_run_ += static_cast<uint64_t>(tasks_until_poll_at_start_ - tasks_until_poll_);
    tasks_until_poll_at_start_ = tasks_until_poll_;
    if (tasks_until_poll_ <= 0) {
      tasks_until_poll_ = options_.reactor_poll_interval;
      reactor_.poll_ready_events();
    }
    return true;
  }
  // A timer that woke no actor still made progress: whoever drives the loop (run_until) must see
  // it before time moves on.
  if (fired) return true;
  // A timer nobody waits for any more must not move time (a quiet run would end at it).
  drop_abandoned_timers_on_top();
  const Time next = timers_.empty() ? kTimeMax : timers_.front().when;
  return reactor_.wait_for_events(next);
}

bool Scheduler::run_until(const SAVBase* done) {
  // The loop that drives every run: run_one() is inlined here so that the switch back from
  // an actor lands in this frame, with no returns between (see scheduler_core.h).
  while (done == nullptr || !done->is_set()) {
    if (!run_one()) return false;
  }
  return true;
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

}  // namespace flow::detail

namespace flow {

Process::Process(std::string name, std::string machine, std::string data_folder)
    : name_(std::move(name)), machine_(std::move(machine)), data_folder_(std::move(data_folder)) {}

Process::~Process() {
  clear_extensions();
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

void Process::clear_extensions() {
  while (!extensions_.empty())
    extensions_.pop_back();
}

size_t Process::new_extension_slot() {
  // Slots only index extensions_; their order never reaches a run's output.
  static size_t next = 0;
  return next++;
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
    if (self->cancelled()) throw_operation_cancelled();
    add_waiter(queue, self);
    s.park();
    if (self->Waiter::linked()) remove_waiter(queue, self);
  }
  if (self->cancelled()) throw_operation_cancelled();
}

size_t wait_any_of(std::span<SAVBase* const> savs) {
  ASSERT_MSG(!savs.empty(), "wait_any of nothing");
  for (size_t i = 0; i < savs.size(); ++i)
    ASSERT_MSG(savs[i] != nullptr, "wait_any on an invalid future (argument {} of {})", i,
               savs.size());
  for (size_t i = 0; i < savs.size(); ++i) {
    if (savs[i]->is_set()) {
      check_not_cancelled();
      return i;
    }
  }
  Scheduler& s = scheduler();  // asserts that a Runtime is active
  ActorBase* const self = s.current_actor();
  ASSERT_MSG(self != nullptr, "wait_any() called outside an actor");
  if (self->cancelled()) throw_operation_cancelled();

  // One waiter per state, all waking this actor (its own waiter serves one state at a time).
  struct AnyWaiter : Waiter {
    AnyWaiter() : Waiter(&AnyWaiter::wake_actor) {}
    static void wake_actor(Waiter* w) { scheduler().wake(static_cast<AnyWaiter*>(w)->actor); }
    ActorBase* actor = nullptr;
  };
  const std::unique_ptr<AnyWaiter[]> waiters(new AnyWaiter[savs.size()]);
  for (size_t i = 0; i < savs.size(); ++i) {
    waiters[i].actor = self;
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
  if (self->cancelled()) throw_operation_cancelled();
  ASSERT(first < savs.size());
  return first;
}

}  // namespace flow::detail
