// The database in an application (embed/): jobs from many threads reach the network thread and
// their answers (or errors) come back; the embedded database keeps what committed across a
// close and a reopen, refuses a second opener of its folder, and answers from several threads
// at once; a second network thread in the process is refused. Real files and sockets: label real.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "embed/embedded.h"
#include "embed/network_thread.h"
#include "flow/flow.h"

using namespace std::chrono_literals;

namespace {

// A fresh folder under the temporary folder, removed at the end.
struct ScratchFolder {
  std::filesystem::path path;
  ScratchFolder() {
    path = std::filesystem::temp_directory_path() /
           ("strata-embed-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path);
  }
  ~ScratchFolder() { std::filesystem::remove_all(path); }
  static inline int counter = 0;
};

}  // namespace

TEST_CASE(
    "network thread: jobs from many threads run in actors there, values and errors come back") {
  embed::NetworkThread net({});
  std::vector<std::thread> threads;
  std::atomic<int> sum{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&net, &sum, t] {
      for (int i = 0; i < 50; ++i) {
        sum += net.call([t, i, &net] {
          CHECK(net.on_network_thread());
          flow::wait(flow::delay(std::chrono::microseconds(10 * (i % 3))));
          return t * 1000 + i;
        });
      }
    });
  }
  for (std::thread& t : threads)
    t.join();
  int expected = 0;
  for (int t = 0; t < 8; ++t)
    for (int i = 0; i < 50; ++i)
      expected += t * 1000 + i;
  CHECK(sum == expected);
  CHECK(!net.on_network_thread());
  std::future<int> failing =
      net.submit([]() -> int { throw flow::Error(flow::ErrorCode::io_error); });
  CHECK_THROWS_AS(failing.get(), flow::Error);
  net.call([] {});  // the thread goes on after a job's error
}

TEST_CASE("network thread: one per process, and jobs still running when it stops are cancelled") {
  std::future<void> forever;
  {
    embed::NetworkThread net({});
    CHECK_THROWS_AS(embed::NetworkThread{embed::NetworkOptions{}}, flow::Error);
    forever = net.submit([] { flow::wait(flow::never<flow::Void>()); });
  }
  CHECK_THROWS(forever.get());     // cancelled, not hung
  embed::NetworkThread again({});  // the first one's end frees the process for another
  CHECK(again.call([] { return 7; }) == 7);
}

TEST_CASE("network thread: a bad knob is refused at start, with its error") {
  embed::NetworkOptions o;
  o.knobs = {"no_such_knob=1"};
  CHECK_THROWS_AS(embed::NetworkThread{o}, flow::Error);
  embed::NetworkThread after({});  // the refused one did not keep the process's slot
}

TEST_CASE(
    "embedded: what committed is there after a close and a reopen; a second opener is refused") {
  ScratchFolder folder;
  {
    const std::unique_ptr<embed::Client> db = embed::open_embedded(folder.path.string());
    db->set("hello", "world");
    db->run([](client::Transaction& t) {
      for (int i = 0; i < 100; ++i)
        t.set("k" + std::to_string(1000 + i), std::string(100, 'v'));
    });
    CHECK(db->get("hello") == std::optional<std::string>("world"));
    CHECK(db->status().find("\"recovery_state\": \"accepting_commits\"") != std::string::npos);
  }
  const std::unique_ptr<embed::Client> db = embed::open_embedded(folder.path.string());
  CHECK(db->get("hello") == std::optional<std::string>("world"));
  CHECK(db->get_range("k", "l", 1000).size() == 100);
  db->clear_range("k", "l");
  CHECK(db->get_range("k", "l").empty());
  // The same folder from another opener: refused (this process holds its lock).
  CHECK_THROWS_AS(embed::open_embedded(folder.path.string()), flow::Error);
}

TEST_CASE("embedded: threads of the application commit at once, none lost") {
  ScratchFolder folder;
  embed::EmbeddedOptions options;
  options.engine = "memory";
  const std::unique_ptr<embed::Client> db = embed::open_embedded(folder.path.string(), options);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&db, t] {
      for (int i = 0; i < 25; ++i) {
        db->run([t, i](client::Transaction& tr) {
          // A counter every thread increments: conflicts retried, no increment lost.
          const std::optional<std::string> v = tr.get("counter");
          tr.set("counter", std::to_string(v ? std::stoi(*v) + 1 : 1));
          tr.set("t" + std::to_string(t) + "." + std::to_string(i), "x");
        });
      }
    });
  }
  for (std::thread& t : threads)
    t.join();
  CHECK(db->get("counter") == std::optional<std::string>("100"));
  CHECK(db->get_range("t", "u").size() == 100);
}

TEST_CASE("embedded: an engine that is none is refused before anything is made") {
  ScratchFolder folder;
  embed::EmbeddedOptions options;
  options.engine = "rocks";
  CHECK_THROWS_AS(embed::open_embedded(folder.path.string(), options), flow::Error);
  CHECK(!std::filesystem::exists(folder.path / "strata.cluster"));
}
