#include "flow/planted_bug.h"

namespace flow {

namespace {

constexpr PlantedBug kAll[] = {PlantedBug::kNone, PlantedBug::kStaleRead, PlantedBug::kLostWrite,
                               PlantedBug::kSkippedConflictCheck};

#if defined(STRATA_PLANTED_BUGS)
// Set once by a program's main before any run, read by the roles: configuration of the build's
// test mode, not state of a run.
PlantedBug g_planted = PlantedBug::kNone;
#endif

}  // namespace

std::string_view planted_bug_name(PlantedBug bug) {
  switch (bug) {
    case PlantedBug::kNone: return "none";
    case PlantedBug::kStaleRead: return "stale_read";
    case PlantedBug::kLostWrite: return "lost_write";
    case PlantedBug::kSkippedConflictCheck: return "skipped_conflict_check";
  }
  return "?";
}

std::optional<PlantedBug> planted_bug_named(std::string_view name) {
  for (PlantedBug bug : kAll)
    if (planted_bug_name(bug) == name) return bug;
  return std::nullopt;
}

#if defined(STRATA_PLANTED_BUGS)
void plant(PlantedBug bug) { g_planted = bug; }
bool planted(PlantedBug bug) { return bug != PlantedBug::kNone && g_planted == bug; }
#endif

}  // namespace flow
