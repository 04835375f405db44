// LockDatabase — FoundationDB's workload of that name: at lockAfter it locks the database with a
// uid of its own and reads every normal key (lock-aware); until unlockAfter it keeps checking
// that a transaction that is not lock-aware gets no read version (GotVersionWhileLocked); then it
// reads the keys again, lock-aware (DataChangedWhileLocked if any row differs), checks that
// \xff/dbLocked names its uid (DatabaseLockKeyWrong) and unlocks. Once unlocked, a transaction
// that is not lock-aware must get a read version again within unlockedWithin
// (DatabaseStillLocked). With onlyCheckLocked it only checks, for 60 s from lockAfter, that the
// database stays locked (another workload holds the lock).
//
// Options: lockAfter (s, 0), unlockAfter (s, 10; above lockAfter), onlyCheckLocked (false),
// unlockedWithin (s, 60).

#include <chrono>
#include <optional>

#include "client/database.h"
#include "flow/actor.h"
#include "flow/code_probe.h"
#include "flow/combinators.h"
#include "flow/deterministic_random.h"
#include "flow/trace_event.h"
#include "roles/common/database_lock.h"
#include "workloads/database_cluster.h"
#include "workloads/workload.h"

namespace workloads {
namespace {

using namespace std::chrono_literals;

class LockDatabaseWorkload final : public Workload {
 public:
  explicit LockDatabaseWorkload(WorkloadOptions& o)
      : lock_after_(o.get_seconds("lockAfter", 0.0)),
        unlock_after_(o.get_seconds("unlockAfter", 10.0)),
        only_check_locked_(o.get_bool("onlyCheckLocked", false)),
        unlocked_within_(o.get_seconds("unlockedWithin", 60.0)) {
    o.require(lock_after_ >= flow::Duration::zero(), "lockAfter", "must be at least 0 seconds");
    o.require(unlock_after_ > lock_after_, "unlockAfter", "must be above lockAfter");
    o.require(unlocked_within_ > flow::Duration::zero(), "unlockedWithin", "must be above 0 seconds");
  }

  std::string name() const override { return "LockDatabase"; }

  void start(WorkloadContext& ctx) override {
    const flow::Time began = flow::now();
    client::Database& db = database(ctx);
    flow::wait(flow::delay_until(began + lock_after_));
    if (only_check_locked_) {
      flow::wait(flow::timeout(flow::spawn([this, &db] { check_locked(db); }), 60s));
      return;
    }
    const std::string uid = flow::deterministic_random().random_alphanumeric(16);
    db.lock(uid);
    flow::TraceEvent(flow::SevInfo, "LockDatabaseLocked").detail("Uid", uid);
    const std::vector<client::KeyValue> before = read_all(db);
    {
      flow::Future<flow::Void> checker = flow::spawn([this, &db] { check_locked(db); });
      flow::wait(flow::delay_until(began + unlock_after_));
    }
    const std::vector<client::KeyValue> after = read_all(db);
    compare(before, after);
    check_lock_key(db, uid);
    db.unlock(uid);
    flow::TraceEvent(flow::SevInfo, "LockDatabaseUnlocked").detail("Uid", uid);
    check_unlocked(db);
  }

  bool check(WorkloadContext&) override { return ok_; }

  void metrics(std::vector<std::pair<std::string, double>>& out) const override {
    out.emplace_back("LockedRefusals", static_cast<double>(refusals_));
  }

 private:
  // Every normal key's row, read lock-aware. May suspend.
  static std::vector<client::KeyValue> read_all(client::Database& db) {
    client::Transaction t(db);
    t.set_lock_aware(true);
    for (;;) {
      std::optional<flow::Error> failed;
      try {
        return t.get_range("", "\xff").rows;
      } catch (const flow::Error& e) {
        if (e.code() == flow::ErrorCode::operation_cancelled) throw;
        failed = e;
      }
      t.on_error(*failed);
    }
  }

  void compare(const std::vector<client::KeyValue>& before, const std::vector<client::KeyValue>& after) {
    if (before == after) return;
    ok_ = false;
    auto e = flow::TraceEvent(flow::SevError, "DataChangedWhileLocked");
    e.detail("BeforeRows", static_cast<int64_t>(before.size())).detail("AfterRows", static_cast<int64_t>(after.size()));
    for (size_t i = 0; i < std::min(before.size(), after.size()); ++i) {
      if (before[i] == after[i]) continue;
      e.detail("FirstDifferentKey", before[i].key).detail("Before", before[i].value).detail("After", after[i].value);
      break;
    }
  }

  // \xff/dbLocked must name `uid` (the recovery transaction wrote it). May suspend.
  void check_lock_key(client::Database& db, const std::string& uid) {
    client::Transaction t(db);
    t.set_lock_aware(true);
    t.set_access_system_keys(true);
    for (;;) {
      std::optional<flow::Error> failed;
      try {
        const std::optional<std::string> held = t.get(roles::kDatabaseLockedKey);
        if (held != uid) {
          ok_ = false;
          flow::TraceEvent(flow::SevError, "DatabaseLockKeyWrong").detail("Uid", uid).detail("Held", held.value_or("(absent)"));
        }
        return;
      } catch (const flow::Error& e) {
        if (e.code() == flow::ErrorCode::operation_cancelled) throw;
        failed = e;
      }
      t.on_error(*failed);
    }
  }

  // Until cancelled: a transaction that is not lock-aware must get no read version. May suspend.
  void check_locked(client::Database& db) {
    client::Transaction t(db);
    for (;;) {
      std::optional<flow::Error> failed;
      try {
        const roles::Version v = t.get_read_version();
        ok_ = false;
        flow::TraceEvent(flow::SevError, "GotVersionWhileLocked").detail("Version", v);
        return;
      } catch (const flow::Error& e) {
        if (e.code() == flow::ErrorCode::operation_cancelled) throw;
        CODE_PROBE(e.code() == flow::ErrorCode::database_locked, "LockDatabase finds the database locked");
        if (e.code() == flow::ErrorCode::database_locked) ++refusals_;
        failed = e;
      }
      t.on_error(*failed);
    }
  }

  // After the unlock: a transaction that is not lock-aware gets a read version again. May suspend.
  void check_unlocked(client::Database& db) {
    const bool unlocked = flow::wait(flow::timeout(flow::spawn([&db] {
      client::Transaction t(db);
      for (;;) {
        std::optional<flow::Error> failed;
        try {
          t.get_read_version();
          return true;
        } catch (const flow::Error& e) {
          if (e.code() == flow::ErrorCode::operation_cancelled) throw;
          failed = e;
        }
        t.on_error(*failed);
      }
    }), unlocked_within_)).has_value();
    if (!unlocked) {
      ok_ = false;
      flow::TraceEvent(flow::SevError, "DatabaseStillLocked").detail("Seconds", flow::to_seconds(unlocked_within_));
    }
  }

  flow::Duration lock_after_;
  flow::Duration unlock_after_;
  bool only_check_locked_;
  flow::Duration unlocked_within_;
  bool ok_ = true;
  int64_t refusals_ = 0;
};

}  // namespace

std::unique_ptr<Workload> make_lock_database_workload(WorkloadOptions& options) {
  return std::make_unique<LockDatabaseWorkload>(options);
}

}  // namespace workloads
