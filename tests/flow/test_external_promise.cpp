// ExternalPromise: a future's state built into another object — values and errors reach waiters,
// the object learns when the last future goes, and release() frees it exactly when nothing else
// holds it.
#include <doctest/doctest.h>

#include "flow/flow.h"
#include "flow/external_promise.h"

using namespace flow;
using namespace std::chrono_literals;

namespace {

// Counts what happens to it in *log; releases itself when its last future goes if asked to.
struct Probe final : ExternalPromise<int> {
  struct Log {
    int dropped = 0;
    int destroyed = 0;
  };
  Probe(Log* log, bool release_when_dropped) : log_(log), release_(release_when_dropped) {}
  ~Probe() override { ++log_->destroyed; }
  void on_future_dropped() override {
    ++log_->dropped;
    if (release_) release();
  }
  Log* log_;
  bool release_;
};

}  // namespace

TEST_CASE("external promise: a value sent reaches a waiting actor; release then frees it") {
  Runtime rt;
  Probe::Log log;
  auto* p = new Probe(&log, false);
  Future<int> f = p->get_future();
  Future<int> got = spawn([f] { return wait(f) + 1; });
  CHECK(!got.is_ready());
  p->send(41);
  p->release();
  CHECK(log.destroyed == 0);  // the futures still read it
  REQUIRE(rt.run_until(got));
  CHECK(got.get() == 42);
  f = Future<int>();
  got = Future<int>();
  CHECK(log.destroyed == 1);
  CHECK(log.dropped == 0);  // released before the futures went: nobody to tell
}

TEST_CASE("external promise: released unset, waiters get broken_promise") {
  Runtime rt;
  Probe::Log log;
  auto* p = new Probe(&log, false);
  Future<int> f = p->get_future();
  Future<ErrorCode> got = spawn([f] {
    try {
      wait(f);
      return ErrorCode::success;
    } catch (const Error& e) {
      if (e.code() == ErrorCode::operation_cancelled) throw;
      return e.code();
    }
  });
  p->release();
  REQUIRE(rt.run_until(got));
  CHECK(got.get() == ErrorCode::broken_promise);
}

TEST_CASE("external promise: the last future going tells the object, which may free itself") {
  Runtime rt;
  Probe::Log log;
  {
    auto* p = new Probe(&log, true);
    Future<int> a = p->get_future();
    Future<int> b = a;
    a = Future<int>();
    CHECK(log.dropped == 0);  // one future left
  }
  CHECK(log.dropped == 1);
  CHECK(log.destroyed == 1);

  // An error sent before the futures go is what they read; the object outlives them only while
  // it holds its reference.
  auto* q = new Probe(&log, false);
  Future<int> c = q->get_future();
  q->send_error(Error(ErrorCode::not_committed));
  REQUIRE(c.is_ready());
  CHECK(c.get_error().code() == ErrorCode::not_committed);
  c = Future<int>();
  CHECK(log.dropped == 2);
  CHECK(log.destroyed == 1);
  q->release();
  CHECK(log.destroyed == 2);
}
