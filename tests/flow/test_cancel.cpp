// Cancellation: dropping the last future of an actor unwinds it at once.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "flow/flow.h"

using namespace flow;
using namespace std::chrono_literals;

namespace {

struct Tracker {
  Tracker(std::vector<std::string>& log, std::string name) : log_(log), name_(std::move(name)) {}
  ~Tracker() { log_.push_back("~" + name_); }
  std::vector<std::string>& log_;
  std::string name_;
};

void level3(std::vector<std::string>& log, Future<Void> gate) {
  Tracker t(log, "level3");
  auto heap = std::make_unique<std::string>(1000, 'x');  // would leak if unwinding skipped it
  wait(gate);
  log.push_back("level3 resumed");
}
void level2(std::vector<std::string>& log, Future<Void> gate) {
  Tracker t(log, "level2");
  level3(log, gate);
}
void level1(std::vector<std::string>& log, Future<Void> gate) {
  Tracker t(log, "level1");
  try {
    level2(log, gate);
  } catch (const Error& e) {
    log.push_back(std::string("caught ") + std::string(e.name()));
    throw;
  }
}

}  // namespace

TEST_CASE(
    "cancelling an actor parked three calls deep runs every destructor before the drop returns") {
  Runtime rt;
  std::vector<std::string> log;
  Promise<Void> gate;
  Future<Void> actor = spawn([&] { level1(log, gate.get_future()); });
  CHECK(rt.scheduler().actor_count() == 1);
  CHECK(log.empty());
  actor.cancel();
  CHECK(log ==
        std::vector<std::string>{"~level3", "~level2", "caught operation_cancelled", "~level1"});
  CHECK(rt.scheduler().actor_count() == 0);
  gate.send();  // nobody is waiting any more
  rt.run_until_quiescent();
  CHECK(log.size() == 4);
}

TEST_CASE("cancelling during delay throws operation_cancelled from the wait") {
  Runtime rt;
  bool cancelled_seen = false;
  bool finished = false;
  Future<Void> a = spawn([&] {
    try {
      wait(delay(10s));
      finished = true;
    } catch (const Error& e) {
      cancelled_seen = e == ErrorCode::operation_cancelled;
      throw;
    }
  });
  Future<Void> canceller = spawn([&] {
    wait(delay(1s));
    a.cancel();
  });
  CHECK(rt.run_until(canceller));
  CHECK(cancelled_seen);
  CHECK_FALSE(finished);
  CHECK(rt.now() == kTimeZero + 1s);
  rt.run_until_quiescent();
  CHECK_FALSE(finished);
}

TEST_CASE("cancellation propagates to actors whose only future the cancelled actor held") {
  Runtime rt;
  std::vector<std::string> log;
  Future<Void> outer = spawn([&] {
    Tracker t(log, "outer");
    Future<Void> inner = spawn([&] {
      Tracker ti(log, "inner");
      wait(never());
    });
    wait(inner);
  });
  CHECK(rt.scheduler().actor_count() == 2);
  outer.cancel();
  CHECK(rt.scheduler().actor_count() == 0);
  // outer's wait throws; unwinding drops `inner`, which cancels inner before ~outer runs.
  CHECK(log == std::vector<std::string>{"~inner", "~outer"});
}

TEST_CASE("an actor that is ready but not yet run can be cancelled") {
  Runtime rt;
  Promise<Void> p;
  bool ran_past_wait = false;
  Future<Void> a = spawn([&] {
    wait(p.get_future());
    ran_past_wait = true;
  });
  p.send();  // a is now in the ready queue
  CHECK(rt.scheduler().ready_count() == 1);
  a.cancel();
  CHECK(rt.scheduler().ready_count() == 0);
  rt.run_until_quiescent();
  CHECK_FALSE(ran_past_wait);
}

TEST_CASE("an actor holding a copy of its own future's sibling is not cancelled") {
  Runtime rt;
  Promise<Void> p;
  Future<Void> a = spawn([&] { wait(p.get_future()); });
  Future<Void> copy = a;
  a.cancel();
  CHECK(rt.scheduler().actor_count() == 1);  // `copy` still holds it
  p.send();
  CHECK(rt.run_until(copy));
  CHECK_FALSE(copy.is_error());
}

TEST_CASE("killing a process cancels every actor of that process and only those") {
  Runtime rt;
  Process victim("victim");
  Process bystander("bystander");
  int unwound = 0;
  std::vector<std::string> log;
  std::vector<Future<Void>> fs;
  for (int i = 0; i < 3; ++i) {
    fs.push_back(spawn_in(victim, [&] {
      Tracker t(log, "victim");
      try {
        wait(never());
      } catch (const Error&) {
        ++unwound;
        throw;
      }
    }));
  }
  Future<Void> other = spawn_in(bystander, [&] {
    CHECK(current_process().name() == "bystander");
    wait(delay(1s));
  });
  CHECK(victim.actor_count() == 3);
  victim.cancel_all_actors();
  CHECK(unwound == 3);
  CHECK(log.size() == 3);
  CHECK(victim.actor_count() == 0);
  for (auto& f : fs) {
    CHECK(f.is_error());
    CHECK(f.get_error() == ErrorCode::broken_promise);  // a cancelled actor breaks its promise
  }
  CHECK(bystander.actor_count() == 1);
  CHECK(rt.run_until(other));
}

TEST_CASE("destroying the runtime cancels actors that are still parked") {
  std::vector<std::string> log;
  Future<Void> held;  // outlives the runtime
  {
    Runtime rt;
    Future<Void> a = spawn([&] {
      Tracker t(log, "dropped");
      wait(never());
    });
    a = Future<Void>();  // cancelled here already
    held = spawn([&] {
      Tracker t(log, "held");
      wait(delay(1000s));
    });
    CHECK(log == std::vector<std::string>{"~dropped"});
  }
  CHECK(log == std::vector<std::string>{"~dropped", "~held"});
  CHECK(held.is_error());
  CHECK(held.get_error() == ErrorCode::broken_promise);
}

TEST_CASE("a kill reaches a waiter in a live process as broken_promise, not operation_cancelled") {
  Runtime rt;
  Process victim("victim");
  Process survivor("survivor");
  Future<int> doomed = spawn_in(victim, [] {
    wait(never());
    return 1;
  });
  std::vector<std::string> log;
  Future<Void> waiter = spawn_in(survivor, [&, doomed] {
    try {
      (void)wait(doomed);
    } catch (const Error& e) {
      if (e == ErrorCode::operation_cancelled) throw;  // the rule: would kill the survivor too
      log.push_back(std::string(e.name()));
    }
    wait(delay(1s));  // still alive, still able to wait
    log.push_back("carried on");
  });
  victim.cancel_all_actors();
  CHECK(rt.run_until(waiter));
  CHECK_FALSE(waiter.is_error());
  CHECK(log == std::vector<std::string>{"broken_promise", "carried on"});
  CHECK(survivor.actor_count() == 0);
}

TEST_CASE("an actor of a killed process that waits on another of it gets operation_cancelled") {
  Runtime rt;
  Process victim("victim");
  std::string seen;
  Future<Void> inner = spawn_in(victim, [] { wait(never()); });
  Future<Void> outer = spawn_in(victim, [&, inner] {
    try {
      wait(inner);
    } catch (const Error& e) {
      seen = e.name();
      throw;
    }
  });
  inner = Future<Void>();
  victim.cancel_all_actors();
  CHECK(seen == "operation_cancelled");
  CHECK(victim.actor_count() == 0);
}
