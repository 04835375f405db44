#include "embed/node.h"

#include "net/asio/folder_lock.h"
#include "net/transport.h"
#include "server/server_process.h"

namespace embed {

namespace {

struct Hosted {
  std::shared_ptr<net::FolderLock> lock;
  roles::ClusterDescription known;
  std::vector<flow::Future<flow::Void>> roles;
};

}  // namespace

std::unique_ptr<Node> Node::join(const NodeOptions& o) {
  const flow::ErrorOr<flow::NetworkAddress> listen = flow::NetworkAddress::parse(o.listen);
  if (!listen.ok() || listen.get().ip == 0 || listen.get().port == 0)
    throw flow::Error(flow::ErrorCode::invalid_option_value);
  const flow::ErrorOr<roles::ProcessClass> process_class =
      roles::parse_process_class(o.process_class == "transaction" ? "log" : o.process_class);
  if (!process_class.ok()) throw process_class.error();
  const std::string machine =
      o.machine_id.empty() ? o.listen.substr(0, o.listen.rfind(':')) : o.machine_id;
  if (machine.size() > roles::kMachineNameBytesMax)
    throw flow::Error(flow::ErrorCode::invalid_option_value);
  const flow::ErrorOr<roles::ClusterDescription> cluster = read_cluster_file(o.cluster_file);
  if (!cluster.ok()) throw cluster.error();
  auto lock = std::make_shared<net::FolderLock>(o.data);
  if (!lock->held()) throw flow::Error(flow::ErrorCode::io_error);
  NetworkOptions network;
  network.data_folder = o.data;
  network.listen = listen.get();
  network.knobs = o.knobs;
  network.trace_dir = o.trace_dir;
  network.trace_name = "strata-node." + o.listen;
  auto thread = std::make_unique<NetworkThread>(std::move(network));
  const roles::WorkerRegistration me{listen.get(), machine, process_class.get()};
  std::shared_ptr<Hosted> hosted = thread->call([c = cluster.get(), me, lock] {
    (void)net::Transport::current();  // listens now: a taken port is bind_failed here
    auto h = std::make_shared<Hosted>();
    h->lock = lock;
    h->roles = server::serve_process(c, me, &h->known);
    return h;
  });
  return std::unique_ptr<Node>(
      new Node(std::make_unique<Client>(std::move(thread), cluster.get(), hosted)));
}

}  // namespace embed
