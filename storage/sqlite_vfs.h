#pragma once
// SqliteVfs — a SQLite VFS whose one database file is a LoggedPageFile on an IFileSystem, so
// SQLite runs unchanged on the simulated disk (and on real files).
//
// SQLite calls a VFS synchronously; the methods here wait on the file system's futures, which
// suspends the calling actor's fiber, so SQLite must only be called from an actor (and by one
// actor at a time per connection). A flow::Error inside a method never crosses SQLite's C frames:
// it is kept (last_error()) and SQLite gets an SQLITE_IOERR code; the caller rethrows it once
// SQLite returns.
//
// Only the main database file can be opened: the connection must use journal_mode=MEMORY (or OFF)
// and temp_store=MEMORY, since atomicity and durability come from the LoggedPageFile's log, not
// from SQLite's journals. xSync does nothing; commit() is the durability point.
//
// Each instance registers its own VFS (named "strata-<n>") for as long as it lives.

#include <memory>
#include <optional>
#include <string>

#include "flow/error.h"
#include "flow/file_system.h"
#include "storage/logged_page_file.h"

struct sqlite3_vfs;

namespace storage {

class SqliteVfs {
 public:
  // Opens and recovers the database file at `path`. May suspend.
  static std::unique_ptr<SqliteVfs> open(flow::IFileSystem& fs, const std::string& path,
                                         int64_t checkpoint_bytes);
  ~SqliteVfs();
  SqliteVfs(const SqliteVfs&) = delete;
  SqliteVfs& operator=(const SqliteVfs&) = delete;

  // The name to give sqlite3_open_v2, and the file name to open through it.
  const char* name() const { return name_.c_str(); }
  const std::string& path() const { return path_; }

  LoggedPageFile& file() { return *file_; }
  // The error behind the last SQLITE_IOERR a method returned (taken: cleared by the call).
  std::optional<flow::Error> take_last_error() { return std::exchange(last_error_, std::nullopt); }

  // For the C callbacks.
  void set_last_error(const flow::Error& e) { last_error_ = e; }

 private:
  SqliteVfs() = default;

  std::string name_;
  std::string path_;
  std::unique_ptr<LoggedPageFile> file_;
  std::unique_ptr<sqlite3_vfs> vfs_;
  std::optional<flow::Error> last_error_;
};

}  // namespace storage
