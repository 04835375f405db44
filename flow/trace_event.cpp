#include "flow/trace_event.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>

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

class RotatingTraceSink final : public ITraceSink {
 public:
  RotatingTraceSink(std::string folder, std::string name, int64_t max_file_bytes, int keep_files, Severity min_severity)
      : folder_(std::move(folder)), name_(std::move(name)), max_bytes_(max_file_bytes), keep_(keep_files), min_(min_severity) {
    std::error_code ec;
    std::filesystem::create_directories(folder_, ec);
    if (ec || !std::filesystem::is_directory(folder_, ec)) throw Error(ErrorCode::io_error);
    // Go on after the highest number already here.
    for (const auto& entry : std::filesystem::directory_iterator(folder_, ec)) {
      const std::string file = entry.path().filename().string();
      const std::string prefix = name_ + ".";
      if (file.rfind(prefix, 0) != 0 || file.size() <= prefix.size() + 6 || !file.ends_with(".jsonl")) continue;
      const std::string digits = file.substr(prefix.size(), file.size() - prefix.size() - 6);
      if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
      next_ = std::max<int64_t>(next_, std::stoll(digits) + 1);
    }
    if (ec) throw Error(ErrorCode::io_error);
    open_next();
  }
  ~RotatingTraceSink() override {
    if (file_ != nullptr) std::fclose(file_);
  }
  void write(Severity severity, std::string_view line) override {
    if (severity < min_ || file_ == nullptr) return;
    std::fwrite(line.data(), 1, line.size(), file_);
    std::fputc('\n', file_);
    std::fflush(file_);
    written_ += static_cast<int64_t>(line.size()) + 1;
    if (written_ >= max_bytes_) open_next();
  }
  void flush() override {
    if (file_ != nullptr) std::fflush(file_);
  }

 private:
  std::string path_of(int64_t n) const { return fmt::format("{}/{}.{}.jsonl", folder_, name_, n); }
  void open_next() {
    if (file_ != nullptr) std::fclose(file_);
    file_ = std::fopen(path_of(next_).c_str(), "w");
    if (file_ == nullptr) throw Error(ErrorCode::io_error);
    written_ = 0;
    std::error_code ec;
    if (next_ >= keep_) std::filesystem::remove(path_of(next_ - keep_), ec);  // best effort
    ++next_;
  }

  std::string folder_, name_;
  int64_t max_bytes_;
  int keep_;
  Severity min_;
  std::FILE* file_ = nullptr;
  int64_t next_ = 0;
  int64_t written_ = 0;
};

}  // namespace

std::unique_ptr<ITraceSink> make_rotating_trace_sink(const std::string& folder, const std::string& name,
                                                     int64_t max_file_bytes, int keep_files, Severity min_severity) {
  return std::make_unique<RotatingTraceSink>(folder, name, std::max<int64_t>(max_file_bytes, 1),
                                             std::max(keep_files, 1), min_severity);
}

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
