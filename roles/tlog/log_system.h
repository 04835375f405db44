#pragma once
// LogSystem — where a storage server finds its tag's versions across recoveries
// (docs/database.md, "Recovery"): the logs of each generation that still holds versions some
// server may need, oldest first, each with the newest version it holds for the database (the
// recovery version its successor chose), and the current generation last. A recovery locks the
// current logs, chooses the recovery version, and appends the new generation.
//
// Also the wire form of the log's interface, which the worker's messages and the storage
// server's carry.

#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "roles/common/types.h"
#include "roles/tlog/tlog_interface.h"

namespace roles {

inline constexpr Version kVersionMax = std::numeric_limits<Version>::max();

struct LogGeneration {
  uint64_t epoch = 0;
  // Its logs that hold every version up to end_version (a recovery keeps only those).
  std::vector<TLogInterface> logs;
  // The versions after the previous generation's end, up to this, come from here; the current
  // generation's is kVersionMax.
  Version end_version = kVersionMax;
};

struct LogSystem {
  std::vector<LogGeneration> generations;  // oldest first; the last is current

  // The one generation of `epoch` and `logs`.
  static LogSystem single(uint64_t epoch, std::vector<TLogInterface> logs);

  // The generation that holds version `v`: the oldest whose end_version is at least v.
  // REQUIRES: valid().
  const LogGeneration& generation_of(Version v) const;
  const LogGeneration& current() const { return generations.back(); }
  uint64_t epoch() const { return generations.back().epoch; }
  // Non-empty; each generation has logs; epochs and end versions rise; the last ends at
  // kVersionMax and only the last.
  bool valid() const;
};

wire_tlog::TLogInterfaceT to_wire(const TLogInterface& i);
std::optional<TLogInterface> from_wire(const wire_tlog::TLogInterfaceT& w);
wire_tlog::LogSystemT to_wire(const LogSystem& s);
// nullopt for a form that is not whole or not valid(): input from the network, refused.
std::optional<LogSystem> from_wire(const wire_tlog::LogSystemT& w);

}  // namespace roles
