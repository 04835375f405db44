#include "storage/ssd_key_value_store.h"

#include <sqlite3.h>

#include "flow/code_probe.h"
#include "flow/error.h"
#include "flow/trace_event.h"

namespace storage {

using flow::Error;
using flow::ErrorCode;

namespace {

constexpr int kReservedBytes = static_cast<int>(LoggedPageFile::kChecksumBytes);

// SQLite binds a null pointer as NULL, not as an empty blob.
void bind_bytes(sqlite3_stmt* stmt, int index, std::string_view bytes) {
  static const char kEmpty = 0;
  sqlite3_bind_blob(stmt, index, bytes.empty() ? &kEmpty : bytes.data(),
                    static_cast<int>(bytes.size()), SQLITE_STATIC);
}

std::string column_bytes(sqlite3_stmt* stmt, int column) {
  const void* p = sqlite3_column_blob(stmt, column);
  const int n = sqlite3_column_bytes(stmt, column);
  return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
}

// Resets a statement when the scope ends, however it ends.
struct Reset {
  sqlite3_stmt* stmt;
  ~Reset() {
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
  }
};

}  // namespace

std::unique_ptr<SsdKeyValueStore> SsdKeyValueStore::open(flow::IFileSystem& fs,
                                                         const std::string& name,
                                                         KeyValueStoreOptions options) {
  std::unique_ptr<SsdKeyValueStore> store(new SsdKeyValueStore(options));
  store->name_ = name;
  store->vfs_ =
      SqliteVfs::open(fs, name + ".sqlite", std::max<int64_t>(options.log_file_bytes / 2, 1));
  store->connect();
  return store;
}

void SsdKeyValueStore::connect() {
  const bool fresh = vfs_->file().size() == 0;
  const int rc = sqlite3_open_v2(vfs_->path().c_str(), &db_,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 vfs_->name());
  if (rc != SQLITE_OK) raise(rc, "Open");
  sqlite3_extended_result_codes(db_, 1);
  exec("PRAGMA page_size=4096");
  int reserve = kReservedBytes;
  if (fresh) sqlite3_file_control(db_, "main", SQLITE_FCNTL_RESERVE_BYTES, &reserve);
  exec("PRAGMA journal_mode=MEMORY");
  exec("PRAGMA synchronous=OFF");
  exec("PRAGMA locking_mode=EXCLUSIVE");
  exec("PRAGMA temp_store=MEMORY");
  exec("PRAGMA cell_size_check=ON");
  const std::string cache = "PRAGMA cache_size=-" + std::to_string(options_.cache_kib);
  exec(cache.c_str());
  exec("CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID");
  reserve = -1;
  sqlite3_file_control(db_, "main", SQLITE_FCNTL_RESERVE_BYTES, &reserve);
  if (reserve != kReservedBytes || pragma_int("PRAGMA page_size") != 4096) {
    CODE_PROBE(true, "ssd engine refuses a file not in its format");
    flow::TraceEvent(flow::SevWarnAlways, "SsdStoreNotStrataFormat")
        .detail("Store", name_)
        .detail("ReservedBytes", static_cast<int64_t>(reserve));
    failed_ = Error(ErrorCode::checksum_failed);
    throw *failed_;
  }
  try {
    vfs_->file().commit();  // the table, if it was just made
  } catch (const Error& e) {
    failed_ = e;
    throw;
  }
  set_ = prepare("INSERT OR REPLACE INTO kv (k, v) VALUES (?1, ?2)");
  clear_ = prepare("DELETE FROM kv WHERE k >= ?1 AND k < ?2");
  get_ = prepare("SELECT v FROM kv WHERE k = ?1");
  range_forward_ = prepare("SELECT k, v FROM kv WHERE k >= ?1 AND k < ?2 ORDER BY k");
  range_reverse_ = prepare("SELECT k, v FROM kv WHERE k >= ?1 AND k < ?2 ORDER BY k DESC");
  exec("BEGIN");
  flow::TraceEvent(flow::SevInfo, "SsdStoreOpened")
      .detail("Store", name_)
      .detail("Fresh", fresh)
      .detail("Pages", pragma_int("PRAGMA page_count"));
}

SsdKeyValueStore::~SsdKeyValueStore() {
  for (sqlite3_stmt* s : {set_, clear_, get_, range_forward_, range_reverse_})
    sqlite3_finalize(s);
  // What was not committed is dropped: the page file forgets its overlay with it.
  if (db_) sqlite3_close_v2(db_);
}

void SsdKeyValueStore::check_usable() const {
  if (failed_) throw *failed_;
}

void SsdKeyValueStore::raise(int rc, const char* what) {
  std::optional<Error> cause = vfs_ ? vfs_->take_last_error() : std::nullopt;
  if (!cause) {
    switch (rc & 0xff) {
      case SQLITE_CORRUPT:
      case SQLITE_NOTADB:
        cause = Error(ErrorCode::checksum_failed);
        break;
      case SQLITE_FULL:
        cause = Error(ErrorCode::disk_full);
        break;
      default:
        cause = Error(rc == SQLITE_IOERR_DATA ? ErrorCode::checksum_failed : ErrorCode::io_error);
    }
  }
  CODE_PROBE(cause->code() == ErrorCode::checksum_failed, "ssd engine finds corruption");
  CODE_PROBE(cause->code() == ErrorCode::disk_full, "ssd engine finds the disk full");
  CODE_PROBE(cause->code() == ErrorCode::io_error, "ssd engine fails on an I/O error");
  if (cause->code() == ErrorCode::operation_cancelled) {
    failed_ = Error(ErrorCode::io_error);
  } else {
    failed_ = *cause;
  }
  flow::TraceEvent(flow::SevWarnAlways, "SsdStoreFailed")
      .detail("Store", name_)
      .detail("Operation", what)
      .detail("SqliteCode", static_cast<int64_t>(rc))
      .detail("SqliteMessage", db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc))
      .error(*cause);
  throw *cause;
}

