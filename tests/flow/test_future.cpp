// Futures, promises and actors: ready and unready waits, errors, broken promises.
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "flow/flow.h"

using namespace flow;
using namespace std::chrono_literals;

TEST_CASE("wait on a ready future returns at once without parking") {
  Runtime rt;
  int v = rt.run([] {
    Future<int> f = 41;
    const uint64_t before = detail::scheduler().tasks_run();
    int x = wait(f);
    CHECK(detail::scheduler().tasks_run() == before);
    return x + 1;
  });
  CHECK(v == 42);
}

TEST_CASE("wait on an unready future parks until the promise is sent") {
  Runtime rt;
  Promise<std::string> p;
  bool resumed = false;
  Future<Void> waiter = spawn([&] {
    std::string s = wait(p.get_future());
    CHECK(s == "hello");
    resumed = true;
  });
  CHECK_FALSE(waiter.is_ready());  // parked at its first wait
  rt.run_until_quiescent();
  CHECK_FALSE(resumed);
  p.send(std::string("hello"));
  CHECK_FALSE(resumed);  // send only queues the waiter; it never switches fibers
  CHECK(rt.run_until(waiter));
  CHECK(resumed);
}

namespace {
// Counts how it was passed on.
struct Tracked {
  int copies = 0;
  int moves = 0;
  Tracked() = default;
  Tracked(const Tracked& o) : copies(o.copies + 1), moves(o.moves) {}
  Tracked(Tracked&& o) noexcept : copies(o.copies), moves(o.moves + 1) {}
};
}  // namespace

TEST_CASE("wait on a future given up moves the value out unless another future shares it") {
  Runtime rt;
  rt.run([] {
    Promise<Tracked> p;
    Future<Tracked> shared = p.get_future();
    p.send(Tracked{});
    // Another future shares the state: copied, and `shared` still reads it.
    Tracked a = wait(Future<Tracked>(shared));
    CHECK(a.copies == 1);
    CHECK(wait(shared).copies == 1);
    // The only future, given up: moved.
    Tracked b = wait(std::move(shared));
    CHECK(b.copies == 0);
    // Also after parking.
    Promise<Tracked> q;
    Future<Tracked> later = q.get_future();
    auto sender = spawn([q] {
      wait(delay(1ms));
      q.send(Tracked{});
    });
    Tracked c = wait(std::move(later));
    CHECK(c.copies == 0);
    wait(sender);
  });
}

TEST_CASE("wait(std::move(f)) leaves f invalid") {
  Runtime rt;
  rt.run([] {
    Promise<int> p;
    Future<int> f = p.get_future();
    p.send(3);
    CHECK(wait(std::move(f)) == 3);
    CHECK_FALSE(f.is_valid());  // NOLINT(bugprone-use-after-move): what is tested
  });
}

TEST_CASE("a waiter keeps the state it waits on until it has read the value") {
  // Regression: wait() let go of the state before reading it, so an owner that dropped the future
  // (with the last promise gone too) freed the value under the waiter. ASan saw the read.
  Runtime rt;
  rt.run([] {
    auto owner = std::make_unique<Future<std::string>>();
    auto p = std::make_unique<Promise<std::string>>();
    *owner = p->get_future();
    Future<std::string> waiter = spawn([&owner] { return wait(*owner); });  // parks on *owner
    owner.reset();                  // the future it waits on is gone
    p->send(std::string(64, 'x'));  // the waiter is ready, not yet run...
    p.reset();                      // ...and the last promise goes too
    CHECK(wait(waiter) == std::string(64, 'x'));
  });
}

TEST_CASE("an actor waited on is not cancelled when its owner drops the future") {
  Runtime rt;
  rt.run([] {
    Promise<Void> gate;
    auto owner = std::make_unique<Future<int>>(spawn([g = gate.get_future()] {
      wait(g);
      return 7;
    }));
    Future<int> waiter = spawn([&owner] { return wait(*owner); });
    owner.reset();  // the waiter's own reference keeps the actor wanted
    gate.send();
    CHECK(wait(waiter) == 7);
  });
}

