// Scale: a million actors through their whole life, and a hundred thousand parked at once.
#include <doctest/doctest.h>

#include <vector>

#include "flow/flow.h"

using namespace flow;
using namespace std::chrono_literals;

TEST_CASE("1,000,000 actors spawn and complete") {
  Runtime rt;
  long sum = 0;
  const int n = 1'000'000;
  rt.run([&] {
    for (int i = 0; i < n; ++i) {
      Future<int> f = spawn([i] { return i & 7; });
      sum += wait(f);
    }
  });
  CHECK(sum == 3500000L);  // (0+1+...+7) * n/8
  CHECK(rt.scheduler().actor_count() == 0);
  // Stacks are pooled: a million sequential actors needed only a couple of stacks.
  CHECK(rt.scheduler().stack_pool().mapped() <= 4);
}

TEST_CASE("1,000,000 actors that each park once complete") {
  Runtime rt;
  const int n = 1'000'000;
  long done = 0;
  rt.run([&] {
    for (int batch = 0; batch < 100; ++batch) {
      std::vector<Future<Void>> fs;
      fs.reserve(n / 100);
      for (int i = 0; i < n / 100; ++i) {
        fs.push_back(spawn([&] {
          yield();
          ++done;
        }));
      }
      wait(wait_all(std::move(fs)));
    }
  });
  CHECK(done == n);
}

TEST_CASE("100,000 actors parked at once, then all released") {
  Runtime rt;
  const int n = 100'000;
  Promise<int> gate;
  long sum = 0;
  std::vector<Future<Void>> fs;
  fs.reserve(n);
  for (int i = 0; i < n; ++i) {
    fs.push_back(spawn([&, f = gate.get_future()] { sum += wait(f); }));
  }
  CHECK(rt.scheduler().actor_count() == static_cast<size_t>(n));
  gate.send(2);
  rt.run_until_quiescent();
  CHECK(sum == 2L * n);
  CHECK(rt.scheduler().actor_count() == 0);
}

TEST_CASE("100,000 parked actors are cancelled cleanly") {
  Runtime rt;
  const int n = 100'000;
  int unwound = 0;
  std::vector<Future<Void>> fs;
  for (int i = 0; i < n; ++i) {
    fs.push_back(spawn([&] {
      try {
        wait(delay(1h));
      } catch (const Error&) {
        ++unwound;
        throw;
      }
    }));
  }
  fs.clear();
  CHECK(unwound == n);
  CHECK(rt.scheduler().actor_count() == 0);
}
