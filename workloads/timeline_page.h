#pragma once
// The timeline page's HTML, CSS and script (workloads/timeline.h), with the marker
// /*TIMELINE_DATA*/ where the run's data goes, as a JSON object.

namespace workloads {

extern const char kTimelinePage[];

}  // namespace workloads
