#pragma once
// Planted bugs — known mistakes compiled into the roles only in builds configured with
// -DSTRATA_PLANTED_BUGS=ON (off by default), to prove that the history checkers find them
// (scripts/planted-bugs; strata-sim --plant NAME). In every other build planted() is a constant
// false, so the planted code is dead and compiled away, and --plant is refused.
//
// The bug is chosen once for the process, before any run (strata-sim's main): a replay of a
// seed with the same --plant is the same run.

#include <cstdint>
#include <optional>
#include <string_view>

namespace flow {

enum class PlantedBug : uint8_t {
  kNone,
  kStaleRead,             // a storage server answers some reads from a version below the one asked
  kLostWrite,             // a commit proxy leaves some mutations of a batch out of the logs
  kSkippedConflictCheck,  // a resolver ignores some transactions' first read range
};

// "stale_read", "lost_write", "skipped_conflict_check" (and "none").
std::string_view planted_bug_name(PlantedBug bug);
std::optional<PlantedBug> planted_bug_named(std::string_view name);

#if defined(STRATA_PLANTED_BUGS)
inline constexpr bool kPlantedBugsBuilt = true;
// Plants `bug` for the rest of the process.
void plant(PlantedBug bug);
bool planted(PlantedBug bug);
#else
inline constexpr bool kPlantedBugsBuilt = false;
constexpr bool planted(PlantedBug) { return false; }
#endif

}  // namespace flow
