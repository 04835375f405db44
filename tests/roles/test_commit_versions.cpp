// CommitVersions: versions advance with the clock, about 1,000,000 per second, at least one and at
// most one second's worth per step, never backwards whatever the clock does.
#include <doctest/doctest.h>

#include <chrono>

#include "roles/master/commit_versions.h"

using namespace std::chrono_literals;
using roles::CommitVersions;
using roles::kVersionJumpMax;

namespace {
flow::Time at(flow::Duration d) {
  return flow::kTimeZero + d;
}
}  // namespace

TEST_CASE("commit versions: each version is the one before plus the microseconds since it") {
  CommitVersions v(1000, at(1s));
  auto a = v.next(at(1s + 250us));
  CHECK(a.prev == 1000);
  CHECK(a.version == 1250);
  auto b = v.next(at(2s + 250us));
  CHECK(b.prev == 1250);
  CHECK(b.version == 1250 + 1'000'000);
  CHECK(v.last() == b.version);
}

TEST_CASE("commit versions: many in one instant advance by one each") {
  CommitVersions v(0, at(0s));
  for (int i = 1; i <= 5; ++i) {
    const auto p = v.next(at(0s));
    CHECK(p.prev == i - 1);
    CHECK(p.version == i);
  }
}

TEST_CASE("commit versions: a long silence or a clock leap moves at most one second's worth") {
  CommitVersions v(0, at(0s));
  CHECK(v.next(at(60s)).version == kVersionJumpMax);
  CHECK(v.next(at(60s + 1us)).version == kVersionJumpMax + 1);
}

TEST_CASE("commit versions: a clock that steps back is not followed back") {
  CommitVersions v(0, at(10s));
  const auto a = v.next(at(10s + 100us));
  const auto b = v.next(at(5s));  // the clock stepped back five seconds
  CHECK(b.version == a.version + 1);
  // Later steps count from the newest time seen, not from the stepped-back one.
  const auto c = v.next(at(10s + 300us));
  CHECK(c.version == b.version + 200);
}

TEST_CASE("commit versions: a leap advances by the most allowed") {
  CommitVersions v(7, at(0s));
  const auto p = v.next(at(1us), /*leap=*/true);
  CHECK(p.prev == 7);
  CHECK(p.version == 7 + kVersionJumpMax);
}
