#pragma once
// One process per data folder: a lock file in it, held (flock) for as long as the process lives,
// so that a second strata-server or embedded database on the same files is refused instead of
// sharing them.

#include <chrono>
#include <string>

namespace net {

class FolderLock {
 public:
  // Creates `folder` if missing and takes its lock; if it cannot (another process holds it, or the
  // folder cannot be made), held() is false and why() says so. A lock held by another process is
  // asked for again for up to `wait`: a process killed a moment ago (kill -9, then a restart)
  // holds its files until its last thread has exited, which takes a while for a large one, after
  // it already looks gone (a zombie).
  explicit FolderLock(const std::string& folder, std::chrono::milliseconds wait = std::chrono::milliseconds(0));
  ~FolderLock();
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

  bool held() const { return fd_ >= 0; }
  const std::string& why() const { return why_; }

 private:
  int fd_ = -1;
  std::string why_;
};

}  // namespace net
