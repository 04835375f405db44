#pragma once
// The disk's own sync rate, for benchmarks to print beside their figures: append `bytes` at the
// end of a scratch file at `path` and fdatasync it, in a loop on this thread, for `seconds`.
// Returns syncs per second; removes the file. Throws std::runtime_error naming the path and the
// system's error if the file cannot be created or written.

#include <cstddef>
#include <string>

namespace bench {

double raw_fdatasync_rate(const std::string& path, size_t bytes, double seconds);

}  // namespace bench
