// PromiseStream / FutureStream: order, end_of_stream, errors, broken promise.
#include <doctest/doctest.h>

#include <vector>

#include "flow/flow.h"

using namespace flow;
using namespace std::chrono_literals;

TEST_CASE("a stream delivers values in send order, across parks") {
  Runtime rt;
  PromiseStream<int> ps;
  FutureStream<int> fs = ps.get_future();
  std::vector<int> got;
  Future<Void> consumer = spawn([&] {
    for (int i = 0; i < 6; ++i)
      got.push_back(wait_next(fs));
  });
  Future<Void> producer = spawn([&] {
    ps.send(1);
    ps.send(2);
    wait(delay(1ms));
    ps.send(3);
    for (int i = 4; i <= 6; ++i) {
      yield();
      ps.send(i);
    }
  });
  CHECK(rt.run_until(consumer));
  CHECK(got == std::vector<int>{1, 2, 3, 4, 5, 6});
}

TEST_CASE("end_of_stream arrives after every value sent before it") {
  Runtime rt;
  PromiseStream<int> ps;
  FutureStream<int> fs = ps.get_future();
  ps.send(7);
  ps.send(8);
  ps.close();
  std::vector<int> got;
  bool ended = false;
  rt.run([&] {
    try {
      for (;;)
        got.push_back(wait_next(fs));
    } catch (const Error& e) {
      ended = e == ErrorCode::end_of_stream;
    }
  });
  CHECK(got == std::vector<int>{7, 8});
  CHECK(ended);
}

TEST_CASE("a stream error reaches a parked receiver") {
  Runtime rt;
  PromiseStream<int> ps;
  FutureStream<int> fs = ps.get_future();
  Future<int> r = spawn([fs] { return wait_next(fs); });
  CHECK_FALSE(r.is_ready());
  ps.send_error(Error(ErrorCode::connection_failed));
  rt.run_until_quiescent();
  REQUIRE(r.is_error());
  CHECK(r.get_error() == ErrorCode::connection_failed);
}

TEST_CASE("dropping every PromiseStream gives broken_promise after the queued values") {
  Runtime rt;
  auto ps = std::make_unique<PromiseStream<int>>();
  FutureStream<int> fs = ps->get_future();
  ps->send(1);
  ps.reset();
  std::vector<int> got;
  Error last(ErrorCode::success);
  rt.run([&] {
    try {
      for (;;)
        got.push_back(wait_next(fs));
    } catch (const Error& e) {
      last = e;
    }
  });
  CHECK(got == std::vector<int>{1});
  CHECK(last == ErrorCode::broken_promise);
}

TEST_CASE("two receivers on one stream each take distinct values") {
  Runtime rt;
  PromiseStream<int> ps;
  FutureStream<int> fs = ps.get_future();
  std::vector<int> a_got, b_got;
  Future<Void> a = spawn([&] {
    for (int i = 0; i < 2; ++i)
      a_got.push_back(wait_next(fs));
  });
  Future<Void> b = spawn([&] {
    for (int i = 0; i < 2; ++i)
      b_got.push_back(wait_next(fs));
  });
  for (int i = 0; i < 4; ++i)
    ps.send(i);
  rt.run_until_quiescent();
  CHECK(a.is_ready());
  CHECK(b.is_ready());
  std::vector<int> all = a_got;
  all.insert(all.end(), b_got.begin(), b_got.end());
  std::sort(all.begin(), all.end());
  CHECK(all == std::vector<int>{0, 1, 2, 3});
}

TEST_CASE("cancelling an actor parked in wait_next unwinds it") {
  Runtime rt;
  PromiseStream<int> ps;
  bool cancelled = false;
  Future<Void> a = spawn([&, fs = ps.get_future()] {
    try {
      (void)wait_next(fs);
    } catch (const Error& e) {
      cancelled = e == ErrorCode::operation_cancelled;
      throw;
    }
  });
  a.cancel();
  CHECK(cancelled);
  ps.send(1);  // nobody waits: the value is queued for the stream's remaining holders
}
