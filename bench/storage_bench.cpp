// storage-bench — the DiskQueue and the key-value engines on the real file system, beside the raw
// disk and plain SQLite measured in the same run, in a scratch folder that is removed afterwards.
//
//   raw_fdatasync_per_s        append the bytes one DiskQueue commit of one record writes, then
//                              fdatasync, in a loop on this thread: the disk's own rate
//   disk_queue_commits_per_s_1 one 100-byte record per commit, and its ratio to the raw rate
//   disk_queue_commits_per_s_64, disk_queue_records_per_s_64   64 records per commit
//   <store>_load_s             loading N keys (16-byte keys, 100-byte values) in key order,
//                              10,000 per commit: the median of R rounds, which take turns at
//                              going first (with R > 1, also _min and _max)
//   memory_ssd_load_ratio      the median of each round's memory load time over ssd's
//   <store>_reads_per_s        random point reads of those keys
//   <store>_sets_per_s         random overwrites of those keys, 100 per commit
// where <store> is each engine (memory, ssd) and plain SQLite through its default VFS, with the
// ssd engine's page size and cache. Plain SQLite runs twice:
//   sqlite_wal     journal_mode=WAL, synchronous=FULL: the closest crash-safe setup to the ssd
//                  engine (one sync per commit). The ratios are taken against it.
//   sqlite_nosync  journal_mode=MEMORY, synchronous=OFF: the settings the ssd engine gives SQLite
//                  itself (its own page log makes them safe). Plain SQLite with them never syncs
//                  and is not crash-safe, so it is an upper bound, not a baseline.
// The DiskQueue and raw figures are medians of R rounds that alternate between the two, and the
// ratio is the median of each round's ratio, so that a slow spell of the disk weighs on both.
// Reads and overwrites are measured once, on the stores of the last round.
// Prints "name = value unit" lines, or with --json one JSON object.
//
//   build/bin/storage-bench [--json] [--dir PARENT] [--keys N] [--seconds S] [--rounds R]
//                           [--only PART,...] [--load-only]    (or --help)

#include "bench/raw_disk.h"
#include "programs/command_line.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "flow/actor.h"
#include "flow/error.h"
#include "flow/runtime.h"
#include "net/asio/asio_world.h"
#include "storage/disk_queue.h"
#include "storage/key_value_store.h"

namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kRecordBytes = 100;
constexpr size_t kValueBytes = 100;
constexpr int kSetsPerCommit = 100;
constexpr int kLoadBatch = 10'000;
constexpr int64_t kCacheKib = 64 * 1024;  // the ssd engine's default page cache

struct Figure {
  std::string name;
  double value;
  std::string unit;
};

struct Settings {
  std::string parent = ".";
  int64_t keys = 1'000'000;
  double seconds = 2.0;
  int rounds = 5;
  // Which parts run: "queue", the engines' names, "sqlite_wal", "sqlite_nosync"; empty: all.
  std::vector<std::string> only;
  bool load_only = false;  // measure loading alone, not reads and overwrites
  bool runs(std::string_view part) const {
    return only.empty() || std::find(only.begin(), only.end(), part) != only.end();
  }
};

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "storage-bench: %s\n", what.c_str());
  std::exit(1);
}

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Key i: "k" and 15 decimal digits, so key order is numeric order.
struct KeyMaker {
  char buffer[16];
  std::string_view operator()(int64_t i) {
    buffer[0] = 'k';
    for (int at = 15; at >= 1; --at, i /= 10)
      buffer[at] = static_cast<char>('0' + i % 10);
    return {buffer, sizeof buffer};
  }
};

