// An application process that is also a process of a real cluster (embed/node.h): it hosts roles
// as strata-server does and uses the cluster through its own client.
//   example-node CLUSTER_FILE LISTEN_ADDRESS DATA_FOLDER
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "embed/node.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: example-node CLUSTER_FILE LISTEN_ADDRESS DATA_FOLDER\n");
    return 2;
  }
  try {
    embed::NodeOptions options;
    options.cluster_file = argv[1];
    options.listen = argv[2];
    options.data = argv[3];
    const std::unique_ptr<embed::Node> node = embed::Node::join(options);
    node->client().set("example/node/" + std::string(argv[2]), "joined");
    std::printf("%s joined; status:\n%s\n", argv[2], node->client().status().c_str());
  } catch (const flow::Error& e) {
    std::fprintf(stderr, "example-node: %s\n", std::string(e.description()).c_str());
    return 1;
  }
  return 0;
}
