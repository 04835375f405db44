#include "bench/raw_disk.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace bench {

RawSync raw_fdatasync(const std::string& path, size_t bytes, double seconds) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot create " + path + ": " + std::strerror(errno));
  const std::vector<char> block(bytes, 0x5a);
  off_t at = 0;
  uint64_t syncs = 0;
  std::vector<double> latencies_ms;
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    const auto t0 = Clock::now();
    if (::pwrite(fd, block.data(), block.size(), at) != static_cast<ssize_t>(block.size()) ||
        ::fdatasync(fd) != 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      ::unlink(path.c_str());
      throw std::runtime_error("raw write to " + path + " failed: " + why);
    }
    latencies_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    at += static_cast<off_t>(block.size());
    ++syncs;
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  ::close(fd);
  ::unlink(path.c_str());
  std::sort(latencies_ms.begin(), latencies_ms.end());
  const auto at_fraction = [&](double p) {
    return latencies_ms.empty()
               ? 0.0
               : latencies_ms[std::min(
                     latencies_ms.size() - 1,
                     static_cast<size_t>(p * static_cast<double>(latencies_ms.size())))];
  };
  return {static_cast<double>(syncs) / elapsed, at_fraction(0.5), at_fraction(0.99)};
}

double raw_fdatasync_rate(const std::string& path, size_t bytes, double seconds) {
  return raw_fdatasync(path, bytes, seconds).per_s;
}

}  // namespace bench
