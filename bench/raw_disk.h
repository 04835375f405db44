#pragma once
// The disk's own sync rate, for benchmarks to print beside their figures: append `bytes` at the
// end of a scratch file at `path` and fdatasync it, in a loop on this thread, for `seconds`.
// Returns syncs per second (and, from raw_fdatasync, their latencies); removes the file. Throws std::runtime_error naming the path and the
// system's error if the file cannot be created or written.

#include <cstddef>
#include <string>

namespace bench {

struct RawSync {
  double per_s = 0;
  double p50_ms = 0;  // of one write and its fdatasync
  double p99_ms = 0;
};

RawSync raw_fdatasync(const std::string& path, size_t bytes, double seconds);
double raw_fdatasync_rate(const std::string& path, size_t bytes, double seconds);

}  // namespace bench
