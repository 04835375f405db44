// Scheduling order: priorities, FIFO within a priority, timers, virtual time.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "flow/flow.h"

using namespace flow;
using namespace std::chrono_literals;

TEST_CASE("ready actors run highest priority first, FIFO within a priority") {
  Runtime rt;
  std::vector<std::string> order;
  std::vector<Future<Void>> fs;
  auto add = [&](std::string name, TaskPriority p) {
    fs.push_back(spawn([&order, name, p] {
      yield(p);
      order.push_back(name);
    }));
  };
  add("low1", TaskPriority::Low);
  add("high1", TaskPriority::ReadSocket);
  add("mid1", TaskPriority::DefaultYield);
  add("low2", TaskPriority::Low);
  add("high2", TaskPriority::ReadSocket);
  add("mid2", TaskPriority::DefaultYield);
  rt.run_until_quiescent();
  CHECK(order == std::vector<std::string>{"high1", "high2", "mid1", "mid2", "low1", "low2"});
}

TEST_CASE("a woken actor runs at the priority of the task that woke it") {
  Runtime rt;
  std::vector<std::string> order;
  Promise<Void> p;
  Future<Void> waiter = spawn([&] {
    wait(p.get_future());
    order.push_back("woken");
  });
  Future<Void> low = spawn([&] {
    yield(TaskPriority::Low);
    order.push_back("low");
  });
  Future<Void> sender = spawn([&] {
    yield(TaskPriority::ReadSocket);
    p.send();  // waiter is queued at ReadSocket, ahead of `low`
    order.push_back("sender");
  });
  rt.run_until_quiescent();
  CHECK(order == std::vector<std::string>{"sender", "woken", "low"});
}

TEST_CASE("timers fire in time order, ties by priority, then by creation order") {
  Runtime rt;
  std::vector<std::string> order;
  std::vector<Future<Void>> fs;
  auto add = [&](std::string name, Duration d, TaskPriority p) {
    fs.push_back(spawn([&order, name, d, p] {
      wait(delay(d, p));
      order.push_back(name);
    }));
  };
  add("t2-low-a", 2s, TaskPriority::Low);
  add("t1-default", 1s, TaskPriority::DefaultDelay);
  add("t2-high", 2s, TaskPriority::ReadSocket);
  add("t2-low-b", 2s, TaskPriority::Low);
  add("t2-default", 2s, TaskPriority::DefaultDelay);
  add("t0", 0s, TaskPriority::Low);
  rt.run_until_quiescent();
  CHECK(order == std::vector<std::string>{"t0", "t1-default", "t2-high", "t2-default", "t2-low-a",
                                          "t2-low-b"});
  CHECK(rt.now() == kTimeZero + 2s);
}

TEST_CASE("virtual time jumps to the next timer only when nothing is ready") {
  Runtime rt;
  Time seen_after_yield{};
  Future<Void> a = spawn([&] {
    wait(delay(500ms));
    yield();
    seen_after_yield = now();
    wait(delay_until(kTimeZero + 2s));
  });
  CHECK(rt.run_until(a));
  CHECK(seen_after_yield == kTimeZero + 500ms);
  CHECK(rt.now() == kTimeZero + 2s);
}

TEST_CASE("yield lets equal-priority ready actors run, then continues") {
  Runtime rt;
  std::string order;
  Future<Void> a = spawn([&] {
    yield();
    order += "a1";
    yield();
    order += "a2";
  });
  Future<Void> b = spawn([&] {
    yield();
    order += "b1";
    yield();
    order += "b2";
  });
  rt.run_until_quiescent();
  CHECK(order == "a1b1a2b2");
}

TEST_CASE("each actor sees its own process as current") {
  Runtime rt;
  Process p1("p1", "m1");
  Process p2("p2", "m2");
  std::vector<std::string> seen;
  auto body = [&] {
    seen.push_back(current_process().name());
    wait(delay(1ms));
    seen.push_back(current_process().name());
    Future<Void> child = spawn([&] { seen.push_back("child:" + current_process().name()); });
    wait(child);
  };
  Future<Void> a = spawn_in(p1, body);
  Future<Void> b = spawn_in(p2, body);
  CHECK(current_process().name() == "main");
  rt.run_until_quiescent();
  CHECK(seen == std::vector<std::string>{"p1", "p2", "p1", "child:p1", "p2", "child:p2"});
}

TEST_CASE("an actor may call wait at any depth of ordinary functions") {
  Runtime rt;
  std::function<int(int)> depth = [&](int n) -> int {
    if (n == 0) {
      wait(delay(1ms));
      return 0;
    }
    return depth(n - 1) + 1;
  };
  CHECK(rt.run([&] { return depth(200); }) == 200);
}

TEST_CASE("run_until a plain timer stops at that timer, not at the next one") {
  // Regression: a timer that woke no actor used to let run_one() go straight on to the next
  // timer, so run_until(delay(100ms)) returned at 500 ms.
  flow::Runtime rt;
  auto later = flow::spawn([] { flow::wait(flow::delay(500ms)); });
  REQUIRE(rt.run_until(flow::delay(100ms)));
  CHECK(flow::now() == flow::kTimeZero + 100ms);
  CHECK(!later.is_ready());
}

TEST_CASE("a cancelled actor's delay does not move time, and leaves the timer heap") {
  Runtime rt;
  Future<Void> sleeper = spawn([] { wait(delay(100s)); });
  Future<Void> worker = spawn([] { wait(delay(1s)); });
  CHECK(rt.scheduler().timer_count() == 2);
  sleeper = Future<Void>();  // cancels it
  CHECK(rt.scheduler().timer_count() == 1);
  rt.run_until_quiescent();
  CHECK(worker.is_ready());
  // The quiet run ends at the last timer anyone waited for, not at the cancelled one.
  CHECK(rt.now() == kTimeZero + 1s);
  CHECK(rt.scheduler().timer_count() == 0);
}

TEST_CASE("abandoned timers are swept from the heap") {
  Runtime rt;
  Future<Void> keep = delay(1000s);
  for (int i = 0; i < 10'000; ++i)
    (void)delay(Duration(std::chrono::seconds(1 + i % 500)));  // dropped at once
  CHECK(rt.scheduler().timer_count() == 1);
  CHECK(rt.scheduler().test_timer_heap_size() <= 65);  // swept whenever half of it is abandoned
  std::vector<Future<Void>> live;
  for (int i = 0; i < 10; ++i)
    live.push_back(delay(Duration(std::chrono::seconds(10 - i))));
  rt.run_until_quiescent();
  for (const Future<Void>& f : live)
    CHECK(f.is_ready());
  CHECK(keep.is_ready());
  CHECK(rt.now() == kTimeZero + 1000s);
}
