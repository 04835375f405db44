#pragma once
// NetworkThread — flow on the real world, on a thread of its own, for a program whose other threads
// are not actors (FoundationDB's client network thread). Those threads hand it jobs: a job runs in
// an actor on the network thread, and its result (or error) comes back through a std::future.
//
// Like net/asio/, embed/ is real-world only: it owns a thread, so nothing of it runs in simulation.
//
//   embed::NetworkThread net({});
//   std::future<int> f = net.submit([] { flow::wait(flow::delay(1ms)); return 42; });
//   f.get();  // 42, on the caller's thread

#include <cstdint>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "flow/actor.h"
#include "flow/error.h"
#include "flow/network_address.h"

namespace net {
class AsioWorld;
}

namespace embed {

struct NetworkOptions {
  std::string data_folder = ".";               // where relative file paths of roles resolve
  std::optional<flow::NetworkAddress> listen;  // where the process listens; none: a client only
  std::vector<std::string> knobs;              // "name=value"
  uint64_t seed = 0;                           // 0: drawn from the OS
  std::string trace_dir;                       // JSON-lines trace files, rotated; empty: none
  std::string trace_name = "strata";           // their names' start
};

// One per process at a time: flow's runtime is one per process (a second NetworkThread, or a
// flow::Runtime of the program's own meanwhile, is refused or undefined). One client, one
// embedded database or one node per process, then.
class NetworkThread {
 public:
  // Starts the thread and its runtime. Throws flow::Error when the runtime refuses its options
  // (unknown_knob, invalid_knob_value), the trace folder cannot be written (io_error), or another
  // NetworkThread runs (client_invalid_operation).
  explicit NetworkThread(NetworkOptions options);
  // Stops the thread: every job still running is cancelled (its future ends with
  // flow::Error(operation_cancelled), or std::future_error if it never started). Must not be
  // called from a job.
  ~NetworkThread();
  NetworkThread(const NetworkThread&) = delete;
  NetworkThread& operator=(const NetworkThread&) = delete;

  // Runs fn() in an actor on the network thread; its value, or what it threw, comes through the
  // future. fn is moved there: what it captures by reference must outlive the job, and be
  // touched by no other thread meanwhile. Thread-safe; a job must not wait on another job's
  // std::future (the network thread would block).
  template <class Fn>
  auto submit(Fn fn) -> std::future<std::invoke_result_t<Fn&>>;

  // submit(fn).get(): blocks the caller until fn ends. Not from a job.
  template <class Fn>
  auto call(Fn fn) -> std::invoke_result_t<Fn&> {
    return submit(std::move(fn)).get();
  }

  // Whether the calling thread is the network thread (a job's own).
  bool on_network_thread() const { return std::this_thread::get_id() == thread_.get_id(); }

 private:
  // Hands `job` to the network thread, where it runs in an actor. Thread-safe.
  void post_job(std::function<void()> job);
  void run(NetworkOptions options, std::promise<void>* started);

  struct Shared;
  std::shared_ptr<Shared> shared_;
  std::thread thread_;
};

template <class Fn>
auto NetworkThread::submit(Fn fn) -> std::future<std::invoke_result_t<Fn&>> {
  using T = std::invoke_result_t<Fn&>;
  auto promise = std::make_shared<std::promise<T>>();
  std::future<T> out = promise->get_future();
  auto shared_fn = std::make_shared<Fn>(std::move(fn));  // std::function copies what it holds
  post_job([shared_fn, promise] {
    try {
      if constexpr (std::is_void_v<T>) {
        (*shared_fn)();
        promise->set_value();
      } else {
        promise->set_value((*shared_fn)());
      }
    } catch (const flow::Error& e) {
      promise->set_exception(std::make_exception_ptr(e));
      if (e.code() == flow::ErrorCode::operation_cancelled) throw;
    } catch (...) {
      promise->set_exception(std::current_exception());
    }
  });
  return out;
}

}  // namespace embed
