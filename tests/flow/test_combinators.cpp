// wait_any, wait_all, quorum, timeout, ActorCollection, AsyncVar, AsyncTrigger.
#include <doctest/doctest.h>

#include <vector>

#include "flow/flow.h"

using namespace flow;
using namespace std::chrono_literals;

TEST_CASE("wait_any returns the index of the first future to become ready") {
  Runtime rt;
  size_t which = rt.run([] {
    Future<Void> slow = delay(2s);
    Future<int> fast = spawn([] {
      wait(delay(1s));
      return 5;
    });
    Future<Void> never_ready = never();
    return wait_any(slow, fast, never_ready);
  });
  CHECK(which == 1);
  CHECK(rt.now() == kTimeZero + 1s);
}

TEST_CASE("wait_any counts an error as ready") {
  Runtime rt;
  size_t which = rt.run([] {
    Future<Void> failing = spawn([] {
      wait(delay(1s));
      throw Error(ErrorCode::io_error);
    });
    return wait_any(delay(5s), failing);
  });
  CHECK(which == 1);
}

TEST_CASE("wait_any with an already-ready future does not park") {
  Runtime rt;
  size_t which = rt.run([] { return wait_any(never(), Future<int>(1), Future<int>(2)); });
  CHECK(which == 1);
  CHECK(rt.now() == kTimeZero);
}

TEST_CASE("wait_any over a vector, and cancellation while parked in it") {
  Runtime rt;
  std::vector<Future<Void>> fs{never(), delay(3s), delay(1s)};
  CHECK(rt.run([&] { return wait_any(fs); }) == 2);
  bool cancelled = false;
  Future<Void> a = spawn([&] {
    try {
      (void)wait_any(never(), never());
    } catch (const Error& e) {
      cancelled = e == ErrorCode::operation_cancelled;
      throw;
    }
  });
  a.cancel();
  CHECK(cancelled);
}

TEST_CASE("quorum is ready when n futures hold values") {
  Runtime rt;
  std::vector<Future<Void>> fs{delay(3s), delay(1s), delay(2s), never()};
  Future<Void> q = quorum(fs, 2);
  CHECK(rt.run_until(q));
  CHECK_FALSE(q.is_error());
  CHECK(rt.now() == kTimeZero + 2s);
}

TEST_CASE("quorum fails at once with the first error") {
  Runtime rt;
  Future<Void> bad = spawn([] {
    wait(delay(1s));
    throw Error(ErrorCode::timed_out);
  });
  Future<Void> q = quorum(std::vector<Future<Void>>{delay(5s), bad, delay(5s)}, 2);
  CHECK(rt.run_until(q));
  REQUIRE(q.is_error());
  CHECK(q.get_error() == ErrorCode::timed_out);
  CHECK(rt.now() == kTimeZero + 1s);
}

TEST_CASE("quorum of zero is ready at once") {
  Runtime rt;
  Future<Void> q = quorum(std::vector<Future<Void>>{never()}, 0);
  CHECK(q.is_ready());
}

TEST_CASE("wait_all waits for every future and reports an error") {
  Runtime rt;
  Future<Void> all = wait_all(std::vector<Future<Void>>{delay(1s), delay(3s), delay(2s)});
  CHECK(rt.run_until(all));
  CHECK(rt.now() == kTimeZero + 3s);
  Future<Void> failing =
      wait_all(std::vector<Future<int>>{Future<int>(1), Error(ErrorCode::io_error)});
  CHECK(rt.run_until(failing));
  CHECK(failing.is_error());
}

TEST_CASE("timeout gives the value if it comes in time, nullopt otherwise") {
  Runtime rt;
  auto after = [](Duration d, int v) {
    return spawn([d, v] {
      wait(delay(d));
      return v;
    });
  };
  Future<std::optional<int>> in_time = timeout(after(1s, 7), 2s);
  Future<std::optional<int>> too_late = timeout(after(3s, 8), 2s);
  rt.run_until_quiescent();
  CHECK(in_time.get() == std::optional<int>(7));
  CHECK(too_late.get() == std::nullopt);
}

