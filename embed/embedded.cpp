#include "embed/embedded.h"

#include <chrono>
#include <filesystem>

#include "flow/flow.h"
#include "net/asio/asio_world.h"
#include "net/asio/folder_lock.h"
#include "net/transport.h"
#include "server/server_process.h"

namespace embed {

namespace {

using namespace std::chrono_literals;

// What the network thread keeps for an embedded database: its roles, and the folder's lock.
struct Hosted {
  std::shared_ptr<net::FolderLock> lock;  // held while the roles run
  roles::ClusterDescription known;
  std::vector<flow::Future<flow::Void>> roles;
};

}  // namespace

std::unique_ptr<Client> open_embedded(const std::string& folder, EmbeddedOptions options) {
  if (options.engine != "ssd" && options.engine != "memory")
    throw flow::Error(flow::ErrorCode::invalid_option_value);
  auto lock = std::make_unique<net::FolderLock>(folder);
  if (!lock->held()) throw flow::Error(flow::ErrorCode::io_error);
  const std::filesystem::path cluster_path = std::filesystem::path(folder) / "strata.cluster";
  roles::ClusterDescription cluster;
  if (std::filesystem::exists(cluster_path)) {
    const flow::ErrorOr<roles::ClusterDescription> d = read_cluster_file(cluster_path.string());
    if (!d.ok()) throw d.error();
    if (d.get().coordinators.size() != 1 || d.get().name != "embedded")
      throw flow::Error(flow::ErrorCode::connection_string_invalid);
    cluster = d.get();
  } else {
    // The id is drawn below, from the network thread's random (seeded from the OS there).
    cluster = {"embedded", "", {net::free_loopback_address()}};
  }
  NetworkOptions network;
  network.data_folder = (std::filesystem::path(folder) / "data").string();
  network.listen = cluster.coordinators.front();
  network.knobs = options.knobs;
  network.trace_dir = options.trace_dir;
  network.trace_name = "strata-embedded";
  std::error_code ec;
  std::filesystem::create_directories(network.data_folder, ec);
  if (ec) throw flow::Error(flow::ErrorCode::io_error);
  auto thread = std::make_unique<NetworkThread>(std::move(network));
  if (cluster.id.empty()) {
    cluster.id = thread->call([] {
      std::string id;
      for (int i = 0; i < 8; ++i) id += "0123456789abcdef"[flow::deterministic_random().random_int(0, 16)];
      return id;
    });
    if (!write_cluster_file(cluster_path.string(), cluster)) throw flow::Error(flow::ErrorCode::io_error);
  }
  const roles::WorkerRegistration me{cluster.coordinators.front(), "embedded",
                                     roles::ProcessClass::unset};
  std::shared_ptr<Hosted> hosted =
      thread->call([&cluster, &me, lock = std::shared_ptr<net::FolderLock>(std::move(lock))] {
        (void)net::Transport::current();  // listens now: a taken port is bind_failed here
        auto h = std::make_shared<Hosted>();
        h->lock = lock;
        h->roles = server::serve_process(cluster, me, &h->known);
        return h;
      });
  auto client = std::make_unique<Client>(std::move(thread), cluster, hosted);
  // Creates the database the first time (a creation of one that exists is refused: fine).
  client->network().call([db = &client->database(), engine = options.engine] {
    try {
      const std::optional<flow::Void> done = flow::wait(
          flow::timeout(flow::spawn([db, engine] { db->configure("new single " + engine); }),
                        std::chrono::seconds(60)));
      if (!done) throw flow::Error(flow::ErrorCode::operation_failed);
    } catch (const flow::Error& e) {
      if (e.code() != flow::ErrorCode::database_already_created) throw;
    }
  });
  return client;
}

}  // namespace embed
