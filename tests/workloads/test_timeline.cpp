// The timeline page: the run's data lands inside the page's script, escaped so that no string in
// it can end the script early, and the page's marker is gone.
#include <doctest/doctest.h>

#include <string>

#include "workloads/timeline.h"

using workloads::render_timeline_html;
using workloads::TimelineData;

TEST_CASE("timeline: the data goes into the page, with </script> and <!-- in strings made harmless") {
  TimelineData d;
  d.title = "strata-sim x.toml --seed 7";
  d.outcome = "FAIL: <!--<script>";
  d.processes.push_back({"dc0-m0-p0", "dc0-m0", 0, "10.0.0.1", false});
  d.processes.push_back({"tester", "tester", -1, "10.255.7.1", true});
  d.events.push_back(R"({"Severity":40,"Time":"1.5","Type":"X","Why":"</script><b>"})");
  d.writes.push_back({0x0a000001, 0x0aff0701, 1'000'000'000, 1'002'000'000, 64});
  d.writes.push_back({0x0a000001, 0x0b000001, 0, 1, 1});  // to no process: left out
  d.writes.push_back({0x0aff0701, 0x0a000001, 2'000'000'000, -1, 8});  // held to the end
  const std::string page = render_timeline_html(d);
  CHECK(page.find("/*TIMELINE_DATA*/") == std::string::npos);
  CHECK(page.find("</script><b>") == std::string::npos);
  CHECK(page.find(R"(\u003c/script>\u003cb>)") != std::string::npos);
  CHECK(page.find(R"("name":"dc0-m0-p0","machine":"dc0-m0","dc":0,"ip":"10.0.0.1")") != std::string::npos);
  CHECK(page.find(R"("writes":[[0,1,1.000000000,1.002000000,64],[1,0,2.000000000,null,8]])") != std::string::npos);
  CHECK(page.find(R"("title":"strata-sim x.toml --seed 7","outcome":"FAIL: \u003c!--\u003cscript>")") != std::string::npos);
  CHECK(page.find("<!--<script>") == std::string::npos);
}

TEST_CASE("timeline: what is past the bounds is counted, not kept") {
  auto d = std::make_shared<TimelineData>();
  auto sink = workloads::make_timeline_trace_sink(d);
  for (size_t i = 0; i < TimelineData::kEventsMax + 3; ++i) sink->write(flow::SevInfo, R"({"Type":"E"})");
  CHECK(d->events.size() == TimelineData::kEventsMax);
  CHECK(d->events_dropped == 3);
  sim::SimNetwork::WriteRecord w{1, 2, flow::kTimeZero, flow::kTimeZero, 1};
  for (size_t i = 0; i < TimelineData::kWritesMax + 2; ++i) workloads::record_timeline_write(*d, w);
  CHECK(d->writes.size() == TimelineData::kWritesMax);
  CHECK(d->writes_dropped == 2);
}
