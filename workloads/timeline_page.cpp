#include "workloads/timeline_page.h"

namespace workloads {

// One page, no outside files: it opens from disk in any browser, offline.
const char kTimelinePage[] = R"PAGE(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Strata timeline</title>
<style>
  body { font: 12px/1.4 system-ui, sans-serif; margin: 0; color: #222; background: #fff; }
  header { padding: 8px 12px; border-bottom: 1px solid #ccc; position: sticky; top: 0; background: #fafafa; z-index: 1; }
  header h1 { font-size: 14px; margin: 0 0 4px 0; }
  #outcome.fail { color: #b00; font-weight: bold; }
  #outcome.pass { color: #070; font-weight: bold; }
  .controls label { margin-right: 10px; white-space: nowrap; }
  .controls input[type=number] { width: 90px; }
  #chart { display: block; }
  .lane-label { font-size: 11px; fill: #333; }
  .dc-label { font-size: 11px; font-weight: bold; fill: #555; }
  .lane-bg { fill: #f4f4f4; }
  .lane-bg.protected { fill: #eef3fb; }
  .role { fill: #7aa6d8; stroke: #3b6ea5; stroke-width: 0.5; }
  .role-text { font-size: 9px; fill: #fff; pointer-events: none; }
  .write { stroke: #999; stroke-width: 0.6; opacity: 0.45; }
  .write.held { stroke: #d80; }
  .fault { fill: #e8a317; stroke: #8a5a00; stroke-width: 0.5; }
  .fault.kill { fill: #c0392b; stroke: #6d1a12; }
  .tick { stroke: #555; stroke-width: 1; }
  .tick.warn { stroke: #d80; }
  .first-error { stroke: #d00; stroke-width: 2; }
  .first-error-mark { fill: #d00; }
  #detail { padding: 6px 12px; font-family: ui-monospace, monospace; font-size: 11px; white-space: pre-wrap; color: #333; min-height: 1.5em; }
</style>
</head>
<body>
<header>
  <h1 id="title"></h1>
  <div id="outcome"></div>
  <div class="controls">
    <label>from <input id="t0" type="number" step="0.001"> s</label>
    <label>to <input id="t1" type="number" step="0.001"> s</label>
    <button id="fit">whole run</button>
    <label>lanes matching <input id="filter" type="text" placeholder="regex, e.g. dc1|tester"></label>
    <label>events matching <input id="event-filter" type="text" placeholder="regex, e.g. Kill|Clog"></label>
    <label><input id="show-roles" type="checkbox" checked> roles</label>
    <label><input id="show-writes" type="checkbox" checked> messages</label>
    <label><input id="show-faults" type="checkbox" checked> faults</label>
    <label><input id="show-events" type="checkbox" checked> events</label>
    <span id="counts"></span>
  </div>
</header>
<div id="detail">Click a mark for its trace event. Wheel over the chart to zoom, shift+wheel to pan.</div>
<svg id="chart" xmlns="http://www.w3.org/2000/svg"></svg>
<script id="data" type="application/json">/*TIMELINE_DATA*/</script>
<script>
"use strict";
const D = JSON.parse(document.getElementById("data").textContent);
const LABEL_W = 150, LANE_H = 22, TOP = 18, DC_GAP = 14;

// Lanes: processes by datacenter, machine, name (the testers' datacenter is -1); last, a "run"
// lane for events of no process.
const lanes = D.processes.map((p, i) => ({ ...p, index: i }))
  .sort((a, b) => a.dc - b.dc || a.machine.localeCompare(b.machine) || a.name.localeCompare(b.name));
lanes.push({ name: "run", machine: "", dc: -2, ip: "", protected: true, index: -1 });
const laneByName = new Map(lanes.map(l => [l.name, l]));
const lanesByMachine = new Map();
const laneByIp = new Map();
for (const l of lanes) {
  if (l.machine) { if (!lanesByMachine.has(l.machine)) lanesByMachine.set(l.machine, []); lanesByMachine.get(l.machine).push(l); }
  if (l.ip) laneByIp.set(l.ip, l);
}
const laneOfProcessIndex = new Map(lanes.filter(l => l.index >= 0).map(l => [l.index, l]));

// The lanes an event names in its details: processes, machines, datacenters ("dcN"), addresses.
function named(e) {
  const out = new Set();
  for (const [k, v] of Object.entries(e)) {
    if (k === "Machine" || k === "Process" || k === "Time" || k === "Type" || k === "Severity") continue;
    if (typeof v !== "string") continue;
    if (laneByName.has(v) && v !== "run") out.add(laneByName.get(v));
    if (lanesByMachine.has(v)) for (const l of lanesByMachine.get(v)) out.add(l);
    const ip = v.replace(/:\d+$/, "");
    if (laneByIp.has(ip)) out.add(laneByIp.get(ip));
    const dc = /^dc(\d+)$/.exec(v);
    if (dc) for (const l of lanes) if (l.dc === +dc[1]) out.add(l);
  }
  return [...out];
}
function ownLane(e) { return laneByName.get(e.Process) || laneByName.get("run"); }

const events = D.events.map((e, i) => ({ ...e, t: parseFloat(e.Time), i }));
let tEnd = 0;
for (const e of events) tEnd = Math.max(tEnd, e.t);
for (const w of D.writes) tEnd = Math.max(tEnd, w[3] === null ? w[2] : w[3]);
tEnd = tEnd || 1;

// Roles over time, and the faults and ticks.
const DEATH = /^Sim(Kill|Reboot)(Process|Machine|Datacenter)$|^SimClearCluster$/;
const FAULT = /^Sim(?!ulator)|^RebootStorageKill$|^WorkerRoleRecordCorrupt$/;
const roles = [], faults = [], ticks = [];
const open = new Map();  // lane name -> Map(role -> {start, event})
function closeAll(lane, t) {
  const m = open.get(lane.name);
  if (!m) return;
  for (const [role, s] of m) roles.push({ lane, role, t0: s.t, t1: t, e: s.e });
  m.clear();
}
let firstError = null;
for (const e of events) {
  if (e.Severity >= 40 && !firstError) firstError = e;
  const lane = ownLane(e);
  if ((e.Type === "WorkerRoleStarted" || e.Type === "WorkerRoleRecovered") && e.Role) {
    if (!open.has(lane.name)) open.set(lane.name, new Map());
    const m = open.get(lane.name);
    if (!m.has(e.Role)) m.set(e.Role, { t: e.t, e });
  } else if (e.Type === "WorkerRoleEnded" && e.Role) {
    const m = open.get(lane.name);
    if (m && m.has(e.Role)) { roles.push({ lane, role: e.Role, t0: m.get(e.Role).t, t1: e.t, e: m.get(e.Role).e, ended: e }); m.delete(e.Role); }
  }
  if (FAULT.test(e.Type)) {
    const victims = named(e);
    const kill = DEATH.test(e.Type);
    for (const v of (victims.length ? victims : [lane])) {
      faults.push({ lane: v, t: e.t, e, kill });
      if (kill) closeAll(v, e.t);
    }
  } else if (!e.Type.startsWith("WorkerRole")) {
    ticks.push({ lane, t: e.t, e });
  }
}
for (const l of lanes) closeAll(l, tEnd);
// A process may hold several roles at once: each role of a lane gets a row of its own.
const ROW_H = 12;
for (const l of lanes) {
  l.rows = new Map();
  for (const r of roles.filter(r => r.lane === l).sort((a, b) => a.t0 - b.t0))
    if (!l.rows.has(r.role)) l.rows.set(r.role, l.rows.size);
  l.height = Math.max(LANE_H, 8 + ROW_H * l.rows.size);
}

document.getElementById("title").textContent = D.title;
const outcome = document.getElementById("outcome");
outcome.textContent = D.outcome + (firstError ? "  \u2014 first SevError at " + firstError.Time + " s: " + firstError.Type : "");
outcome.className = D.outcome.startsWith("PASS") ? "pass" : "fail";

let t0 = 0, t1 = tEnd;
const $ = id => document.getElementById(id);
function esc(s) { return String(s).replace(/[&<>"]/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]); }

function render() {
  $("t0").value = t0.toFixed(3);
  $("t1").value = t1.toFixed(3);
  let re = null;
  try { re = $("filter").value ? new RegExp($("filter").value) : null; } catch (_) { re = null; }
  const shown = lanes.filter(l => !re || re.test(l.name) || re.test(l.machine));
  // Faults and events by their trace event's type (roles and messages are not filtered by it).
  let typeRe = null;
  try { typeRe = $("event-filter").value ? new RegExp($("event-filter").value) : null; } catch (_) { typeRe = null; }
  const typeShown = e => !typeRe || typeRe.test(e.Type);
  const W = Math.max(600, document.documentElement.clientWidth - 20);
  const x = t => LABEL_W + (t - t0) / (t1 - t0) * (W - LABEL_W - 10);
  const inView = t => t >= t0 && t <= t1;
  const y = new Map();
  let at = TOP, dc = null, parts = [];
  for (const l of shown) {
    if (l.dc !== dc) {
      dc = l.dc;
      at += DC_GAP;
      parts.push(`<text class="dc-label" x="4" y="${at - 3}">${l.dc >= 0 ? "datacenter " + l.dc : l.dc === -1 ? "outside the cluster" : "the run (events of no process)"}</text>`);
    }
    y.set(l.name, at);
    at += l.height;
  }
  const H = at + 10;
  const svg = $("chart");
  svg.setAttribute("width", W);
  svg.setAttribute("height", H);
  // The time axis: ten ticks.
  for (let k = 0; k <= 10; ++k) {
    const t = t0 + (t1 - t0) * k / 10;
    parts.push(`<line x1="${x(t)}" x2="${x(t)}" y1="${TOP - 4}" y2="${H}" stroke="#e4e4e4"/>`);
    parts.push(`<text x="${x(t) + 2}" y="${TOP - 6}" font-size="9" fill="#777">${t.toFixed(3)}s</text>`);
  }
  let counts = { lanes: 0, roles: 0, writes: 0, faults: 0, events: 0 };
  for (const l of shown) {
    const ly = y.get(l.name);
    const g = [`<g class="lane" data-process="${esc(l.name)}" data-machine="${esc(l.machine)}" data-dc="${l.dc}">`];
    const lh = l.height;
    g.push(`<rect class="lane-bg${l.protected ? " protected" : ""}" x="${LABEL_W}" y="${ly}" width="${W - LABEL_W - 10}" height="${lh - 4}"/>`);
    g.push(`<text class="lane-label" x="4" y="${ly + 13}">${esc(l.name)}${l.ip ? " " + esc(l.ip) : ""}</text>`);
    if ($("show-roles").checked) {
      for (const r of roles) {
        if (r.lane !== l || r.t1 < t0 || r.t0 > t1) continue;
        const a = x(Math.max(r.t0, t0)), b = x(Math.min(r.t1, t1));
        const ry = ly + 2 + ROW_H * l.rows.get(r.role);
        g.push(`<rect class="role" data-role="${esc(r.role)}" data-event="${r.e.i}" x="${a}" y="${ry}" width="${Math.max(1, b - a)}" height="${ROW_H - 2}"><title>${esc(r.role)} ${r.t0.toFixed(3)}\u2013${r.t1.toFixed(3)} s</title></rect>`);
        if (b - a > 30) g.push(`<text class="role-text" x="${a + 3}" y="${ry + 8}">${esc(r.role)}</text>`);
        ++counts.roles;
      }
    }
    if ($("show-events").checked) {
      for (const k of ticks) {
        if (k.lane !== l || !inView(k.t) || !typeShown(k.e)) continue;
        g.push(`<line class="tick${k.e.Severity >= 20 ? " warn" : ""}" data-event="${k.e.i}" x1="${x(k.t)}" x2="${x(k.t)}" y1="${ly + lh - 8}" y2="${ly + lh - 3}"><title>${esc(k.e.Type)}</title></line>`);
        ++counts.events;
      }
    }
    if ($("show-faults").checked) {
      for (const f of faults) {
        if (f.lane !== l || !inView(f.t) || !typeShown(f.e)) continue;
        const fx = x(f.t);
        g.push(`<path class="fault${f.kill ? " kill" : ""}" data-type="${esc(f.e.Type)}" data-event="${f.e.i}" d="M${fx} ${ly + 1} l5 8 l-10 0 z"><title>${esc(f.e.Type)} ${f.e.Time} s</title></path>`);
        ++counts.faults;
      }
    }
    g.push(`</g>`);
    parts.push(g.join(""));
    ++counts.lanes;
  }
  if ($("show-writes").checked) {
    const visible = D.writes.filter(w => {
      const a = laneOfProcessIndex.get(w[0]), b = laneOfProcessIndex.get(w[1]);
      const end = w[3] === null ? t1 : w[3];
      return a && b && y.has(a.name) && y.has(b.name) && end >= t0 && w[2] <= t1;
    });
    const step = Math.max(1, Math.ceil(visible.length / 4000));  // at most 4000 strokes drawn
    const ws = [];
    for (let k = 0; k < visible.length; k += step) {
      const w = visible[k];
      const a = laneOfProcessIndex.get(w[0]), b = laneOfProcessIndex.get(w[1]);
      const held = w[3] === null;
      ws.push(`<line class="write${held ? " held" : ""}" x1="${x(w[2])}" y1="${y.get(a.name) + a.height / 2}" x2="${x(held ? t1 : w[3])}" y2="${y.get(b.name) + b.height / 2}"/>`);
    }
    counts.writes = ws.length;
    parts.splice(1, 0, `<g class="writes">${ws.join("")}</g>`);
  }
  if (firstError && inView(firstError.t)) {
    const fx = x(firstError.t);
    parts.push(`<line class="first-error" data-event="${firstError.i}" x1="${fx}" x2="${fx}" y1="${TOP - 4}" y2="${H}"><title>first SevError: ${esc(firstError.Type)}</title></line>`);
    parts.push(`<text class="first-error-mark" x="${fx + 3}" y="${H - 2}">${esc(firstError.Type)}</text>`);
  }
  svg.innerHTML = parts.join("");
  svg.dataset.lanes = counts.lanes;
  $("counts").textContent = `${counts.lanes} lanes, ${counts.roles} role spans, ${counts.writes} messages drawn, ${counts.faults} faults, ${counts.events} events` +
    (D.eventsDropped || D.writesDropped ? ` (not recorded: ${D.eventsDropped} events, ${D.writesDropped} writes)` : "");
}

$("fit").onclick = () => { t0 = 0; t1 = tEnd; render(); };
$("t0").onchange = () => { const v = parseFloat($("t0").value); if (v < t1) { t0 = v; render(); } };
$("t1").onchange = () => { const v = parseFloat($("t1").value); if (v > t0) { t1 = v; render(); } };
for (const id of ["filter", "event-filter", "show-roles", "show-writes", "show-faults", "show-events"]) $(id).oninput = render;
$("chart").addEventListener("wheel", ev => {
  ev.preventDefault();
  const W = $("chart").width.baseVal.value;
  const at = t0 + Math.max(0, ev.offsetX - LABEL_W) / (W - LABEL_W - 10) * (t1 - t0);
  const span = t1 - t0;
  if (ev.shiftKey) {
    const d = span * 0.1 * Math.sign(ev.deltaY);
    t0 = Math.max(0, t0 + d); t1 = t0 + span;
  } else {
    const f = ev.deltaY > 0 ? 1.25 : 0.8;
    t0 = Math.max(0, at - (at - t0) * f); t1 = Math.min(Math.max(tEnd, at + 1e-6), at + (t1 - at) * f);
  }
  render();
}, { passive: false });
$("chart").addEventListener("click", ev => {
  const i = ev.target.getAttribute && ev.target.getAttribute("data-event");
  if (i !== null && i !== undefined) $("detail").textContent = D.events[+i] ? JSON.stringify(D.events[+i]) : "";
});
window.addEventListener("resize", render);
render();
</script>
</body>
</html>
)PAGE";

}  // namespace workloads
