// The database lock (docs/database.md, "Database lock"): a generation started locked refuses
// read versions and commits of transactions that are not lock-aware with database_locked, and
// serves lock-aware ones; \xff/dbLocked shows the holder and no client writes it; the
// controller's rule for lock requests (lock_after); the client's lock() and unlock() with their
// errors.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "client/database.h"
#include "client/transaction.h"
#include "flow/flow.h"
#include "roles/cluster_controller/cluster_controller_interface.h"
#include "roles/common/database_lock.h"
#include "tests/roles/database_stack.h"

using client::Transaction;
using roles_testing::outcome;

namespace {

using Stack = roles_testing::DatabaseStack;

roles::wire_cc::LockDatabaseRequestT request(std::string_view uid, bool lock) {
  roles::wire_cc::LockDatabaseRequestT r;
  r.uid.assign(uid.begin(), uid.end());
  r.lock = lock;
  return r;
}

}  // namespace

TEST_CASE("a locked generation answers only lock-aware transactions; the others get database_locked") {
  Stack db(31, {"m"}, false, "holder-1");
  db.client([&] {
    auto d = db.open();
    Transaction plain(*d);
    CHECK(outcome(flow::spawn([&] { plain.get_read_version(); })) == flow::ErrorCode::database_locked);
    // A read version from elsewhere does not get a plain transaction's writes past the proxy.
    Transaction aware(*d);
    aware.set_lock_aware(true);
    const roles::Version rv = aware.get_read_version();
    Transaction stale(*d);
    stale.set_read_version(rv);
    stale.set("a", "1");
    CHECK(outcome(flow::spawn([&] { stale.commit(); })) == flow::ErrorCode::database_locked);
    // The holder reads and writes.
    Transaction holder(*d);
    holder.set_lock_aware(true);
    holder.set("a", "2");
    holder.commit();
    Transaction check(*d);
    check.set_lock_aware(true);
    check.set_access_system_keys(true);
    CHECK(check.get("a") == "2");
    CHECK(check.get(roles::kDatabaseLockedKey) == "holder-1");
    // database_locked is retryable: on_error waits and resets (the holder will unlock).
    Transaction retry(*d);
    CHECK(outcome(flow::spawn([&] { retry.on_error(flow::Error(flow::ErrorCode::database_locked)); })) ==
          flow::ErrorCode::success);
    return 0;
  });
}

TEST_CASE("an unlocked generation shows no lock; no client writes \\xff/dbLocked, lock-aware or not") {
  Stack db(32, {"m"});
  db.client([&] {
    auto d = db.open();
    Transaction t(*d);
    t.set_access_system_keys(true);
    CHECK_FALSE(t.get(roles::kDatabaseLockedKey).has_value());
    for (int attempt = 0; attempt < 3; ++attempt) {
      Transaction w(*d);
      w.set_access_system_keys(true);
      w.set_lock_aware(true);
      if (attempt == 0) w.set(roles::kDatabaseLockedKey, "mine");
      if (attempt == 1) w.clear(roles::kDatabaseLockedKey);
      if (attempt == 2) w.clear_range("\xff/d", "\xff/e");
      CAPTURE(attempt);
      CHECK(outcome(flow::spawn([&] { w.commit(); })) == flow::ErrorCode::key_outside_legal_range);
    }
    // Plain transactions work.
    d->run([](Transaction& x) { x.set("k", "v"); });
    return 0;
  });
}

TEST_CASE("lock_after: lock, relock, unlock, and another holder's requests") {
  using roles::lock_after;
  CHECK(lock_after("", request("a", true)).get() == "a");
  CHECK(lock_after("a", request("a", true)).get() == "a");       // again: nothing changes
  CHECK(lock_after("a", request("a", false)).get().empty());     // unlocked
  CHECK(lock_after("", request("a", false)).get().empty());      // unlocking the unlocked
  CHECK(lock_after("a", request("b", true)).error().code() == flow::ErrorCode::database_locked);
  CHECK(lock_after("a", request("b", false)).error().code() == flow::ErrorCode::database_locked);
  CHECK(lock_after("", request("", true)).error().code() == flow::ErrorCode::invalid_option_value);
  CHECK(lock_after("", request(std::string(roles::kLockUidBytesMax + 1, 'x'), true)).error().code() ==
        flow::ErrorCode::invalid_option_value);
  CHECK(lock_after("", request(std::string(roles::kLockUidBytesMax, 'x'), true)).ok());
}

TEST_CASE("Database::lock: a bad uid or no controller is a named error; the controller's refusal reaches the caller") {
  Stack db(33, {"m"});
  const auto controller = db.make_interface<roles::ClusterControllerInterface>(1);
  db.start(1, "controller", [controller] {
    const auto requests = controller.lock_database.requests();
    std::string held;
    for (;;) {
      auto in = flow::wait_next(requests);
      flow::ErrorOr<std::string> after = roles::lock_after(held, in.request);
      if (!after.ok()) {
        in.reply.send_error(after.error());
        continue;
      }
      held = after.get();
      in.reply.send({});
    }
  });
  db.client([&] {
    auto d = db.open();
    CHECK(outcome(flow::spawn([&] { d->lock("u"); })) == flow::ErrorCode::operation_failed);
    d->set_controller(controller);
    CHECK(outcome(flow::spawn([&] { d->lock(""); })) == flow::ErrorCode::invalid_option_value);
    CHECK(outcome(flow::spawn([&] { d->lock(std::string(65, 'u')); })) == flow::ErrorCode::invalid_option_value);
    d->lock("u");
    d->lock("u");
    CHECK(outcome(flow::spawn([&] { d->lock("v"); })) == flow::ErrorCode::database_locked);
    CHECK(outcome(flow::spawn([&] { d->unlock("v"); })) == flow::ErrorCode::database_locked);
    d->unlock("u");
    d->unlock("u");
    d->lock("v");
    return 0;
  });
}