std::string value_for(int64_t i, uint64_t version) {
  std::string v(kValueBytes, '\0');
  uint64_t state = static_cast<uint64_t>(i) * 1'000'003 + version;
  for (size_t at = 0; at < v.size(); at += 8) {
    const uint64_t r = splitmix64(state);
    std::memcpy(v.data() + at, &r, std::min<size_t>(8, v.size() - at));
  }
  return v;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Calls `step` (which returns how many operations it did) until `seconds` have passed; returns
// operations per second.
double rate(double seconds, const std::function<int64_t()>& step) {
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  int64_t done = 0;
  while (Clock::now() < end)
    done += step();
  return static_cast<double>(done) / seconds_since(start);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// ---- the raw disk ---------------------------------------------------------------------------

// The disk's own rate (bench/raw_disk.h); a failure ends the benchmark.
double raw_fdatasync_rate(const std::string& path, size_t bytes, double seconds) {
  try {
    return bench::raw_fdatasync_rate(path, bytes, seconds);
  } catch (const std::runtime_error& e) {
    die(e.what());
  }
}

// ---- the DiskQueue ---------------------------------------------------------------------------

// Commits of `pushes` records each, popping as it goes; returns commits per second. May suspend.
double disk_queue_rate(flow::IFileSystem& fs, const std::string& name, int pushes, double seconds) {
  auto q = storage::DiskQueue::open(fs, name);
  const std::vector<uint8_t> payload(kRecordBytes, 0xa5);
  return rate(seconds, [&] {
    for (int i = 0; i < pushes; ++i)
      q->push(payload);
    q->commit();
    q->pop(q->next_sequence());
    return 1;
  });
}

// What one commit of one record writes: the record and its copy (docs/disk_queue.md).
constexpr size_t kOneRecordCommitBytes = 2 * (40 + (kRecordBytes + 7) / 8 * 8);

// ---- the stores ------------------------------------------------------------------------------

// What the figures need of a store: the engines and plain SQLite behind one face.
class BenchStore {
 public:
  virtual ~BenchStore() = default;
  virtual void set(std::string_view key, std::string_view value) = 0;
  virtual void commit() = 0;
  virtual bool read(std::string_view key) = 0;  // whether the key was found
};

class EngineStore final : public BenchStore {
 public:
  explicit EngineStore(std::unique_ptr<storage::IKeyValueStore> kv) : kv_(std::move(kv)) {}
  void set(std::string_view key, std::string_view value) override { kv_->set(key, value); }
  void commit() override { kv_->commit(); }
  bool read(std::string_view key) override { return kv_->read_value(key).has_value(); }

 private:
  std::unique_ptr<storage::IKeyValueStore> kv_;
};

class PlainSqlite final : public BenchStore {
 public:
  PlainSqlite(const std::string& path, bool wal) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
        SQLITE_OK) {
      die(fmt::format("sqlite cannot open {}", path));
    }
    exec("PRAGMA page_size=4096");
    exec(fmt::format("PRAGMA cache_size=-{}", kCacheKib));
    if (wal) {
      exec("PRAGMA journal_mode=WAL");
      exec("PRAGMA synchronous=FULL");
    } else {
      exec("PRAGMA journal_mode=MEMORY");
      exec("PRAGMA synchronous=OFF");
      exec("PRAGMA locking_mode=EXCLUSIVE");
    }
    exec("CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID");
    set_ = prepare("INSERT OR REPLACE INTO kv (k, v) VALUES (?1, ?2)");
    get_ = prepare("SELECT v FROM kv WHERE k = ?1");
    exec("BEGIN");
  }
  ~PlainSqlite() override {
    sqlite3_finalize(set_);
    sqlite3_finalize(get_);
    sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
    sqlite3_close_v2(db_);
  }
  void set(std::string_view key, std::string_view value) override {
    sqlite3_bind_blob(set_, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
    sqlite3_bind_blob(set_, 2, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
    if (sqlite3_step(set_) != SQLITE_DONE) die(fmt::format("sqlite: {}", sqlite3_errmsg(db_)));
    sqlite3_reset(set_);
  }
  void commit() override {
    exec("COMMIT");
    exec("BEGIN");
  }
  bool read(std::string_view key) override {
    sqlite3_bind_blob(get_, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
    const int rc = sqlite3_step(get_);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) die(fmt::format("sqlite: {}", sqlite3_errmsg(db_)));
    if (rc == SQLITE_ROW) {  // take the value, as the engines hand one back
      const void* v = sqlite3_column_blob(get_, 0);
      value_.assign(static_cast<const char*>(v),
                    v ? static_cast<size_t>(sqlite3_column_bytes(get_, 0)) : 0);
    }
    sqlite3_reset(get_);
    return rc == SQLITE_ROW;
  }

 private:
  void exec(const std::string& sql) {
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK)
      die(fmt::format("sqlite: {}: {}", sql, sqlite3_errmsg(db_)));
  }
  sqlite3_stmt* prepare(const char* sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &s, nullptr) != SQLITE_OK)
      die(fmt::format("sqlite: {}: {}", sql, sqlite3_errmsg(db_)));
    return s;
  }
  sqlite3* db_ = nullptr;
  sqlite3_stmt* set_ = nullptr;
  sqlite3_stmt* get_ = nullptr;
  std::string value_;
};

// Loads the keys, then measures random reads and random overwrites. May suspend.
// Loads the keys; returns the seconds it took. May suspend.
double load_store(BenchStore& store, const Settings& s) {
  KeyMaker key;
  const auto load_start = Clock::now();
  for (int64_t i = 0; i < s.keys; ++i) {
    store.set(key(i), value_for(i, 0));
    if ((i + 1) % kLoadBatch == 0 || i + 1 == s.keys) store.commit();
  }
  return seconds_since(load_start);
}

