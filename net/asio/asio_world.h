#pragma once
// AsioWorld — the real world: a Boost.Asio io_context driven together with the flow scheduler,
// TCP sockets, a steady clock, and POSIX files whose blocking calls run on a small thread pool.
//
// One thread runs everything that touches flow: the scheduler runs ready actors, then ready I/O
// completions (poll), then sleeps in the io_context until the next I/O completion or timer. File
// operations run on pool threads (net/asio/blocking_pool.h) that touch only plain data; their
// completions are posted back to the io_context, so promises are only ever set on the scheduler's
// thread. A read whose bytes are all in the page cache is done at once on the scheduler's thread
// (preadv2 with RWF_NOWAIT). `sync` is fdatasync; `write_and_sync` is one trip to the pool.
// Boost.Asio appears only in the .cpp: this header is safe to include anywhere a main lives.
//
//   net::AsioWorld world;
//   flow::Runtime rt({.seed = seed, .simulated = false, .reactor = &world.reactor()});
//   world.attach(rt.main_process(), "/var/lib/strata");
//   rt.main_process().set_address(public_address);   // to listen there (the transport does)

#include <functional>
#include <memory>
#include <string>

#include "flow/clock.h"
#include "flow/file_system.h"
#include "flow/network.h"
#include "flow/process.h"
#include "flow/reactor.h"

namespace net {

class AsioWorld {
 public:
  // `io_threads`: threads for blocking file calls.
  explicit AsioWorld(int io_threads = 2);
  ~AsioWorld();
  AsioWorld(const AsioWorld&) = delete;
  AsioWorld& operator=(const AsioWorld&) = delete;

  flow::IReactor& reactor();
  flow::INetwork& network();
  flow::IClock& clock();
  // POSIX files; relative paths resolve under `data_folder`, which is created if missing, durably
  // (the new folder and the folder holding it are synced). Throws io_error (or disk_full, ...) if
  // it cannot be created or is not a folder.
  std::unique_ptr<flow::IFileSystem> make_file_system(std::string data_folder);

  // Gives `p` this world's network and clock, and a file system rooted at `data_folder`.
  void attach(flow::Process& p, std::string data_folder = ".");

  // Runs `fn` on the thread that runs the scheduler, soon, waking it if it sleeps: the one way in
  // from another thread (embed/network_thread.h). `fn` runs between tasks, never in an actor: it
  // may set promises and send on streams, never wait. Thread-safe.
  void post(std::function<void()> fn);
  // While on, the run loop never finds itself out of work: with nothing ready and no timer it
  // sleeps until I/O or a post(), where it would otherwise end the run as quiescent.
  void keep_running(bool on);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  std::unique_ptr<flow::IFileSystem> attached_fs_;
};

// A loopback address with a port nobody listens on right now (the kernel's pick for an ephemeral
// bind), for tests and benchmarks that start servers.
flow::NetworkAddress free_loopback_address();

}  // namespace net
