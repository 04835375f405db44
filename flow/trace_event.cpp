#include "flow/trace_event.h"

#include <cmath>
#include <cstdio>

#include <fmt/format.h>
#include <xxhash.h>

#include "flow/assert.h"
#include "flow/error.h"
#include "flow/runtime.h"

namespace flow {
namespace {

class FileTraceSink final : public ITraceSink {
 public:
  FileTraceSink(const std::string& path, Severity min_severity)
      : file_(std::fopen(path.c_str(), "w")), min_(min_severity) {
    // A path from outside (a command line): an error for the caller, never an assertion.
    if (file_ == nullptr) throw Error(ErrorCode::io_error);
  }
  ~FileTraceSink() override { std::fclose(file_); }
  void write(Severity severity, std::string_view line) override {
    if (severity < min_) return;
    std::fwrite(line.data(), 1, line.size(), file_);
    std::fputc('\n', file_);
  }
  void flush() override { std::fflush(file_); }

 private:
  std::FILE* file_;
  Severity min_;
};

}  // namespace

std::unique_ptr<ITraceSink> make_file_trace_sink(const std::string& path, Severity min_severity) {
  return std::make_unique<FileTraceSink>(path, min_severity);
}

TraceLog::~TraceLog() {
  flush();
}

void TraceLog::flush() {
  for (auto& s : sinks_)
    s->flush();
}

void TraceLog::emit(Severity severity, std::string_view line) {
  digest_ = XXH3_64bits_withSeed(line.data(), line.size(), digest_);
  ++events_;
  if (severity >= SevError) {
    if (errors_ == 0) first_error_ = std::string(line);
    ++errors_;
  }
  for (auto& s : sinks_)
    s->write(severity, line);
}

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(static_cast<unsigned char>(c)));
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

TraceEvent::TraceEvent(Severity severity, std::string_view type) : severity_(severity) {
  line_.reserve(160);
  Runtime* rt = Runtime::current();
  const int64_t t = rt ? to_ns(rt->now()) : 0;
  fmt::format_to(std::back_inserter(line_),
                 "{{\"Severity\":{},\"Time\":\"{}.{:09}\",\"Type\":", static_cast<int>(severity),
                 t / 1'000'000'000, t % 1'000'000'000);
  append_json_string(line_, type);
  if (rt) {
    const Process& p = rt->current_process();
    line_ += ",\"Machine\":";
    append_json_string(line_, p.machine());
    line_ += ",\"Process\":";
    append_json_string(line_, p.name());
  }
}

TraceEvent::~TraceEvent() {
  line_.push_back('}');
  if (Runtime* rt = Runtime::current()) {
    rt->trace().emit(severity_, line_);
  } else {
    std::fprintf(stderr, "%s\n", line_.c_str());
  }
}

void TraceEvent::key(std::string_view k) {
  line_.push_back(',');
  append_json_string(line_, k);
  line_.push_back(':');
}

TraceEvent& TraceEvent::detail(std::string_view k, std::string_view value) {
  key(k);
  append_json_string(line_, value);
  return *this;
}

TraceEvent& TraceEvent::detail(std::string_view k, bool value) {
  key(k);
  line_ += value ? "true" : "false";
  return *this;
}

TraceEvent& TraceEvent::detail(std::string_view k, double value) {
  // JSON has no NaN or infinity: those go as strings, so that every line stays JSON.
  if (std::isnan(value)) return detail(k, std::string_view("NaN"));
  if (std::isinf(value)) return detail(k, std::string_view(value > 0 ? "Infinity" : "-Infinity"));
  key(k);
  // fmt prints the shortest text that reads back as the same double: identical on every platform.
  fmt::format_to(std::back_inserter(line_), "{}", value);
  return *this;
}

TraceEvent& TraceEvent::detail(std::string_view k, Error value) {
  return detail(k, value.name());
}

TraceEvent& TraceEvent::detail_int(std::string_view k, int64_t value) {
  key(k);
  fmt::format_to(std::back_inserter(line_), "{}", value);
  return *this;
}

TraceEvent& TraceEvent::detail_uint(std::string_view k, uint64_t value) {
  key(k);
  fmt::format_to(std::back_inserter(line_), "{}", value);
  return *this;
}

TraceEvent& TraceEvent::error(Error e) {
  detail("Error", e.name());
  return detail_int("ErrorCode", e.number());
}

}  // namespace flow