// Measures random reads and random overwrites of a loaded store. May suspend.
void measure_store(BenchStore& store, const std::string& label, const Settings& s,
                   std::vector<Figure>& out) {
  KeyMaker key;
  uint64_t rng = 1;
  int64_t misses = 0;
  const double reads = rate(s.seconds, [&] {
    for (int n = 0; n < 1000; ++n)
      misses += store.read(key(static_cast<int64_t>(splitmix64(rng) % s.keys))) ? 0 : 1;
    return 1000;
  });
  if (misses > 0) die(fmt::format("{}: {} loaded keys not found", label, misses));
  out.push_back({label + "_reads_per_s", reads, "1/s"});

  uint64_t version = 1;
  const double sets = rate(s.seconds, [&] {
    for (int n = 0; n < kSetsPerCommit; ++n) {
      const auto i = static_cast<int64_t>(splitmix64(rng) % s.keys);
      store.set(key(i), value_for(i, version));
    }
    store.commit();
    ++version;
    return kSetsPerCommit;
  });
  out.push_back({label + "_sets_per_s", sets, "1/s"});
}

// Removes the files of `dir` whose names start with `prefix`.
void remove_files_starting(const std::string& dir, const std::string& prefix) {
  std::error_code ignored;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ignored)) {
    if (entry.path().filename().string().starts_with(prefix))
      std::filesystem::remove(entry.path(), ignored);
  }
}

double figure(const std::vector<Figure>& figures, const std::string& name) {
  for (const Figure& f : figures)
    if (f.name == name) return f.value;
  return 0;
}

