#pragma once
// Client — a database handle for any thread (FoundationDB's client library shape): a network
// thread (embed/network_thread.h) runs flow and a client::Database; every call hands it a job
// and waits for the answer (or returns a std::future). The same object serves a real cluster
// (connect) and a database embedded in this process (open_embedded, embed/embedded.h).
//
//   std::unique_ptr<embed::Client> db = embed::Client::connect("strata.cluster");
//   db->set("hello", "world");
//   std::optional<std::string> v = db->get("hello");
//   int n = db->run([](client::Transaction& t) { ...; return 1; });  // retried until it commits

#include <future>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "client/database.h"
#include "client/transaction.h"
#include "embed/cluster_file.h"
#include "embed/network_thread.h"
#include "roles/common/cluster_description.h"

namespace embed {

class Client {
 public:
  // A client of the cluster `cluster_file` names. Throws flow::Error: file_not_found (it cannot
  // be read), connection_string_invalid (it is not a description), or what NetworkThread throws.
  static std::unique_ptr<Client> connect(const std::string& cluster_file,
                                         NetworkOptions options = {});

  // A client of `cluster`, on a network thread of its own.
  Client(roles::ClusterDescription cluster, NetworkOptions options);
  // Takes over `network`, and a client::Database that `make_database` makes on it (in a job);
  // `hosted` ends when the client does, first (the embedded database's roles).
  Client(std::unique_ptr<NetworkThread> network, roles::ClusterDescription cluster,
         std::shared_ptr<void> hosted = nullptr);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Runs fn(client::Transaction&) on the network thread and commits, retrying on retryable
  // errors as client::Database::run does; its value, or the error that ended it (flow::Error).
  // fn may run more than once; it is moved to the network thread, and must touch nothing the
  // caller's threads touch meanwhile. Blocks the caller; not from a job.
  template <class Fn>
  auto run(Fn fn) {
    return run_async(std::move(fn)).get();
  }
  template <class Fn>
  auto run_async(Fn fn) {
    return network_->submit([db = database_, fn = std::move(fn)]() mutable { return db->run(fn); });
  }

  // One transaction each. Block the caller.
  std::optional<std::string> get(std::string key);
  void set(std::string key, std::string value);
  void clear(std::string key);
  void clear_range(std::string begin, std::string end);
  // At most `limit` pairs of [begin, end), in key order.
  std::vector<std::pair<std::string, std::string>> get_range(std::string begin, std::string end,
                                                             int limit = 1000);

  // The cluster as its controller sees it (a JSON object: docs/status.md).
  std::string status();

  NetworkThread& network() { return *network_; }
  // The flow-side handle, for jobs on the network thread (network().submit).
  client::Database& database() { return *database_; }

 private:
  std::unique_ptr<NetworkThread> network_;
  std::shared_ptr<void> hosted_;                // ends after the database handle, before the thread
  std::shared_ptr<client::Database> database_;  // made and dropped on the network thread
};

}  // namespace embed
