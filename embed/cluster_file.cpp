#include "embed/cluster_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

namespace embed {

flow::ErrorOr<roles::ClusterDescription> read_cluster_file(const std::string& path, std::string* why) {
  const auto refuse = [&](std::string what, flow::ErrorCode code) -> flow::ErrorOr<roles::ClusterDescription> {
    if (why != nullptr) *why = std::move(what);
    return flow::Error(code);
  };
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return refuse("the cluster file " + path + " is a folder", flow::ErrorCode::file_not_found);
  std::ifstream in(path, std::ios::binary);
  if (!in) return refuse("cannot read the cluster file " + path, flow::ErrorCode::file_not_found);
  // A description is one short line: read a little more than the longest, never a whole device.
  std::string text(kClusterFileBytesMax + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kClusterFileBytesMax)
    return refuse("the cluster file " + path + " is larger than a description can be",
                  flow::ErrorCode::connection_string_invalid);
  std::string what;
  flow::ErrorOr<roles::ClusterDescription> d = roles::parse_cluster_description(text, &what);
  if (!d.ok() && why != nullptr) *why = "the cluster file " + path + " is not a cluster description: " + what;
  return d;
}

bool write_cluster_file(const std::string& path, const roles::ClusterDescription& d) {
  const std::string text = d.to_string() + "\n";
  // A name of this process's own: processes sharing a cluster file may rewrite it at once.
  const std::string temporary = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                       ::fsync(fd) == 0;
  ::close(fd);
  std::error_code ec;
  if (!written) {
    std::filesystem::remove(temporary, ec);
    return false;
  }
  std::filesystem::rename(temporary, path, ec);
  if (ec) return false;
  std::filesystem::path folder = std::filesystem::path(path).parent_path();
  if (folder.empty()) folder = ".";
  const int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return true;
}

}  // namespace embed
