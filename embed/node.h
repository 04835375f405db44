#pragma once
// Node — an application process that is also a process of a real cluster: it hosts roles (a
// worker, a coordinator, a candidate to lead) as strata-server does, on a network thread of its
// own, and gives the application a client of that cluster. FoundationDB keeps its roles in
// fdbserver; Bedrock-style applications keep the database's replicas in themselves.
//
//   embed::NodeOptions o;
//   o.cluster_file = "strata.cluster";
//   o.listen = "10.0.0.5:4500";
//   o.data = "/var/lib/myapp/strata";
//   auto node = embed::Node::join(o);
//   node->client().set("k", "v");

#include <memory>
#include <string>
#include <vector>

#include "embed/client.h"

namespace embed {

struct NodeOptions {
  std::string cluster_file;
  std::string listen;                   // a.b.c.d:port, where the others reach this process
  std::string data;                     // the folder for its files (one process each)
  std::string process_class = "unset";  // storage, transaction, stateless or unset
  std::string machine_id;               // default: the listen address's IP
  std::vector<std::string> knobs;
  std::string trace_dir;
};

class Node {
 public:
  // Joins the cluster. Throws flow::Error: invalid_option_value (a listen address, class or
  // machine id that is not one), file_not_found or connection_string_invalid (the cluster
  // file), io_error (the data folder cannot be made or another process holds it), bind_failed.
  static std::unique_ptr<Node> join(const NodeOptions& options);

  Client& client() { return *client_; }

 private:
  explicit Node(std::unique_ptr<Client> client) : client_(std::move(client)) {}
  std::unique_ptr<Client> client_;
};

}  // namespace embed
