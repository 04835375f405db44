// Knobs: typed, overridable by name=value, randomizable under buggify.
#include <doctest/doctest.h>

#include "flow/flow.h"

using namespace flow;

TEST_CASE("knob overrides parse by type and reject bad input") {
  int64_t i = 5;
  double d = 1.5;
  bool b = false;
  std::string s = "x";
  KnobSet k;
  k.declare("my_int", &i);
  k.declare("my_double", &d);
  k.declare("my_bool", &b);
  k.declare("my_string", &s);

  CHECK(k.set("my_int", "-42").ok());
  CHECK(i == -42);
  CHECK(k.set_assignment("MY_DOUBLE = 2.5e3").ok());  // names are case-insensitive
  CHECK(d == 2500.0);
  CHECK(k.set("my_bool", "on").ok());
  CHECK(b);
  CHECK(k.set("my_string", "hello").ok());
  CHECK(s == "hello");
  CHECK(k.value_text("my_int") == "-42");

  CHECK(k.set("no_such_knob", "1").error() == ErrorCode::unknown_knob);
  CHECK(k.set("my_int", "12abc").error() == ErrorCode::invalid_knob_value);
  CHECK(k.set("my_int", "").error() == ErrorCode::invalid_knob_value);
  CHECK(k.set("my_int", "99999999999999999999").error() == ErrorCode::invalid_knob_value);
  CHECK(k.set("my_bool", "maybe").error() == ErrorCode::invalid_knob_value);
  CHECK(k.set_assignment("my_int").error() == ErrorCode::invalid_knob_value);
  CHECK(i == -42);  // a failed set leaves the value alone
}

TEST_CASE("the runtime applies knob overrides and rejects unknown ones") {
  {
    Runtime rt({.knobs = {"fiber_stack_bytes=131072", "reactor_poll_interval=7"}});
    CHECK(rt.knobs().fiber_stack_bytes == 131072);
    CHECK(rt.knobs().reactor_poll_interval == 7);
    CHECK(rt.scheduler().stack_pool().stack_bytes() == 131072);
  }
  try {
    Runtime rt({.knobs = {"fiber_stack_bytez=1"}});
    FAIL("an unknown knob was accepted");
  } catch (const Error& e) {
    CHECK(e == ErrorCode::unknown_knob);
  }
}

TEST_CASE("buggify randomizes knobs per seed; explicit overrides win") {
  int changed = 0;
  for (uint64_t seed = 1; seed <= 100; ++seed) {
    Runtime rt({.seed = seed, .buggify = true, .knobs = {"reactor_poll_interval=33"}});
    CHECK(rt.knobs().reactor_poll_interval == 33);
    if (rt.knobs().fiber_stack_pool_max != FlowKnobs().fiber_stack_pool_max) ++changed;
  }
  CHECK(changed > 5);  // randomized with probability 0.25 per run
  CHECK(changed < 60);
  Runtime plain({.seed = 1});
  CHECK(plain.knobs().fiber_stack_pool_max == FlowKnobs().fiber_stack_pool_max);
}

TEST_CASE("a duration knob is set and shown in seconds, and refuses what is not a duration") {
  Duration t = std::chrono::seconds(2);
  KnobSet k;
  k.declare("my_timeout_seconds", &t);
  CHECK(k.set("my_timeout_seconds", "0.05").ok());
  CHECK(t == std::chrono::milliseconds(50));
  CHECK(k.value_text("my_timeout_seconds") == "0.05");
  CHECK(k.set("my_timeout_seconds", "1e3").ok());
  CHECK(t == std::chrono::seconds(1000));
  for (const char* bad : {"-1", "nan", "inf", "1e10", "2s", ""})
    CHECK_MESSAGE(k.set("my_timeout_seconds", bad).error() == ErrorCode::invalid_knob_value, bad);
  CHECK(t == std::chrono::seconds(1000));
  // The runtime's own: connection_idle_seconds sets FlowKnobs::connection_idle.
  Runtime rt({.knobs = {"connection_idle_seconds=0.25"}});
  CHECK(rt.knobs().connection_idle == std::chrono::milliseconds(250));
}

TEST_CASE("from_seconds truncates to the nanosecond and saturates; NaN is zero") {
  static_assert(from_seconds(1.5) == std::chrono::milliseconds(1500));
  CHECK(from_seconds(0) == Duration(0));
  CHECK(from_seconds(1e-9) == Duration(1));
  CHECK(from_seconds(-0.25) == std::chrono::milliseconds(-250));
  CHECK(from_seconds(1e30) == Duration::max());
  CHECK(from_seconds(-1e30) == Duration::min());
  CHECK(from_seconds(std::numeric_limits<double>::quiet_NaN()) == Duration(0));
  CHECK(from_seconds(std::numeric_limits<double>::infinity()) == Duration::max());
}

TEST_CASE("knobs: a bounded knob refuses a value outside its bounds and keeps its value") {
  flow::KnobSet k;
  int64_t i = 10;
  flow::Duration t = std::chrono::seconds(1);
  k.declare("my_int", &i);
  k.declare("my_timeout_seconds", &t);
  k.bound("my_int", 1, 100);
  k.bound("my_timeout_seconds", 0.5, 2);
  CHECK(k.set("my_int", "0").error().code() == flow::ErrorCode::invalid_knob_value);
  CHECK(k.set("my_int", "101").error().code() == flow::ErrorCode::invalid_knob_value);
  CHECK(i == 10);
  CHECK(k.set("my_int", "100").ok());
  CHECK(i == 100);
  CHECK(!k.set("my_timeout_seconds", "3").ok());
  CHECK(t == std::chrono::seconds(1));
  CHECK(k.set("my_timeout_seconds", "0.5").ok());
}

TEST_CASE("knobs: the flow knobs a --knob could break the runtime with are bounded, and the refusal says which") {
  for (const char* bad : {"fiber_stack_bytes=0", "fiber_stack_bytes=-1", "reactor_poll_interval=0",
                          "max_message_bytes=0", "endpoint_queue_max=0", "connection_idle_seconds=0",
                          "fiber_stack_pool_max=-1"}) {
    INFO(bad);
    const std::string why = flow::knob_refusal(bad);
    CHECK(why.find("must be in") != std::string::npos);
    flow::RuntimeOptions o;
    o.knobs = {bad};
    CHECK_THROWS_AS(flow::Runtime{o}, flow::Error);
  }
  CHECK(flow::knob_refusal("no_such_knob=1") == "no knob is named 'no_such_knob'");
  CHECK(flow::knob_refusal("reactor_poll_interval=8").empty());
}
