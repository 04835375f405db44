// The whole database inside this program, on real files in one folder (embed/embedded.h).
//   example-embedded [FOLDER]
#include <cstdio>
#include <string>

#include "embed/embedded.h"

int main(int argc, char** argv) {
  auto db = embed::open_embedded(argc > 1 ? argv[1] : "example-db");  // created on first open
  db->set("hello", "world");
  const int visits = db->run([](client::Transaction& t) {  // one transaction, retried until it commits
    const std::optional<std::string> v = t.get("visits");
    const int n = v ? std::stoi(*v) + 1 : 1;
    t.set("visits", std::to_string(n));
    return n;
  });
  std::printf("hello %s, visit %d\n", db->get("hello").value_or("?").c_str(), visits);
}
