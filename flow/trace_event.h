#pragma once
// TraceEvent — structured, deterministic logging, and the run's trace digest.
//
//   TraceEvent(SevInfo, "RecoveryComplete").detail("Generation", gen).detail("Took", took);
//
// An event becomes one JSON line when the TraceEvent object is destroyed:
//   {"Severity":10,"Time":"12.000250000","Type":"RecoveryComplete","Machine":"m1",
//    "Process":"10.0.0.1:1","Generation":7,"Took":250000}
// Time is world time in seconds with nanosecond digits; durations and times in details are
// integer nanoseconds. Every event, whatever its severity and whether or not it is written
// anywhere, is folded into the run's trace digest (chained XXH3-64 of the lines), so two runs of
// one seed have equal digests exactly when they logged the same events in the same order.
// A SevError event fails a simulation run.
//
// TraceLog owns the digest, the counters and the sinks; one lives in each flow::Runtime.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "flow/error.h"
#include "flow/time.h"

namespace flow {

enum class Severity : int { kDebug = 5, kInfo = 10, kWarn = 20, kWarnAlways = 30, kError = 40 };
inline constexpr Severity SevDebug = Severity::kDebug;
inline constexpr Severity SevInfo = Severity::kInfo;
inline constexpr Severity SevWarn = Severity::kWarn;
inline constexpr Severity SevWarnAlways = Severity::kWarnAlways;
inline constexpr Severity SevError = Severity::kError;

// Where trace lines go. Sinks only receive; nothing they do can affect the run.
class ITraceSink {
 public:
  virtual ~ITraceSink() = default;
  virtual void write(Severity severity, std::string_view line) = 0;
  virtual void flush() {}
};

// Writes lines at or above a severity to a file. A sink of the runtime itself: it never reads
// anything back, so it may touch a real file even inside a simulation. Throws io_error if the file
// cannot be opened for writing.
std::unique_ptr<ITraceSink> make_file_trace_sink(const std::string& path, Severity min_severity);

// Writes lines at or above a severity to `folder/<name>.<n>.jsonl`, each line as it comes (a
// process killed at once loses none it wrote), starting a file with the next n once one holds
// `max_file_bytes`, and keeping the newest `keep_files` (older ones are deleted). n goes on from
// the highest already in the folder, so a restarted process never overwrites its traces.
// Throws io_error if the folder cannot be created or a file opened. For real processes (a
// server's --trace-dir).
std::unique_ptr<ITraceSink> make_rotating_trace_sink(const std::string& folder, const std::string& name,
                                                     int64_t max_file_bytes, int keep_files, Severity min_severity);

class TraceLog {
 public:
  TraceLog() = default;
  TraceLog(const TraceLog&) = delete;
  TraceLog& operator=(const TraceLog&) = delete;
  ~TraceLog();

  void add_sink(std::unique_ptr<ITraceSink> sink) { sinks_.push_back(std::move(sink)); }
  void flush();

  uint64_t digest() const { return digest_; }
  uint64_t event_count() const { return events_; }
  uint64_t error_count() const { return errors_; }
  // The first SevError event's line, for a failure report.
  const std::string& first_error() const { return first_error_; }

  // Appends one finished line (no newline). Used by TraceEvent.
  void emit(Severity severity, std::string_view line);

 private:
  std::vector<std::unique_ptr<ITraceSink>> sinks_;
  uint64_t digest_ = 0;
  uint64_t events_ = 0;
  uint64_t errors_ = 0;
  std::string first_error_;
};

class TraceEvent {
 public:
  TraceEvent(Severity severity, std::string_view type);
  ~TraceEvent();
  TraceEvent(const TraceEvent&) = delete;
  TraceEvent& operator=(const TraceEvent&) = delete;

  TraceEvent& detail(std::string_view key, std::string_view value);
  TraceEvent& detail(std::string_view key, const char* value) {
    return detail(key, std::string_view(value));
  }
  TraceEvent& detail(std::string_view key, const std::string& value) {
    return detail(key, std::string_view(value));
  }
  TraceEvent& detail(std::string_view key, bool value);
  TraceEvent& detail(std::string_view key, double value);
  TraceEvent& detail(std::string_view key, Duration value) {
    return detail_int(key, value.count());
  }
  TraceEvent& detail(std::string_view key, Time value) { return detail_int(key, to_ns(value)); }
  TraceEvent& detail(std::string_view key, Error value);
  template <class I>
  requires(std::is_integral_v<I> &&
           !std::is_same_v<I, bool>) TraceEvent& detail(std::string_view key, I value) {
    if constexpr (std::is_signed_v<I>) {
      return detail_int(key, static_cast<int64_t>(value));
    } else {
      return detail_uint(key, static_cast<uint64_t>(value));
    }
  }
  // Records e's name and code as "Error" and "ErrorCode".
  TraceEvent& error(Error e);

 private:
  TraceEvent& detail_int(std::string_view key, int64_t value);
  TraceEvent& detail_uint(std::string_view key, uint64_t value);
  void key(std::string_view k);

  Severity severity_;
  std::string line_;
};

// Appends s to out as a JSON string literal (with quotes).
void append_json_string(std::string& out, std::string_view s);

}  // namespace flow
