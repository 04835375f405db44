#!/usr/bin/env bash
# The timeline page of a database seed (clogging and storage-server reboots): recording it leaves
# the run unchanged (same trace digest), and, opened in a real headless Chromium, the page's script must draw a lane for every process the run had (and the
# run's own lane), role spans and fault marks; the DOM after the script ran is read back with
# --dump-dom. Exit 77 (skipped) when no Chromium is installed (scripts/setup installs
# chromium-headless-shell).
#   timeline_in_chromium.sh STRATA_SIM SPEC SEED
set -euo pipefail
sim=$1 spec=$2 seed=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Recording the timeline must not change the run: the same trace digest with and without it.
with=$("$sim" "$spec" --seed "$seed" --json --timeline "$work/run.html" | grep -o '"digest": "[^"]*"')
without=$("$sim" "$spec" --seed "$seed" --json | grep -o '"digest": "[^"]*"')
[[ -n $with && $with == "$without" ]] || { echo "FAIL: the timeline changed the run ($with, $without)"; exit 1; }
browser=$(command -v chromium-headless-shell || command -v chromium || true)
[[ -n $browser ]] || { echo "no chromium: skipped"; exit 77; }
processes=$(grep -o '"processes":\[[^]]*\]' "$work/run.html" | grep -o '"name":' | wc -l)
[[ $processes -gt 0 ]] || { echo "FAIL: the page holds no processes"; exit 1; }
timeout 120 "$browser" --headless --no-sandbox --disable-gpu --dump-dom "file://$work/run.html" \
  > "$work/dom.html" 2>"$work/browser.log" || { echo "FAIL: chromium failed"; tail -5 "$work/browser.log"; exit 1; }
# The chart as drawn (the page's script, also in the DOM, holds the same tags as templates).
perl -0ne 'print $1 if /(<svg id="chart".*?<\/svg>)/s' "$work/dom.html" > "$work/chart.svg"
lanes=$(grep -o '<g class="lane" data-process="[^"]*"' "$work/chart.svg" | wc -l)
roles=$(grep -o '<rect class="role"' "$work/chart.svg" | wc -l)
faults=$(grep -o '<path class="fault' "$work/chart.svg" | wc -l)
echo "processes $processes, lanes drawn $lanes, role spans $roles, fault marks $faults"
[[ $lanes -eq $((processes + 1)) ]] || { echo "FAIL: $lanes lanes for $processes processes and the run"; exit 1; }
for name in $(grep -o '"processes":\[[^]]*\]' "$work/run.html" | grep -o '"name":"[^"]*"' | cut -d'"' -f4); do
  grep -q "<g class=\"lane\" data-process=\"$name\"" "$work/chart.svg" || { echo "FAIL: no lane for $name"; exit 1; }
done
[[ $roles -gt 0 ]] || { echo "FAIL: no role drawn"; exit 1; }
[[ $faults -gt 0 ]] || { echo "FAIL: no fault drawn (the spec reboots storage servers)"; exit 1; }
echo PASS
