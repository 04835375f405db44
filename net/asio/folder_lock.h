#pragma once
// One process per data folder: a lock file in it, held (flock) for as long as the process lives,
// so that a second strata-server or embedded database on the same files is refused instead of
// sharing them.

#include <string>

namespace net {

class FolderLock {
 public:
  // Creates `folder` if missing and takes its lock; if it cannot (another process holds it, or the
  // folder cannot be made), held() is false and why() says so.
  explicit FolderLock(const std::string& folder);
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
