#pragma once
// What the database benchmarks (db-bench, kv-bench) share to report latencies.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <vector>

namespace bench {

// `d` in milliseconds.
inline double ms(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// The `p` quantile (0..1) of `v`; 0 for none.
inline double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace bench
