// A randomized actor scenario is a pure function of its seed: same seed, same trace digest.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "flow/flow.h"

using namespace flow;
using namespace std::chrono_literals;

namespace {

struct Outcome {
  uint64_t digest;
  uint64_t unseed;
  uint64_t events;
  Time end;
};

// Workers pass tokens through streams with random delays, priorities, cancellations and errors.
Outcome run_scenario(uint64_t seed) {
  Runtime rt({.seed = seed, .buggify = true});
  rt.run([] {
    DeterministicRandom& r = deterministic_random();
    const int workers = static_cast<int>(r.random_int(3, 8));
    std::vector<PromiseStream<int>> inboxes(static_cast<size_t>(workers));
    ActorCollection actors;
    for (int w = 0; w < workers; ++w) {
      actors.add(spawn([&, w] {
        FutureStream<int> inbox = inboxes[static_cast<size_t>(w)].get_future();
        for (;;) {
          const int token = wait_next(inbox);
          auto& rng = deterministic_random();
          wait(delay(rng.random_duration(0ms, 20ms),
                     rng.coinflip() ? TaskPriority::DefaultDelay : TaskPriority::Low));
          TraceEvent(SevInfo, "TokenPassed").detail("Worker", w).detail("Token", token);
          if (buggify(0.1)) TraceEvent(SevInfo, "BuggifyFired").detail("Worker", w);
          if (token > 0) {
            inboxes[static_cast<size_t>(rng.random_int(0, workers))].send(token - 1);
          }
        }
      }));
    }
    for (int t = 0; t < workers; ++t)
      inboxes[static_cast<size_t>(t)].send(30);
    // A victim that is cancelled at a random time.
    Future<Void> victim = spawn([] {
      for (;;) {
        wait(delay(deterministic_random().random_duration(1ms, 10ms)));
        TraceEvent(SevDebug, "VictimTick");
      }
    });
    wait(delay(deterministic_random().random_duration(10ms, 200ms)));
    victim.cancel();
    wait(delay(2s));
  });
  Outcome o{rt.trace().digest(), rt.unseed(), rt.trace().event_count(), rt.now()};
  return o;
}

}  // namespace

TEST_CASE("the same seed gives the same trace digest and unseed; another seed does not") {
  for (uint64_t seed : {1ULL, 2ULL, 977ULL}) {
    INFO("seed ", seed);
    const Outcome a = run_scenario(seed);
    const Outcome b = run_scenario(seed);
    CHECK(a.events > 50);
    CHECK(a.digest == b.digest);
    CHECK(a.unseed == b.unseed);
    CHECK(a.events == b.events);
    CHECK(a.end == b.end);
    const Outcome c = run_scenario(seed + 1000);
    CHECK(a.digest != c.digest);
    CHECK(a.unseed != c.unseed);
  }
}

namespace {

// Two actors that each yield a few times; `swap` decides which is spawned first. No trace event,
// no random draw: only the order of work tells the two runs apart.
void run_two_yielders(TaskLog& log, bool swap) {
  Runtime rt({.seed = 7, .task_log = &log});
  rt.run([swap] {
    auto yielder = [] {
      for (int i = 0; i < 3; ++i)
        yield();
    };
    Future<Void> a = spawn_in(current_process(), yielder);
    Process other(swap ? "first" : "second");
    Future<Void> b = spawn_in(other, yielder);
    wait(a);
    wait(b);
  });
}

}  // namespace

TEST_CASE("the task log names the first task at which two runs part, events and draws equal") {
  TaskLog same1, same2, differs;
  run_two_yielders(same1, false);
  run_two_yielders(same2, false);
  run_two_yielders(differs, true);
  CHECK(same1.count() > 6);
  CHECK(same1.count() == same2.count());
  CHECK(same1.digest() == same2.digest());
  CHECK(TaskLog::first_difference(same1, same2).empty());
  const std::string d = TaskLog::first_difference(same1, differs);
  INFO(d);
  CHECK(d.find("task #3 differs") != std::string::npos);
  CHECK(d.find("actor #3 of process 'second' started") != std::string::npos);
  CHECK(d.find("actor #3 of process 'first' started") != std::string::npos);
}
