#include "embed/network_thread.h"

#include <atomic>
#include <mutex>
#include <random>
#include <utility>

#include "flow/actor_collection.h"
#include "flow/flow.h"
#include "flow/stream.h"
#include "net/asio/asio_world.h"

namespace embed {

// What the caller's threads and the network thread share. `world` and `jobs` are set while the
// network thread takes jobs; `world` is read under `mutex` (post() is thread-safe), `jobs` only on
// the network thread (inside a post).
struct NetworkThread::Shared {
  std::mutex mutex;
  net::AsioWorld* world = nullptr;
  flow::PromiseStream<std::function<void()>>* jobs = nullptr;
};

namespace {
std::atomic<bool> g_running{false};  // a NetworkThread exists
}  // namespace

NetworkThread::NetworkThread(NetworkOptions options) : shared_(std::make_shared<Shared>()) {
  if (g_running.exchange(true)) throw flow::Error(flow::ErrorCode::client_invalid_operation);
  std::promise<void> started;
  std::future<void> ready = started.get_future();
  thread_ = std::thread([this, options = std::move(options), &started]() mutable {
    run(std::move(options), &started);
  });
  try {
    ready.get();
  } catch (...) {
    thread_.join();
    g_running = false;
    throw;
  }
}

NetworkThread::~NetworkThread() {
  post_job({});  // the empty job: stop taking jobs
  thread_.join();
  g_running = false;
}

void NetworkThread::post_job(std::function<void()> job) {
  const std::lock_guard<std::mutex> lock(shared_->mutex);
  if (shared_->world == nullptr) return;  // stopped: the job's promise is dropped unset
  shared_->world->post([shared = shared_, job = std::move(job)]() mutable {
    if (shared->jobs != nullptr) shared->jobs->send(std::move(job));
  });
}

void NetworkThread::run(NetworkOptions options, std::promise<void>* started) {
  bool said_started = false;
  try {
    net::AsioWorld world;
    flow::RuntimeOptions ro;
    ro.seed = options.seed != 0 ? options.seed : std::random_device{}();
    ro.simulated = false;
    ro.reactor = &world.reactor();
    ro.knobs = options.knobs;
    ro.main_process_name = options.listen ? options.listen->to_string() : "client";
    flow::Runtime rt(ro);
    if (!options.trace_dir.empty()) {
      rt.trace().add_sink(flow::make_rotating_trace_sink(options.trace_dir, options.trace_name,
                                                         int64_t{10} << 20, 10, flow::SevInfo));
    }
    world.attach(rt.main_process(), options.data_folder);
    if (options.listen) rt.main_process().set_address(*options.listen);
    world.keep_running(true);
    flow::PromiseStream<std::function<void()>> jobs;
    // No post reaches `world` or `jobs` once they are gone, however the run ends.
    struct Forget {
      Shared& shared;
      ~Forget() {
        const std::lock_guard<std::mutex> lock(shared.mutex);
        shared.world = nullptr;
        shared.jobs = nullptr;
      }
    } forget{*shared_};
    rt.run([&] {
      flow::ActorCollection running;  // every job's actor: cancelled when the thread stops
      {
        const std::lock_guard<std::mutex> lock(shared_->mutex);
        shared_->world = &world;
        shared_->jobs = &jobs;
      }
      said_started = true;
      started->set_value();
      const flow::FutureStream<std::function<void()>> next = jobs.get_future();
      for (;;) {
        std::function<void()> job = flow::wait_next(next);
        if (!job) break;
        running.add(flow::spawn(std::move(job)));
      }
      const std::lock_guard<std::mutex> lock(shared_->mutex);
      shared_->world = nullptr;  // later jobs are dropped; those queued already find no stream
    });
  } catch (...) {
    if (!said_started) started->set_exception(std::current_exception());
  }
}

}  // namespace embed
