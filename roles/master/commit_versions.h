#pragma once
// CommitVersions — the master's version arithmetic (docs/database.md, "master (sequencer)"),
// without the messages around it.
//
// Versions advance with the clock, about 1,000,000 per second: each batch's version is the one
// before it plus the microseconds since that one was handed out, at least 1 and at most one
// second's worth. So a clock that stalls or steps back never makes a version repeat or fall, and
// one that leaps (or a master that was not asked for a while) never moves versions past the
// resolvers' five-second window in one step.

#include "flow/time.h"
#include "roles/common/types.h"

namespace roles {

// The most a version may advance in one step: one second's worth.
inline constexpr Version kVersionJumpMax = 1'000'000;
inline constexpr Version kVersionsPerSecond = 1'000'000;

struct VersionPair {
  Version prev = 0;
  Version version = 0;
};

class CommitVersions {
 public:
  // `start`: the version before the first batch, handed out at `start_time`.
  CommitVersions(Version start, flow::Time start_time) : last_(start), last_time_(start_time) {}

  // The next batch's (prev, version) at `now`. With `leap`, the version advances by the most
  // it may (what a master that was not asked for a while hands out).
  VersionPair next(flow::Time now, bool leap = false);

  // The newest version handed out (the start version before any).
  Version last() const { return last_; }

 private:
  Version last_;
  flow::Time last_time_;
};

}  // namespace roles
