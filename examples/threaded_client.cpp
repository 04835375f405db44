// A client of a real cluster used from several threads at once (embed/client.h): a network thread
// runs flow; each call hands it a transaction and waits for the answer.
//   example-threaded-client CLUSTER_FILE
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "embed/client.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: example-threaded-client CLUSTER_FILE\n");
    return 2;
  }
  try {
    const std::unique_ptr<embed::Client> db = embed::Client::connect(argv[1]);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&db, t] {
        for (int i = 0; i < 100; ++i) db->set("example/" + std::to_string(t) + "/" + std::to_string(i), "x");
      });
    }
    for (std::thread& t : threads) t.join();
    std::printf("%zu keys under example/\n", db->get_range("example/", "example0", 10000).size());
    db->clear_range("example/", "example0");
  } catch (const flow::Error& e) {
    std::fprintf(stderr, "example-threaded-client: %s\n", std::string(e.description()).c_str());
    return 1;
  }
  return 0;
}
