#include "embed/client.h"

namespace embed {

std::unique_ptr<Client> Client::connect(const std::string& cluster_file, NetworkOptions options) {
  const flow::ErrorOr<roles::ClusterDescription> d = read_cluster_file(cluster_file);
  if (!d.ok()) throw d.error();
  return std::make_unique<Client>(d.get(), std::move(options));
}

Client::Client(roles::ClusterDescription cluster, NetworkOptions options)
    : Client(std::make_unique<NetworkThread>(std::move(options)), std::move(cluster)) {}

Client::Client(std::unique_ptr<NetworkThread> network, roles::ClusterDescription cluster,
               std::shared_ptr<void> hosted)
    : network_(std::move(network)), hosted_(std::move(hosted)) {
  database_ = network_->call([cluster] { return std::make_shared<client::Database>(cluster); });
}

Client::~Client() {
  // The flow-side objects end on the network thread, the database before the roles it talks to.
  network_->call([this] {
    database_.reset();
    hosted_.reset();
  });
}

std::optional<std::string> Client::get(std::string key) {
  return run([key](client::Transaction& t) { return t.get(key); });
}

void Client::set(std::string key, std::string value) {
  run([key, value](client::Transaction& t) { t.set(key, value); });
}

void Client::clear(std::string key) {
  run([key](client::Transaction& t) { t.clear(key); });
}

void Client::clear_range(std::string begin, std::string end) {
  run([begin, end](client::Transaction& t) { t.clear_range(begin, end); });
}

std::vector<std::pair<std::string, std::string>> Client::get_range(std::string begin,
                                                                   std::string end, int limit) {
  return run([begin, end, limit](client::Transaction& t) {
    std::vector<std::pair<std::string, std::string>> out;
    for (client::KeyValue& kv : t.get_range(begin, end, {.rows = limit}).rows)
      out.emplace_back(std::move(kv.key), std::move(kv.value));
    return out;
  });
}

std::string Client::status() {
  return network_->call([db = database_] { return db->controller_status(); });
}

}  // namespace embed
