// strata-server — one process of a real Strata cluster (docs/operations.md): on the real world
// (net/asio), it runs a worker (the roles the cluster controller asks for, on files in --data), a
// coordinator (it keeps the cluster state if the cluster file names it), a registration with
// the controller, and a candidate for the controller's leadership. The first process elected
// waits for `strata-cli configure new` to create the database.
//
//   strata-server --cluster-file strata.cluster --listen 127.0.0.1:4500 --data /var/lib/strata/4500
//                 [--class storage|transaction|stateless] [--machine-id NAME] [--knob name=value
//                 ...]
//                 [--trace-dir DIR]
//
// SIGTERM or SIGINT stops it cleanly. Exit status: 0 after a clean stop, 1 when it cannot start
// or fails (one line on stderr says why), 2 for bad arguments.

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "embed/cluster_file.h"
#include "flow/flow.h"
#include "net/asio/asio_world.h"
#include "net/asio/folder_lock.h"
#include "programs/command_line.h"
#include "roles/cluster_controller/worker_registration.h"
#include "roles/common/cluster_description.h"
#include "server/server_process.h"

namespace {

using namespace std::chrono_literals;

volatile std::sig_atomic_t stop_requested = 0;
void on_stop_signal(int) {
  stop_requested = 1;
}

struct Options {
  std::string cluster_file;
  std::string listen;
  std::string data;
  std::string process_class = "unset";
  std::string machine_id;
  std::vector<std::string> knobs;
  std::string trace_dir;
  int64_t trace_file_bytes = 10 << 20;
  int trace_files = 10;
};

int fail(const std::string& why) {
  std::fprintf(stderr, "strata-server: %s\n", why.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{
      "strata-server: one process of a Strata cluster (a worker, a coordinator, a candidate to "
      "lead)",
      "strata-server"};
  app.add_option("--cluster-file,-C", o.cluster_file,
                 "the cluster file: name:id@address,... of the coordinators")
      ->required();
  app.add_option("--listen,-l", o.listen,
                 "the address to listen on and be reached at, a.b.c.d:port")
      ->required();
  app.add_option("--data,-d", o.data,
                 "the folder for this process's files (created if missing; one process each)")
      ->required();
  app.add_option("--class,-c", o.process_class,
                 "what the process is for: storage, transaction, stateless or unset")
      ->check(CLI::IsMember({"storage", "transaction", "log", "stateless", "unset"}))
      ->capture_default_str();
  app.add_option("--machine-id", o.machine_id,
                 "the machine's name: a shard's copies and the logs go on distinct machines "
                 "(default: the listen "
                 "address's IP)");
  app.add_option("--knob", o.knobs, "override a knob, name=value (repeatable)");
  app.add_option("--trace-dir", o.trace_dir, "write JSON-lines trace files here, rotated by size");
  app.add_option("--trace-file-bytes", o.trace_file_bytes, "start a new trace file past this size")
      ->check(CLI::Range(int64_t{4096}, int64_t{1} << 40))
      ->capture_default_str();
  app.add_option("--trace-files", o.trace_files, "trace files kept (the oldest deleted)")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  programs::parse_or_exit(app, argc, argv);

  const flow::ErrorOr<flow::NetworkAddress> listen = flow::NetworkAddress::parse(o.listen);
  if (!listen.ok()) return fail("--listen must be a.b.c.d:port, not '" + o.listen + "'");
  if (listen.get().port == 0 || listen.get().ip == 0)
    return fail(
        "--listen needs the address others reach this process at: not a port 0, nor 0.0.0.0");
  std::string why;
  const flow::ErrorOr<roles::ClusterDescription> cluster =
      embed::read_cluster_file(o.cluster_file, &why);
  if (!cluster.ok()) return fail(why);
  const flow::ErrorOr<roles::ProcessClass> process_class =
      roles::parse_process_class(o.process_class == "transaction" ? "log" : o.process_class);
  if (!process_class.ok()) return fail("--class must be storage, transaction, stateless or unset");
  if (o.machine_id.empty()) o.machine_id = o.listen.substr(0, o.listen.rfind(':'));
  if (o.machine_id.size() > roles::kMachineNameBytesMax)
    return fail("--machine-id is longer than " + std::to_string(roles::kMachineNameBytesMax) +
                " bytes");

  // One process per data folder: a second would share the roles' files. A restart right after a
  // kill -9 may find the lock still held by the dying process: it is asked for again for 10 s.
  const net::FolderLock lock(o.data, std::chrono::seconds(10));
  if (!lock.held()) return fail(lock.why());

  struct sigaction stop {};
  stop.sa_handler = on_stop_signal;
  sigemptyset(&stop.sa_mask);
  ::sigaction(SIGTERM, &stop, nullptr);
  ::sigaction(SIGINT, &stop, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  try {
    net::AsioWorld world;
    flow::RuntimeOptions options;
    options.seed = std::random_device{}();
    options.simulated = false;
    options.reactor = &world.reactor();
    options.knobs = o.knobs;
    options.main_process_name = o.listen;
    std::unique_ptr<flow::Runtime> rt;
    try {
      rt = std::make_unique<flow::Runtime>(options);
    } catch (const flow::Error& e) {
      for (const std::string& k : o.knobs)
        if (const std::string refused = flow::knob_refusal(k); !refused.empty()) return fail("--knob " + refused);
      return fail("a --knob is refused: " + std::string(e.name()));
    }
    if (!o.trace_dir.empty()) {
      try {
        rt->trace().add_sink(
            flow::make_rotating_trace_sink(o.trace_dir, "strata-server." + o.listen,
                                           o.trace_file_bytes, o.trace_files, flow::SevInfo));
      } catch (const flow::Error&) {
        return fail("cannot write trace files in " + o.trace_dir);
      }
    }
    world.attach(rt->main_process(), o.data);
    rt->main_process().set_address(listen.get());
    const roles::WorkerRegistration me{listen.get(), o.machine_id, process_class.get()};
    const std::string cluster_file = o.cluster_file;
    rt->run([&] {
      flow::TraceEvent(flow::SevInfo, "StrataServerStarting")
          .detail("Address", o.listen)
          .detail("Class", o.process_class)
          .detail("Machine", o.machine_id)
          .detail("Cluster", cluster.get().to_string());
      roles::ClusterDescription known;
      const std::vector<flow::Future<flow::Void>> running =
          server::serve_process(cluster.get(), me, &known);
      roles::ClusterDescription written = known;
      bool said_serving = false;
      while (stop_requested == 0) {
        flow::wait(flow::delay(100ms));
        for (const flow::Future<flow::Void>& f : running)
          if (f.is_ready())
            throw f.is_error() ? f.get_error() : flow::Error(flow::ErrorCode::operation_failed);
        if (!said_serving) {
          // Said once the listener is up (a port in use ends the run before this).
          std::fprintf(stderr, "strata-server: %s serving (cluster %s, class %s, data %s)\n",
                       o.listen.c_str(), known.to_string().c_str(), o.process_class.c_str(),
                       o.data.c_str());
          said_serving = true;
        }
        if (!(known == written)) {
          // A process restarted after the move then starts from where the cluster is.
          const bool rewritten = embed::write_cluster_file(cluster_file, known);
          flow::TraceEvent(rewritten ? flow::SevInfo : flow::SevWarnAlways,
                           rewritten ? "ClusterFileRewritten" : "ClusterFileNotRewritten")
              .detail("Path", cluster_file)
              .detail("Description", known.to_string());
          written = known;
        }
      }
      flow::TraceEvent(flow::SevInfo, "StrataServerStopping").detail("Address", o.listen);
    });
  } catch (const flow::Error& e) {
    if (e.code() == flow::ErrorCode::bind_failed)
      return fail("cannot listen on " + o.listen + ": the port is in use, or the address is not this machine's");
    return fail(std::string("stopped: ") + std::string(e.name()) + " (" +
                std::string(e.description()) + ")");
  } catch (const std::exception& e) {
    return fail(std::string("stopped: ") + e.what());
  }
  std::fprintf(stderr, "strata-server: %s stopped\n", o.listen.c_str());
  return 0;
}
