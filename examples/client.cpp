// The client in a flow program (client/database.h): the program runs flow on the real world itself,
// and its actors use client::Database directly, with no thread in between.
//   example-client CLUSTER_FILE
#include <cstdio>
#include <random>
#include <string>

#include "client/database.h"
#include "client/transaction.h"
#include "embed/client.h"  // read_cluster_file
#include "flow/flow.h"
#include "net/asio/asio_world.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: example-client CLUSTER_FILE\n");
    return 2;
  }
  std::string why;
  const flow::ErrorOr<roles::ClusterDescription> cluster = embed::read_cluster_file(argv[1], &why);
  if (!cluster.ok()) {
    std::fprintf(stderr, "example-client: %s\n", why.c_str());
    return 1;
  }
  net::AsioWorld world;
  flow::Runtime rt({.seed = std::random_device{}(), .simulated = false, .reactor = &world.reactor()});
  world.attach(rt.main_process());
  try {
    rt.run([&] {
      client::Database db(cluster.get());
      db.run([](client::Transaction& t) { t.set("example/flow", "hello from an actor"); });
      const std::optional<std::string> v = db.run([](client::Transaction& t) { return t.get("example/flow"); });
      std::printf("example/flow = %s\n", v.value_or("(missing)").c_str());
    });
  } catch (const flow::Error& e) {
    std::fprintf(stderr, "example-client: %s\n", std::string(e.description()).c_str());
    return 1;
  }
  return 0;
}
