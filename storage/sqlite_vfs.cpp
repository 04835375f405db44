#include "storage/sqlite_vfs.h"

#include <sqlite3.h>

#include <cstring>
#include <new>

#include "flow/combinators.h"
#include "flow/deterministic_random.h"
#include "flow/trace_event.h"

namespace storage {

using flow::Error;
using flow::ErrorCode;

namespace {

SqliteVfs& owner(sqlite3_vfs* vfs) {
  return *static_cast<SqliteVfs*>(vfs->pAppData);
}

// What SQLite's sqlite3_file is for us: the page file and the VFS that keeps the errors.
struct OpenFile {
  sqlite3_file base;  // first, as SQLite requires
  SqliteVfs* vfs;
};

OpenFile& as_file(sqlite3_file* f) {
  return *reinterpret_cast<OpenFile*>(f);
}

// Runs `fn`, turning a flow::Error (or anything else) into `code` for SQLite.
template <class Fn>
int guarded(SqliteVfs& vfs, int code, Fn fn) {
  try {
    return fn();
  } catch (const Error& e) {
    vfs.set_last_error(e);
    return e.code() == ErrorCode::checksum_failed ? SQLITE_IOERR_DATA : code;
  } catch (const std::bad_alloc&) {
    return SQLITE_NOMEM;
  } catch (...) {
    vfs.set_last_error(Error(ErrorCode::internal_error));
    return code;
  }
}

int file_close(sqlite3_file*) {
  return SQLITE_OK;
}

int file_read(sqlite3_file* f, void* buffer, int amount, sqlite3_int64 offset) {
  OpenFile& of = as_file(f);
  return guarded(*of.vfs, SQLITE_IOERR_READ, [&] {
    std::span<uint8_t> out(static_cast<uint8_t*>(buffer), static_cast<size_t>(amount));
    const size_t n = of.vfs->file().read(out, offset);
    return n == out.size() ? SQLITE_OK : SQLITE_IOERR_SHORT_READ;
  });
}

int file_write(sqlite3_file* f, const void* data, int amount, sqlite3_int64 offset) {
  OpenFile& of = as_file(f);
  return guarded(*of.vfs, SQLITE_IOERR_WRITE, [&] {
    of.vfs->file().write(
        std::span<const uint8_t>(static_cast<const uint8_t*>(data), static_cast<size_t>(amount)),
        offset);
    return SQLITE_OK;
  });
}

int file_truncate(sqlite3_file* f, sqlite3_int64 size) {
  OpenFile& of = as_file(f);
  return guarded(*of.vfs, SQLITE_IOERR_TRUNCATE, [&] {
    of.vfs->file().truncate(size);
    return SQLITE_OK;
  });
}

// Durability comes from LoggedPageFile::commit(), which the engine calls after COMMIT.
int file_sync(sqlite3_file*, int) {
  return SQLITE_OK;
}

int file_size(sqlite3_file* f, sqlite3_int64* size) {
  *size = as_file(f).vfs->file().size();
  return SQLITE_OK;
}

// One connection per database, in one process: locks always succeed.
int file_lock(sqlite3_file*, int) {
  return SQLITE_OK;
}
int file_check_reserved_lock(sqlite3_file*, int* reserved) {
  *reserved = 0;
  return SQLITE_OK;
}
int file_control(sqlite3_file*, int, void*) {
  return SQLITE_NOTFOUND;
}
int file_sector_size(sqlite3_file*) {
  return static_cast<int>(LoggedPageFile::kPageBytes);
}
int file_device_characteristics(sqlite3_file*) {
  return SQLITE_IOCAP_POWERSAFE_OVERWRITE;
}

const sqlite3_io_methods kIoMethods = {
    1,  // iVersion: no shared memory (no WAL), no mmap
    file_close,
    file_read,
    file_write,
    file_truncate,
    file_sync,
    file_size,
    file_lock,
    file_lock,
    file_check_reserved_lock,
    file_control,
    file_sector_size,
    file_device_characteristics,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
};

int vfs_open(sqlite3_vfs* vfs, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  SqliteVfs& self = owner(vfs);
  f->pMethods = nullptr;  // SQLite must not call xClose on a failed open
  if (name == nullptr || !(flags & SQLITE_OPEN_MAIN_DB) || self.path() != name) {
    flow::TraceEvent(flow::SevWarnAlways, "SqliteVfsOpenRefused")
        .detail("Name", name ? name : "(temporary)")
        .detail("Flags", static_cast<int64_t>(flags));
    return SQLITE_CANTOPEN;
  }
  OpenFile* of = new (f) OpenFile;
  of->base.pMethods = &kIoMethods;
  of->vfs = &self;
  if (out_flags) *out_flags = flags;
  return SQLITE_OK;
}

int vfs_delete(sqlite3_vfs*, const char*, int) {
  return SQLITE_OK;  // there are no journals to delete
}

// Only the database file exists: SQLite never finds a hot journal or a WAL to recover.
int vfs_access(sqlite3_vfs* vfs, const char* name, int, int* result) {
  *result = owner(vfs).path() == name ? 1 : 0;
  return SQLITE_OK;
}

int vfs_full_pathname(sqlite3_vfs*, const char* name, int size, char* out) {
  sqlite3_snprintf(size, out, "%s", name);
  return SQLITE_OK;
}

int vfs_randomness(sqlite3_vfs*, int bytes, char* out) {
  flow::deterministic_random().random_bytes(
      std::span(reinterpret_cast<uint8_t*>(out), static_cast<size_t>(bytes)));
  return bytes;
}

int vfs_sleep(sqlite3_vfs*, int microseconds) {
  return microseconds;  // nothing to wait for: there is no other connection
}

// Milliseconds since the Julian epoch, from the process's clock.
int vfs_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) {
  constexpr sqlite3_int64 kUnixEpochJulianMs = 210866760000000LL;
  *out = kUnixEpochJulianMs + flow::to_ns(flow::now()) / 1'000'000;
  return SQLITE_OK;
}

int vfs_current_time(sqlite3_vfs* vfs, double* out) {
  sqlite3_int64 ms = 0;
  vfs_current_time_int64(vfs, &ms);
  *out = static_cast<double>(ms) / 86400000.0;
  return SQLITE_OK;
}

int vfs_get_last_error(sqlite3_vfs*, int, char*) {
  return 0;
}

uint64_t next_vfs_number = 0;

}  // namespace