void SsdKeyValueStore::exec(const char* sql) {
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) raise(rc, sql);
}

sqlite3_stmt* SsdKeyValueStore::prepare(const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) raise(rc, sql);
  return stmt;
}

bool SsdKeyValueStore::step(sqlite3_stmt* stmt) {
  const int rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  raise(rc, sqlite3_sql(stmt));
}

int64_t SsdKeyValueStore::pragma_int(const char* sql) {
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(prepare(sql), sqlite3_finalize);
  return step(stmt.get()) ? sqlite3_column_int64(stmt.get(), 0) : 0;
}

void SsdKeyValueStore::set(std::string_view key, std::string_view value) {
  auto guard = lock_.take();
  check_usable();
  check_key_value_sizes(options_, key, value);
  Reset reset{set_};
  bind_bytes(set_, 1, key);
  bind_bytes(set_, 2, value);
  step(set_);
}

void SsdKeyValueStore::clear(std::string_view begin, std::string_view end) {
  auto guard = lock_.take();
  check_usable();
  check_range_key_sizes(options_, begin, end);
  if (!(begin < end)) return;
  Reset reset{clear_};
  bind_bytes(clear_, 1, begin);
  bind_bytes(clear_, 2, end);
  step(clear_);
}

void SsdKeyValueStore::commit() {
  auto guard = lock_.take();
  check_usable();
  exec("COMMIT");
  try {
    vfs_->file().commit();
  } catch (const Error& e) {
    CODE_PROBE(true, "ssd engine commit fails and the store becomes unusable");
    failed_ = e.code() == ErrorCode::operation_cancelled ? Error(ErrorCode::io_error) : e;
    throw;
  }
  exec("BEGIN");
}

std::optional<std::string> SsdKeyValueStore::read_value(std::string_view key) {
  auto guard = lock_.take();
  check_usable();
  Reset reset{get_};
  bind_bytes(get_, 1, key);
  if (!step(get_)) return std::nullopt;
  return column_bytes(get_, 0);
}

RangeResult SsdKeyValueStore::read_range(std::string_view begin, std::string_view end,
                                         RangeLimits limits) {
  auto guard = lock_.take();
  check_usable();
  RangeResult result;
  if (!(begin < end) || limits.rows <= 0) return result;
  sqlite3_stmt* stmt = limits.reverse ? range_reverse_ : range_forward_;
  Reset reset{stmt};
  bind_bytes(stmt, 1, begin);
  bind_bytes(stmt, 2, end);
  int64_t bytes = 0;
  while (step(stmt)) {
    KeyValue kv{column_bytes(stmt, 0), column_bytes(stmt, 1)};
    bytes += static_cast<int64_t>(kv.key.size() + kv.value.size());
    result.rows.push_back(std::move(kv));
    if (static_cast<int64_t>(result.rows.size()) >= limits.rows || bytes >= limits.bytes) {
      result.more = step(stmt);
      break;
    }
  }
  return result;
}

StorageBytes SsdKeyValueStore::storage_bytes() {
  auto guard = lock_.take();
  check_usable();
  const int64_t pages = pragma_int("PRAGMA page_count");
  const int64_t free_pages = pragma_int("PRAGMA freelist_count");
  return {(pages - free_pages) * static_cast<int64_t>(LoggedPageFile::kPageBytes),
          vfs_->file().disk_bytes()};
}

}  // namespace storage