TEST_CASE("timeout_error throws timed_out; the source's own error propagates") {
  Runtime rt;
  Future<Void> slow = timeout_error(delay(5s), 1s);
  Future<Void> broken = timeout_error(Future<Void>(Error(ErrorCode::io_error)), 1s);
  rt.run_until_quiescent();
  CHECK(slow.get_error() == ErrorCode::timed_out);
  CHECK(broken.get_error() == ErrorCode::io_error);
}

TEST_CASE("dropping a timeout's result cancels the actor it waits on") {
  Runtime rt;
  bool cancelled = false;
  Future<Void> inner = spawn([&] {
    try {
      wait(never());
    } catch (const Error& e) {
      cancelled = e == ErrorCode::operation_cancelled;
      throw;
    }
  });
  Future<std::optional<Void>> t = timeout(std::move(inner), 10s);
  t.cancel();
  CHECK(cancelled);
}

TEST_CASE("ActorCollection forgets members as they end and reports the first error") {
  Runtime rt;
  ActorCollection ac;
  ac.add(spawn([] { wait(delay(1s)); }));
  ac.add(spawn([] {
    wait(delay(2s));
    throw Error(ErrorCode::disk_full);
  }));
  ac.add(spawn([] { wait(delay(3s)); }));
  CHECK(ac.size() == 3);
  Future<Void> result = ac.get_result();
  CHECK(rt.run_until(result));
  REQUIRE(result.is_error());
  CHECK(result.get_error() == ErrorCode::disk_full);
  CHECK(ac.size() == 1);
  CHECK(rt.now() == kTimeZero + 2s);
}

TEST_CASE("ActorCollection with return_when_empty is ready when its last member ends") {
  Runtime rt;
  ActorCollection ac(true);
  ac.add(spawn([] { wait(delay(1s)); }));
  ac.add(spawn([] { wait(delay(2s)); }));
  Future<Void> result = ac.get_result();
  CHECK(rt.run_until(result));
  CHECK_FALSE(result.is_error());
  CHECK(ac.size() == 0);
}

TEST_CASE("destroying an ActorCollection cancels its members") {
  Runtime rt;
  int cancelled = 0;
  {
    ActorCollection ac;
    for (int i = 0; i < 3; ++i) {
      ac.add(spawn([&] {
        try {
          wait(never());
        } catch (const Error& e) {
          if (e == ErrorCode::operation_cancelled) ++cancelled;
          throw;
        }
      }));
    }
    CHECK(rt.scheduler().actor_count() == 3);
  }
  CHECK(cancelled == 3);
  CHECK(rt.scheduler().actor_count() == 0);
}

TEST_CASE("AsyncVar wakes watchers only on a real change") {
  Runtime rt;
  AsyncVar<int> v(1);
  std::vector<int> seen;
  Future<Void> watcher = spawn([&] {
    while (seen.size() < 2) {
      wait(v.on_change());
      seen.push_back(v.get());
    }
  });
  v.set(1);  // no change: no wake
  rt.run_until_quiescent();
  CHECK(seen.empty());
  v.set(2);
  rt.run_until_quiescent();
  v.set(3);
  rt.run_until_quiescent();
  CHECK(seen == std::vector<int>{2, 3});
  CHECK(watcher.is_ready());
}

TEST_CASE("AsyncTrigger wakes everyone waiting at the time of the trigger") {
  Runtime rt;
  AsyncTrigger trigger;
  int woken = 0;
  std::vector<Future<Void>> ws;
  for (int i = 0; i < 3; ++i) {
    ws.push_back(spawn([&] {
      wait(trigger.on_trigger());
      ++woken;
    }));
  }
  trigger.trigger();
  rt.run_until_quiescent();
  CHECK(woken == 3);
  Future<Void> later = trigger.on_trigger();
  CHECK_FALSE(later.is_ready());
}
