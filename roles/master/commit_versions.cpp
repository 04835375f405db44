#include "roles/master/commit_versions.h"

#include <algorithm>

#include "flow/assert.h"

namespace roles {

VersionPair CommitVersions::next(flow::Time now, bool leap) {
  const int64_t elapsed_us = (flow::to_ns(now) - flow::to_ns(last_time_)) / 1000;
  const Version step =
      leap ? kVersionJumpMax
           : std::clamp<int64_t>(elapsed_us * (kVersionsPerSecond / 1'000'000), 1, kVersionJumpMax);
  // A clock that stepped back is not followed back: later steps count from the newest time seen.
  last_time_ = std::max(now, last_time_);
  const VersionPair pair{last_, last_ + step};
  ASSERT_GT(pair.version, pair.prev);
  last_ = pair.version;
  return pair;
}

}  // namespace roles
