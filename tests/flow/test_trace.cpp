// TraceEvent: JSON lines, the digest, and error counting.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "flow/flow.h"

using namespace flow;
using namespace std::chrono_literals;

namespace {

struct CaptureSink : ITraceSink {
  explicit CaptureSink(std::vector<std::string>* out) : lines(out) {}
  void write(Severity, std::string_view line) override { lines->emplace_back(line); }
  std::vector<std::string>* lines;
};

}  // namespace

TEST_CASE("a trace event is one JSON line with time, type, process and details") {
  Runtime rt({.main_process_name = "10.0.0.1:1"});
  std::vector<std::string> lines;
  rt.trace().add_sink(std::make_unique<CaptureSink>(&lines));
  rt.run([] {
    wait(delay(1500ms));
    TraceEvent(SevWarn, "Something \"odd\"")
        .detail("Count", 3)
        .detail("Big", uint64_t{18446744073709551615ULL})
        .detail("Ratio", 0.25)
        .detail("Ok", true)
        .detail("Took", 250ms)
        .detail("Text", "line\nbreak")
        .error(Error(ErrorCode::io_error));
  });
  REQUIRE(lines.size() == 1);
  CHECK(lines[0] ==
        "{\"Severity\":20,\"Time\":\"1.500000000\",\"Type\":\"Something \\\"odd\\\"\","
        "\"Machine\":\"\",\"Process\":\"10.0.0.1:1\",\"Count\":3,\"Big\":18446744073709551615,"
        "\"Ratio\":0.25,\"Ok\":true,\"Took\":250000000,\"Text\":\"line\\nbreak\","
        "\"Error\":\"io_error\",\"ErrorCode\":1510}");
}

TEST_CASE("a detail that is not a finite number stays JSON: NaN and infinities go as strings") {
  Runtime rt({.main_process_name = "p"});
  std::vector<std::string> lines;
  rt.trace().add_sink(std::make_unique<CaptureSink>(&lines));
  rt.run([] {
    const double zero = 0;
    TraceEvent(SevInfo, "Odd").detail("A", zero / zero).detail("B", 1 / zero).detail("C", -1 / zero);
  });
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find("\"A\":\"NaN\",\"B\":\"Infinity\",\"C\":\"-Infinity\"") != std::string::npos);
}

TEST_CASE("the digest covers every event, in order") {
  auto digest_of = [](std::vector<int> values) {
    Runtime rt;
    for (int v : values)
      TraceEvent(SevDebug, "E").detail("V", v);
    return rt.trace().digest();
  };
  CHECK(digest_of({1, 2, 3}) == digest_of({1, 2, 3}));
  CHECK(digest_of({1, 2, 3}) != digest_of({1, 3, 2}));
  CHECK(digest_of({1, 2}) != digest_of({1, 2, 3}));
}

TEST_CASE("SevError events are counted and the first one kept") {
  Runtime rt;
  TraceEvent(SevInfo, "Fine");
  CHECK(rt.trace().error_count() == 0);
  TraceEvent(SevError, "Broken").detail("Why", "test");
  TraceEvent(SevError, "BrokenAgain");
  CHECK(rt.trace().error_count() == 2);
  CHECK(rt.trace().first_error().find("\"Broken\"") != std::string::npos);
}

TEST_CASE("a trace file that cannot be written is an error, not an assertion") {
  try {
    auto sink = flow::make_file_trace_sink("/nonexistent-strata-dir/trace.json", flow::SevInfo);
    FAIL("opened a trace file in a missing directory");
  } catch (const flow::Error& e) {
    CHECK(e.code() == flow::ErrorCode::io_error);
  }
  try {
    flow::Runtime rt({.trace_file = "/nonexistent-strata-dir/trace.json"});
    FAIL("a runtime started with an unwritable trace file");
  } catch (const flow::Error& e) {
    CHECK(e.code() == flow::ErrorCode::io_error);
  }
}