std::vector<Figure> run_all(flow::IFileSystem& fs, const std::string& dir, const Settings& s) {
  std::vector<Figure> out;
  std::vector<double> raw, one, ratio, many;
  for (int r = 0; r < s.rounds && s.runs("queue"); ++r) {
    raw.push_back(raw_fdatasync_rate(dir + "/raw", kOneRecordCommitBytes, s.seconds));
    one.push_back(disk_queue_rate(fs, fmt::format("queue1-{}", r), 1, s.seconds));
    ratio.push_back(one.back() / raw.back());  // side by side, so a slow spell hits both
    many.push_back(disk_queue_rate(fs, fmt::format("queue64-{}", r), 64, s.seconds));
  }
  if (s.runs("queue")) {
    out.push_back({"raw_fdatasync_per_s", median(raw), "1/s"});
    out.push_back({"disk_queue_commits_per_s_1", median(one), "1/s"});
    out.push_back({"disk_queue_commit_ratio", median(ratio), "x"});
    out.push_back({"disk_queue_commits_per_s_64", median(many), "1/s"});
    out.push_back({"disk_queue_records_per_s_64", median(many) * 64, "1/s"});
  }

  // The stores' loads, `rounds` times, each round starting with the next store in turn: the first
  // load in a process pays for growing its heap (and, on a VM, for memory the host has not yet
  // given it), whichever store that is. On the development VM the same engine loaded 1,000,000
  // keys 1.3 to 2 times faster when it ran second. Medians over rounds, and the median of each
  // round's memory/ssd ratio, compare like with like; the last round's stores are then measured
  // for reads and overwrites.
  std::vector<std::string> stores;
  for (std::string_view engine : storage::kEngineNames)
    if (s.runs(engine)) stores.emplace_back(engine);
  for (const char* plain : {"sqlite_wal", "sqlite_nosync"})
    if (s.runs(plain)) stores.emplace_back(plain);
  std::vector<std::vector<double>> loads(stores.size());
  std::vector<double> memory_ssd;
  for (int r = 0; r < s.rounds && !stores.empty(); ++r) {
    double round_load[2] = {0, 0};  // memory, ssd
    for (size_t k = 0; k < stores.size(); ++k) {
      const size_t at = (k + static_cast<size_t>(r)) % stores.size();
      const std::string& label = stores[at];
      const std::string name = fmt::format("{}-{}", label, r);
      std::unique_ptr<BenchStore> store;
      if (label == "sqlite_wal" || label == "sqlite_nosync") {
        store = std::make_unique<PlainSqlite>(dir + "/" + name + ".sqlite", label == "sqlite_wal");
      } else {
        storage::KeyValueStoreOptions options;
        options.cache_kib = kCacheKib;
        store =
            std::make_unique<EngineStore>(storage::open_key_value_store(label, fs, name, options));
      }
      loads[at].push_back(load_store(*store, s));
      if (label == "memory") round_load[0] = loads[at].back();
      if (label == "ssd") round_load[1] = loads[at].back();
      if (r + 1 == s.rounds && !s.load_only) measure_store(*store, label, s, out);
      store.reset();
      remove_files_starting(dir, name);  // so that rounds do not fill the disk
    }
    if (round_load[0] > 0 && round_load[1] > 0) memory_ssd.push_back(round_load[0] / round_load[1]);
  }
  for (size_t k = 0; k < stores.size(); ++k) {
    out.push_back({stores[k] + "_load_s", median(loads[k]), "s"});
    const auto [lo, hi] = std::minmax_element(loads[k].begin(), loads[k].end());
    if (s.rounds > 1) {
      out.push_back({stores[k] + "_load_s_min", *lo, "s"});
      out.push_back({stores[k] + "_load_s_max", *hi, "s"});
    }
  }
  if (!memory_ssd.empty()) out.push_back({"memory_ssd_load_ratio", median(memory_ssd), "x"});
  if (s.load_only || !s.runs("sqlite_wal")) return out;
  for (std::string_view engine : storage::kEngineNames) {
    if (!s.runs(engine)) continue;
    for (const char* what : {"reads", "sets"}) {
      const double base = figure(out, fmt::format("sqlite_wal_{}_per_s", what));
      out.push_back({fmt::format("{}_{}_ratio", engine, what),
                     figure(out, fmt::format("{}_{}_per_s", engine, what)) / base, "x"});
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  bool json = false;
  CLI::App app{
      "storage-bench: the DiskQueue and the key-value engines on the real file system, beside the "
      "raw disk and plain SQLite",
      "storage-bench"};
  app.add_flag("--json", json, "one JSON object instead of name = value lines");
  app.add_option("--dir", s.parent,
                 "where the scratch folder goes (default: the current folder). Not a tmpfs such as "
                 "/tmp on many systems: there fdatasync costs nothing");
  app.add_option("--keys", s.keys, "keys per store")
      ->check(CLI::Range(int64_t{1}, std::numeric_limits<int64_t>::max(), "POSITIVE"))
      ->capture_default_str();
  app.add_option("--seconds", s.seconds, "time per measurement, more than 0")
      ->capture_default_str();
  app.add_option("--rounds", s.rounds,
                 "rounds of the DiskQueue beside raw, and of the stores' loads, each round's first "
                 "store in turn; medians")
      ->check(CLI::Range(1, std::numeric_limits<int>::max(), "POSITIVE"))
      ->capture_default_str();
  std::vector<std::string> parts = {"queue"};
  for (std::string_view engine : storage::kEngineNames)
    parts.emplace_back(engine);
  parts.insert(parts.end(), {"sqlite_wal", "sqlite_nosync"});
  app.add_option("--only", s.only,
                 "run only these, comma-separated: queue, memory, ssd, sqlite_wal, sqlite_nosync "
                 "(default: all; the ratios need sqlite_wal)")
      ->delimiter(',')
      ->check(CLI::IsMember(parts));
  app.add_flag("--load-only", s.load_only,
               "measure each store's load alone, not its reads and overwrites");
  programs::parse_or_exit(app, argc, argv);
  if (!(s.seconds > 0)) programs::usage_error(app, "--seconds must be more than 0");

  std::string pattern = s.parent + "/storage-bench-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr)
    die(fmt::format("cannot make a scratch folder in {}: {}", s.parent, std::strerror(errno)));
  const std::string dir = std::filesystem::absolute(pattern).lexically_normal().string();
  struct statfs fsinfo {};
  if (::statfs(dir.c_str(), &fsinfo) == 0 && fsinfo.f_type == 0x01021994 /* TMPFS_MAGIC */) {
    std::fprintf(stderr, "storage-bench: warning: %s is on tmpfs; fdatasync costs nothing there\n",
                 dir.c_str());
  }

  std::vector<Figure> figures;
  int rc = 0;
  {
    net::AsioWorld world;
    flow::RuntimeOptions o;
    o.simulated = false;
    o.reactor = &world.reactor();
    flow::Runtime rt(o);
    auto fs = world.make_file_system(dir);
    try {
      rt.run([&] { figures = run_all(*fs, dir, s); });
    } catch (const flow::Error& e) {
      std::fprintf(stderr, "storage-bench: %s\n", e.what());
      rc = 1;
    }
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  if (rc != 0) return rc;

  if (json) {
    std::string line = "{";
    for (size_t i = 0; i < figures.size(); ++i)
      line += fmt::format("{}\"{}\": {:.4g}", i ? ", " : "", figures[i].name, figures[i].value);
    std::printf("%s}\n", line.c_str());
  } else {
    for (const Figure& f : figures)
      std::printf("%s = %.4g %s\n", f.name.c_str(), f.value, f.unit.c_str());
  }
  return 0;
}