std::unique_ptr<SqliteVfs> SqliteVfs::open(flow::IFileSystem& fs, const std::string& path,
                                           int64_t checkpoint_bytes) {
  std::unique_ptr<SqliteVfs> self(new SqliteVfs());
  self->path_ = path;
  self->name_ = "strata-" + std::to_string(next_vfs_number++);
  self->file_ = LoggedPageFile::open(fs, path, checkpoint_bytes);
  auto vfs = std::make_unique<sqlite3_vfs>();
  std::memset(vfs.get(), 0, sizeof(sqlite3_vfs));
  vfs->iVersion = 2;
  vfs->szOsFile = sizeof(OpenFile);
  vfs->mxPathname = 1024;
  vfs->zName = self->name_.c_str();
  vfs->pAppData = self.get();
  vfs->xOpen = vfs_open;
  vfs->xDelete = vfs_delete;
  vfs->xAccess = vfs_access;
  vfs->xFullPathname = vfs_full_pathname;
  vfs->xRandomness = vfs_randomness;
  vfs->xSleep = vfs_sleep;
  vfs->xCurrentTime = vfs_current_time;
  vfs->xGetLastError = vfs_get_last_error;
  vfs->xCurrentTimeInt64 = vfs_current_time_int64;
  if (sqlite3_vfs_register(vfs.get(), 0) != SQLITE_OK) throw Error(ErrorCode::internal_error);
  self->vfs_ = std::move(vfs);
  return self;
}

SqliteVfs::~SqliteVfs() {
  if (vfs_) sqlite3_vfs_unregister(vfs_.get());
}

}  // namespace storage
