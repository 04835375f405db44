#include "net/asio/folder_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <system_error>
#include <thread>

namespace net {

FolderLock::FolderLock(const std::string& folder, std::chrono::milliseconds wait) {
  std::error_code ec;
  std::filesystem::create_directories(folder, ec);
  if (ec) {
    why_ = "cannot create the data folder " + folder + ": " + ec.message();
    return;
  }
  const std::string path = (std::filesystem::path(folder) / "strata.lock").string();
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    why_ = "cannot open " + path;
    return;
  }
  constexpr std::chrono::milliseconds kAskAgain(50);
  bool locked = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
  for (auto waited = std::chrono::milliseconds(0); !locked && waited < wait; waited += kAskAgain) {
    std::this_thread::sleep_for(kAskAgain);
    locked = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
  }
  if (!locked) {
    ::close(fd);
    why_ = "another process uses the data folder " + folder + " (" + path + " is locked)";
    return;
  }
  fd_ = fd;
}

FolderLock::~FolderLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the lock
}

}  // namespace net