TEST_CASE("a spawned actor runs synchronously until its first unready wait") {
  Runtime rt;
  std::string log;
  Promise<Void> gate;
  Future<Void> a = spawn([&] {
    log += "a1 ";
    wait(gate.get_future());
    log += "a2 ";
  });
  log += "after-spawn ";
  gate.send();
  CHECK(rt.run_until(a));
  CHECK(log == "a1 after-spawn a2 ");
}

TEST_CASE("an actor's flow::Error propagates to its waiters") {
  Runtime rt;
  Future<int> failing = spawn([]() -> int {
    wait(delay(1ms));
    throw Error(ErrorCode::io_error);
  });
  Error caught(ErrorCode::success);
  rt.run([&] {
    try {
      (void)wait(failing);
    } catch (const Error& e) {
      caught = e;
    }
  });
  CHECK(caught == ErrorCode::io_error);
  CHECK(failing.is_error());
  CHECK(failing.get_error() == ErrorCode::io_error);
}

TEST_CASE("errors propagate through a chain of actors") {
  Runtime rt;
  auto leaf = [] {
    wait(delay(5ms));
    throw Error(ErrorCode::checksum_failed);
  };
  auto middle = [&] { wait(spawn(leaf)); };
  CHECK_THROWS_AS(rt.run([&] { wait(spawn(middle)); }), Error);
}

TEST_CASE("dropping the last promise delivers broken_promise") {
  Runtime rt;
  auto p = std::make_unique<Promise<int>>();
  Future<int> f = p->get_future();
  Future<Void> w = spawn([f] {
    try {
      (void)wait(f);
      FAIL("wait returned a value");
    } catch (const Error& e) {
      CHECK(e == ErrorCode::broken_promise);
    }
  });
  p.reset();
  CHECK(f.is_error());
  CHECK(rt.run_until(w));
  CHECK_FALSE(w.is_error());
}

TEST_CASE("a promise copy keeps the future alive; only the last drop breaks it") {
  Runtime rt;
  auto p1 = std::make_unique<Promise<int>>();
  Promise<int> p2 = *p1;
  Future<int> f = p1->get_future();
  p1.reset();
  CHECK_FALSE(f.is_ready());
  p2.send(3);
  CHECK(f.get() == 3);
}

TEST_CASE("many waiters on one future all wake, in the order they waited") {
  Runtime rt;
  Promise<int> p;
  std::string order;
  std::vector<Future<Void>> ws;
  for (int i = 0; i < 5; ++i) {
    ws.push_back(spawn([&, i] {
      int v = wait(p.get_future());
      order += std::to_string(i + v);
    }));
  }
  p.send(0);
  rt.run_until_quiescent();
  CHECK(order == "01234");
}

TEST_CASE("never() is never ready and never broken") {
  Runtime rt;
  Future<Void> n = never();
  Future<std::optional<Void>> t = timeout(n, 10s);
  CHECK(rt.run_until(t));
  CHECK_FALSE(t.get().has_value());
  CHECK_FALSE(n.is_ready());
}

TEST_CASE("run() reports a deadlock instead of hanging") {
  // The root actor waits on a promise nobody will send: the run goes quiescent.
  Runtime rt;
  Promise<Void> nobody;
  Future<Void> f = spawn([&] { wait(nobody.get_future()); });
  CHECK_FALSE(rt.run_until(f));
}

TEST_CASE("ErrorOr holds a value or an error") {
  ErrorOr<int> a = 5;
  ErrorOr<int> b = Error(ErrorCode::timed_out);
  CHECK(a.ok());
  CHECK(a.get() == 5);
  CHECK(b.is_error());
  CHECK(b.error() == ErrorCode::timed_out);
  CHECK_THROWS_AS(b.value_or_throw(), Error);
}

TEST_CASE("error codes have names, numbers and descriptions") {
  Error e(ErrorCode::broken_promise);
  CHECK(e.number() == 1100);
  CHECK(e.name() == "broken_promise");
  CHECK(Error(ErrorCode::operation_cancelled).number() == 1101);
  CHECK(Error(ErrorCode::not_committed).number() == 1020);
  CHECK(Error::from_number(99999).name() == "unknown_error");
  CHECK(is_known_error_code(1007));
  CHECK_FALSE(is_known_error_code(99999));
}
