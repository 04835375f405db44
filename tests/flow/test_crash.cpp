// Death tests: bugs that must end the program at once, with a message that says what happened.
// Each runs in a forked child (see child_process.h).
#include <doctest/doctest.h>

#include <csignal>
#include <cstdint>
#include <string>

#include "flow/flow.h"
#include "tests/flow/child_process.h"

using namespace flow;
using namespace std::chrono_literals;
using flow::testing::ChildResult;
using flow::testing::run_in_child;

namespace {

volatile int g_depth_max = 1 << 30;  // volatile: the compiler may not bound the recursion

// About 1 KiB of stack per level, never optimized into a loop.
[[gnu::noinline]] int recurse(int depth) {
  volatile char frame[1024];
  frame[0] = static_cast<char>(depth);
  if (depth >= g_depth_max) return frame[0];
  return recurse(depth + 1) + frame[0];
}

// One frame larger than a whole fiber stack: without stack clash protection its first write
// lands past the guard page, in the stack below.
[[gnu::noinline]] int one_huge_frame(int x) {
  volatile char frame[300 * 1024];
  frame[0] = static_cast<char>(x);
  return frame[0];
}

}  // namespace

TEST_CASE("a fiber stack overflow aborts and names the actor's process") {
  const ChildResult r = run_in_child([] {
    Runtime rt({.main_process_name = "overflowing-process"});
    // A neighbour stack, mapped after the culprit's: below it, where an overflow would land.
    Future<int> culprit = spawn([] {
      wait(delay(1s));
      return recurse(0);
    });
    Future<Void> neighbour = spawn([] { wait(delay(2s)); });
    (void)rt.run_until(culprit);
  });
  INFO("child stderr: " << r.err);
  CHECK(r.signal == SIGABRT);
  CHECK(r.err.find("flow: stack overflow") != std::string::npos);
  CHECK(r.err.find("actor #1 of process 'overflowing-process'") != std::string::npos);
}

TEST_CASE("a frame larger than the stack faults in the guard page, not in the stack below") {
  const ChildResult r = run_in_child([] {
    Runtime rt({.main_process_name = "huge-frame-process"});
    Future<int> culprit = spawn([] {
      wait(delay(1s));
      return one_huge_frame(7);
    });
    // Carved after the culprit's stack: just below its guard page.
    Future<Void> neighbour = spawn([] { wait(delay(2s)); });
    (void)rt.run_until(culprit);
  });
  INFO("child stderr: " << r.err);
  CHECK(r.signal == SIGABRT);
  CHECK(r.err.find("flow: stack overflow") != std::string::npos);
  CHECK(r.err.find("of process 'huge-frame-process'") != std::string::npos);
}

TEST_CASE("a segmentation fault that is not an overflow still ends the program with SIGSEGV") {
  const ChildResult r = run_in_child([] {
    Runtime rt;
    rt.run([] {
      // Not null: UBSan would report a null store itself, before any fault.
      volatile uintptr_t address = 64;
      *reinterpret_cast<volatile int*>(address) = 1;
    });
  });
  INFO("child output: " << r.err);
  // The handler before ours gets the fault: doctest's (which re-raises it), or ASan's (which
  // reports it and exits) when there is no doctest handler in between.
  CHECK((r.signal == SIGSEGV || r.err.find("AddressSanitizer: SEGV") != std::string::npos));
  CHECK(r.err.find("flow: stack overflow") == std::string::npos);
}

TEST_CASE("waiting inside a catch block aborts, in every build") {
  const ChildResult r = run_in_child([] {
    Runtime rt;
    // Two actors parked in catch blocks would share the thread's chain of caught exceptions:
    // each would rethrow the other's error.
    auto catcher = [](ErrorCode code) {
      try {
        throw Error(code);
      } catch (const Error&) {
        wait(delay(1s));
        throw;
      }
    };
    Future<Void> a = spawn(catcher, ErrorCode::timed_out);
    Future<Void> b = spawn(catcher, ErrorCode::io_error);
    rt.run_until_quiescent();
  });
  INFO("child output: " << r.err);
  CHECK(r.signal == SIGABRT);
  CHECK(r.err.find("actor #1 of process main waited inside a catch block") != std::string::npos);
}

TEST_CASE("waiting in a destructor while an exception unwinds aborts, in every build") {
  const ChildResult r = run_in_child([] {
    Runtime rt;
    struct WaitsWhenDestroyed {
      ~WaitsWhenDestroyed() { wait(delay(1s)); }
    };
    Future<Void> a = spawn([] {
      WaitsWhenDestroyed w;
      wait(delay(1s));
      throw Error(ErrorCode::timed_out);
    });
    rt.run_until_quiescent();
  });
  INFO("child output: " << r.err);
  CHECK(r.signal == SIGABRT);
  CHECK(r.err.find("waited inside a catch block or a destructor (1 exception(s) being thrown")
        != std::string::npos);
}

TEST_CASE("wait_any on an invalid future asserts") {
  const ChildResult r = run_in_child([] {
    Runtime rt;
    rt.run([] {
      Future<Void> valid = delay(1s);
      Future<Void> invalid;
      (void)wait_any(valid, invalid);
    });
  });
  INFO("child output: " << r.err);
  CHECK(r.signal == SIGABRT);
  CHECK(r.err.find("wait_any on an invalid future (argument 1 of 2)") != std::string::npos);
}
