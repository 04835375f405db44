#include "flow/runtime.h"

#include <cstdio>
#include <cstdlib>

namespace flow {
namespace {

Runtime* g_runtime = nullptr;

}  // namespace

Runtime::Runtime(RuntimeOptions options)
    : options_(std::move(options)),
      random_(options_.seed),
      buggify_(options_.simulated && options_.buggify, random_),
      main_process_(options_.main_process_name) {
  ASSERT_MSG(g_runtime == nullptr, "only one flow::Runtime may be active at a time");
  knobs_.declare(knob_set_);
  if (buggify_.enabled()) knob_set_.randomize(random_);
  for (const std::string& k : options_.knobs) {
    ErrorOr<Void> r = knob_set_.set_assignment(k);
    if (r.is_error()) throw r.error();
  }
  if (!options_.trace_file.empty()) {
    trace_.add_sink(make_file_trace_sink(options_.trace_file, options_.trace_min_severity));
  }
  IReactor* reactor = options_.reactor;
  if (reactor == nullptr) {
    own_reactor_ = std::make_unique<VirtualReactor>();
    reactor = own_reactor_.get();
  }
  scheduler_ = std::make_unique<detail::Scheduler>(
      *reactor, main_process_,
      detail::Scheduler::Options{
          .fiber_stack_bytes = static_cast<size_t>(knobs_.fiber_stack_bytes),
          .fiber_stack_pool_max = static_cast<size_t>(knobs_.fiber_stack_pool_max),
          .reactor_poll_interval = static_cast<int>(knobs_.reactor_poll_interval)});
  scheduler_->set_task_log(options_.task_log);
  g_runtime = this;
}

Runtime::~Runtime() {
  scheduler_->cancel_all_actors();
  main_process_.clear_extensions();
  scheduler_.reset();
  trace_.flush();
  g_runtime = nullptr;
}

Runtime* Runtime::current() {
  return g_runtime;
}

Runtime& Runtime::checked_current() {
  ASSERT_MSG(g_runtime != nullptr, "no flow::Runtime is active");
  return *g_runtime;
}

void Runtime::record_code_probe_hit(size_t index) {
  if (probe_hits_.size() <= index) probe_hits_.resize(index + 1, 0);
  ++probe_hits_[index];
}

DeterministicRandom& deterministic_random() {
  return Runtime::checked_current().random();
}

namespace detail {

bool assert_in_simulation() {
  return g_runtime != nullptr && g_runtime->simulated();
}

[[noreturn]] void assert_failed(const char* expression, const char* file, int line,
                                const std::string& values) {
  std::string where;
  if (g_runtime != nullptr) {
    const int64_t t = to_ns(g_runtime->now());
    where = fmt::format(" [seed {} time {}.{:09} process {}]", g_runtime->seed(), t / 1'000'000'000,
                        t % 1'000'000'000, g_runtime->current_process().name());
    g_runtime->trace().flush();
  }
  std::fprintf(stderr, "ASSERT failed: %s at %s:%d%s%s%s\n", expression, file, line,
               values.empty() ? "" : ": ", values.c_str(), where.c_str());
  std::fflush(stderr);
  std::abort();
}

[[noreturn]] void assert_failed(const char* expression, const char* file, int line) {
  assert_failed(expression, file, line, std::string());
}

[[noreturn]] void foreign_exception_in_actor(const char* what) {
  assert_failed("actor threw something other than flow::Error", __FILE__, __LINE__, what);
}

}  // namespace detail
}  // namespace flow
