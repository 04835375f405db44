#include "workloads/timeline.h"

#include <fmt/format.h>

#include <map>
#include <string_view>
#include <utility>

#include "workloads/timeline_page.h"

namespace workloads {

namespace {

class TimelineTraceSink final : public flow::ITraceSink {
 public:
  explicit TimelineTraceSink(std::shared_ptr<TimelineData> data) : data_(std::move(data)) {}
  void write(flow::Severity, std::string_view line) override {
    if (data_->events.size() >= TimelineData::kEventsMax) {
      ++data_->events_dropped;
      return;
    }
    data_->events.emplace_back(line);
  }

 private:
  std::shared_ptr<TimelineData> data_;
};

std::string json_string(std::string_view s) {
  std::string out;
  flow::append_json_string(out, s);
  return out;
}

std::string seconds(int64_t ns) { return fmt::format("{:.9f}", static_cast<double>(ns) / 1e9); }

}  // namespace

std::unique_ptr<flow::ITraceSink> make_timeline_trace_sink(std::shared_ptr<TimelineData> data) {
  return std::make_unique<TimelineTraceSink>(std::move(data));
}

void record_timeline_write(TimelineData& data, const sim::SimNetwork::WriteRecord& w) {
  if (data.writes.size() >= TimelineData::kWritesMax) {
    ++data.writes_dropped;
    return;
  }
  const int64_t arrives = w.arrives == sim::SimNetwork::kHeld ? -1 : flow::to_ns(w.arrives);
  data.writes.push_back({w.from, w.to, flow::to_ns(w.sent), arrives, w.bytes});
}

std::string render_timeline_html(const TimelineData& data) {
  std::string json = "{\"title\":" + json_string(data.title) + ",\"outcome\":" + json_string(data.outcome);
  json += ",\"processes\":[";
  std::map<std::string, size_t> lane_of_ip;  // "10.0.1.2" -> its process
  for (size_t i = 0; i < data.processes.size(); ++i) {
    const TimelineData::Process& p = data.processes[i];
    lane_of_ip.emplace(p.ip, i);
    json += fmt::format("{}{{\"name\":{},\"machine\":{},\"dc\":{},\"ip\":{},\"protected\":{}}}", i ? "," : "",
                        json_string(p.name), json_string(p.machine), p.datacenter, json_string(p.ip),
                        p.is_protected ? "true" : "false");
  }
  json += "],\"events\":[";
  for (size_t i = 0; i < data.events.size(); ++i) {
    if (i) json += ',';
    json += data.events[i];
  }
  json += "],\"writes\":[";
  bool first = true;
  for (const TimelineData::Write& w : data.writes) {
    const std::string from_ip = flow::NetworkAddress{w.from_ip, 0}.to_string();
    const std::string to_ip = flow::NetworkAddress{w.to_ip, 0}.to_string();
    const auto a = lane_of_ip.find(from_ip.substr(0, from_ip.rfind(':')));
    const auto b = lane_of_ip.find(to_ip.substr(0, to_ip.rfind(':')));
    if (a == lane_of_ip.end() || b == lane_of_ip.end()) continue;
    json += fmt::format("{}[{},{},{},{},{}]", first ? "" : ",", a->second, b->second, seconds(w.sent_ns),
                        w.arrives_ns < 0 ? std::string("null") : seconds(w.arrives_ns), w.bytes);
    first = false;
  }
  json += fmt::format("],\"eventsDropped\":{},\"writesDropped\":{}}}", data.events_dropped, data.writes_dropped);
  // Inside <script>, "</" would end the script early and "<!--" could make the parser look past
  // its end: every "<" goes as \u003c, which JSON reads back as "<" (it only occurs in strings).
  std::string safe;
  safe.reserve(json.size());
  for (const char c : json) {
    if (c == '<') {
      safe += "\\u003c";
    } else {
      safe += c;
    }
  }
  std::string page(kTimelinePage);
  const std::string_view marker = "/*TIMELINE_DATA*/";
  const size_t at = page.find(marker);
  page.replace(at, marker.size(), safe);
  return page;
}

}  // namespace workloads
