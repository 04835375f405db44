#include "workloads/checkers/list_append_checker.h"

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace workloads::checkers {

const char* anomaly_name(Anomaly a) {
  switch (a) {
    case Anomaly::kG0: return "G0";
    case Anomaly::kG1a: return "G1a";
    case Anomaly::kG1b: return "G1b";
    case Anomaly::kG1c: return "G1c";
    case Anomaly::kGSingle: return "G-single";
    case Anomaly::kG2: return "G2";
    case Anomaly::kG0Realtime: return "G0-realtime";
    case Anomaly::kG1cRealtime: return "G1c-realtime";
    case Anomaly::kGSingleRealtime: return "G-single-realtime";
    case Anomaly::kG2Realtime: return "G2-realtime";
    case Anomaly::kDuplicateElements: return "duplicate-elements";
    case Anomaly::kIncompatibleOrder: return "incompatible-order";
    case Anomaly::kGarbageRead: return "garbage-read";
    case Anomaly::kInternal: return "internal";
    case Anomaly::kLostAppend: return "lost-append";
    case Anomaly::kDuplicateAppend: return "duplicate-append";
  }
  return "?";
}

namespace {

enum EdgeKind : uint8_t { kWW = 1, kWR = 2, kRW = 4, kRT = 8 };
constexpr uint8_t kData = kWW | kWR | kRW;
constexpr uint8_t kAll = kData | kRT;

struct Edge {
  size_t to;
  EdgeKind kind;
  const std::string* key;  // the key that gave a data edge; null for rt
};

const char* edge_name(EdgeKind k) {
  switch (k) {
    case kWW: return "ww";
    case kWR: return "wr";
    case kRW: return "rw";
    case kRT: return "rt";
  }
  return "?";
}

std::string list_text(const std::vector<int64_t>& values) {
  return fmt::format("[{}]", fmt::join(values, " "));
}

// The dependency graph over the history's transactions, and the searches for cycles in it.
// Every search visits nodes and edges in index order, so its answers are deterministic.
class Graph {
 public:
  explicit Graph(size_t n) : out_(n), mark_(n, kUnmarked) {}

  void add(size_t from, size_t to, EdgeKind kind, const std::string* key) {
    if (from == to) return;
    out_[from].push_back({to, kind, key});
    ++edges_;
  }
  size_t edges() const { return edges_; }

  // The strongly connected components of more than one node among `nodes`, over edges of the
  // kinds in `mask`; each component's nodes ascending, components by their first node.
  std::vector<std::vector<size_t>> components(const std::vector<size_t>& nodes, uint8_t mask) {
    for (size_t v : nodes) mark_[v] = kInSet;
    // Tarjan's algorithm, iterative (histories can be long; no deep recursion).
    struct Frame {
      size_t node, next_edge;
    };
    std::map<size_t, size_t> index, low;
    std::vector<size_t> stack;
    std::set<size_t> on_stack;
    std::vector<std::vector<size_t>> found;
    size_t counter = 0;
    for (size_t root : nodes) {
      if (index.count(root) != 0) continue;
      std::vector<Frame> frames{{root, 0}};
      index[root] = low[root] = counter++;
      stack.push_back(root);
      on_stack.insert(root);
      while (!frames.empty()) {
        Frame& f = frames.back();
        const std::vector<Edge>& edges = out_[f.node];
        if (f.next_edge < edges.size()) {
          const Edge& e = edges[f.next_edge++];
          if ((e.kind & mask) == 0 || mark_[e.to] != kInSet) continue;
          if (index.count(e.to) == 0) {
            index[e.to] = low[e.to] = counter++;
            stack.push_back(e.to);
            on_stack.insert(e.to);
            frames.push_back({e.to, 0});
          } else if (on_stack.count(e.to) != 0) {
            low[f.node] = std::min(low[f.node], index[e.to]);
          }
          continue;
        }
        const size_t v = f.node;
        frames.pop_back();
        if (!frames.empty()) low[frames.back().node] = std::min(low[frames.back().node], low[v]);
        if (low[v] != index[v]) continue;
        std::vector<size_t> component;
        for (;;) {
          const size_t w = stack.back();
          stack.pop_back();
          on_stack.erase(w);
          component.push_back(w);
          if (w == v) break;
        }
        if (component.size() > 1) {
          std::sort(component.begin(), component.end());
          found.push_back(std::move(component));
        }
      }
    }
    for (size_t v : nodes) mark_[v] = kUnmarked;
    std::sort(found.begin(), found.end());
    return found;
  }

  // A shortest path of edges of `mask` kinds from `from` to `to` inside `nodes` (`from` may be
  // `to`: a cycle then), as (node, edge leaving it) pairs; empty if there is none.
  std::vector<std::pair<size_t, Edge>> path(const std::vector<size_t>& nodes, size_t from,
                                            size_t to, uint8_t mask) {
    for (size_t v : nodes) mark_[v] = kInSet;
    std::map<size_t, std::pair<size_t, Edge>> came_from;  // node -> (previous node, its edge)
    std::deque<size_t> queue{from};
    std::optional<std::pair<size_t, Edge>> last;  // the edge that reached `to`
    while (!queue.empty() && !last) {
      const size_t v = queue.front();
      queue.pop_front();
      for (const Edge& e : out_[v]) {
        if ((e.kind & mask) == 0 || mark_[e.to] != kInSet) continue;
        if (e.to == to) {
          last = {v, e};
          break;
        }
        if (e.to == from || came_from.count(e.to) != 0) continue;
        came_from.emplace(e.to, std::pair{v, e});
        queue.push_back(e.to);
      }
    }
    for (size_t v : nodes) mark_[v] = kUnmarked;
    std::vector<std::pair<size_t, Edge>> steps;
    if (!last) return steps;
    steps.push_back(*last);
    for (size_t v = last->first; v != from;) {
      const auto& [previous, edge] = came_from.at(v);
      steps.push_back({previous, edge});
      v = previous;
    }
    std::reverse(steps.begin(), steps.end());
    return steps;
  }

  const std::vector<Edge>& out(size_t v) const { return out_[v]; }

 private:
  static constexpr uint8_t kUnmarked = 0, kInSet = 1;
  std::vector<std::vector<Edge>> out_;
  std::vector<uint8_t> mark_;
  size_t edges_ = 0;
};

Violation cycle_violation(Anomaly anomaly, const std::vector<std::pair<size_t, Edge>>& cycle) {
  Violation v{anomaly, {}, anomaly_name(anomaly)};
  v.explanation += ": ";
  for (const auto& [from, edge] : cycle) {
    v.transactions.push_back(from);
    v.explanation += fmt::format("T{} -{}", from, edge_name(edge.kind));
    if (edge.key != nullptr) v.explanation += fmt::format("({:?})", *edge.key);
    v.explanation += "-> ";
  }
  v.explanation += fmt::format("T{}", cycle.front().first);
  return v;
}

constexpr size_t kGSingleTriesMax = 1'000;

// The weakest cycle in `component` (strongly connected over every edge kind), as an anomaly.
Violation weakest_cycle(Graph& graph, const std::vector<size_t>& component) {
  for (const auto& [mask, anomaly] :
       {std::pair{uint8_t{kWW}, Anomaly::kG0}, std::pair{uint8_t{kWW | kWR}, Anomaly::kG1c}}) {
    const auto inner = graph.components(component, mask);
    if (!inner.empty())
      return cycle_violation(anomaly, graph.path(inner.front(), inner.front().front(),
                                                 inner.front().front(), mask));
  }
  // G-single: one rw edge, closed by ww and wr edges. Each try is a search of the component:
  // bounded, so a huge component (a badly broken run) is named G2 rather than checked forever.
  size_t tries = 0;
  for (size_t a : component) {
    for (const Edge& e : graph.out(a)) {
      if (e.kind != kRW || !std::binary_search(component.begin(), component.end(), e.to))
        continue;
      if (++tries > kGSingleTriesMax) break;
      auto back = graph.path(component, e.to, a, kWW | kWR);
      if (back.empty()) continue;
      back.insert(back.begin(), {a, e});
      return cycle_violation(Anomaly::kGSingle, back);
    }
  }
  const auto data = graph.components(component, kData);
  if (!data.empty())
    return cycle_violation(Anomaly::kG2, graph.path(data.front(), data.front().front(),
                                                    data.front().front(), kData));
  // Only with real-time edges: the weakest cycle again, each search allowed rt edges too.
  for (const auto& [mask, anomaly] : {std::pair{uint8_t{kWW | kRT}, Anomaly::kG0Realtime},
                                      std::pair{uint8_t{kWW | kWR | kRT}, Anomaly::kG1cRealtime}}) {
    const auto inner = graph.components(component, mask);
    if (!inner.empty())
      return cycle_violation(anomaly, graph.path(inner.front(), inner.front().front(),
                                                 inner.front().front(), mask));
  }
  tries = 0;
  for (size_t a : component) {
    for (const Edge& e : graph.out(a)) {
      if (e.kind != kRW || !std::binary_search(component.begin(), component.end(), e.to))
        continue;
      if (++tries > kGSingleTriesMax) break;
      auto back = graph.path(component, e.to, a, kWW | kWR | kRT);
      if (back.empty()) continue;
      back.insert(back.begin(), {a, e});
      return cycle_violation(Anomaly::kGSingleRealtime, back);
    }
  }
  const auto cycle = graph.path(component, component.front(), component.front(), kAll);
  const Anomaly anomaly = Anomaly::kG2Realtime;
  return cycle_violation(anomaly, cycle);
}

}  // namespace

ListAppendReport check_list_append(const History& history) {
  const std::vector<Transaction>& ts = history.transactions();
  ListAppendReport report;
  const auto violation = [&report](Anomaly a, std::vector<size_t> who, std::string why) {
    report.violations.push_back({a, std::move(who), fmt::format("{}: {}", anomaly_name(a), why)});
  };

  // Who appended what: (key, value) -> (transaction, position among its appends to the key).
  struct Writer {
    size_t transaction;
    size_t position;
  };
  std::map<std::string, std::map<int64_t, Writer>> writers;
  // Each transaction's appends, by key.
  std::vector<std::map<std::string, std::vector<int64_t>>> appends(ts.size());
  for (size_t i = 0; i < ts.size(); ++i) {
    for (const MicroOp& op : ts[i].ops) {
      if (op.kind != MicroOp::Kind::kAppend) continue;
      std::vector<int64_t>& mine = appends[i][op.key];
      const auto [at, fresh] = writers[op.key].emplace(op.value, Writer{i, mine.size()});
      if (!fresh) {
        violation(Anomaly::kDuplicateAppend, {at->second.transaction, i},
                  fmt::format("T{} and T{} both append {} to {:?}; values must be unique",
                              at->second.transaction, i, op.value, op.key));
        return report;
      }
      mine.push_back(op.value);
    }
  }

  // What each ok transaction saw of each key from before its own appends.
  std::vector<std::map<std::string, std::vector<int64_t>>> seen(ts.size());
  for (size_t i = 0; i < ts.size(); ++i) {
    if (ts[i].outcome != Outcome::kOk) continue;
    std::map<std::string, size_t> appended;  // own appends so far, by key
    for (const MicroOp& op : ts[i].ops) {
      if (op.kind == MicroOp::Kind::kAppend) {
        ++appended[op.key];
        continue;
      }
      if (op.kind != MicroOp::Kind::kReadList) continue;
      const std::vector<int64_t>& list = op.values;
      std::vector<int64_t> sorted = list;
      std::sort(sorted.begin(), sorted.end());
      if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
        violation(Anomaly::kDuplicateElements, {i},
                  fmt::format("T{} read {:?} as {}", i, op.key, list_text(list)));
        continue;
      }
      const size_t own = appended.count(op.key) != 0 ? appended[op.key] : 0;
      const std::vector<int64_t>& mine = appends[i][op.key];
      if (list.size() < own ||
          !std::equal(mine.begin(), mine.begin() + static_cast<std::ptrdiff_t>(own),
                      list.end() - static_cast<std::ptrdiff_t>(own))) {
        violation(Anomaly::kInternal, {i},
                  fmt::format("T{} read {:?} as {} after appending {}", i, op.key,
                              list_text(list),
                              list_text({mine.begin(), mine.begin() + static_cast<std::ptrdiff_t>(own)})));
        continue;
      }
      std::vector<int64_t> before(list.begin(), list.end() - static_cast<std::ptrdiff_t>(own));
      // A value this transaction appends only later cannot be there yet.
      const auto& by_value = writers[op.key];
      const auto future = std::find_if(before.begin(), before.end(), [&](int64_t v) {
        const auto w = by_value.find(v);
        return w != by_value.end() && w->second.transaction == i;
      });
      if (future != before.end()) {
        violation(Anomaly::kInternal, {i},
                  fmt::format("T{} read {:?} as {}, holding {}, which it appends only later", i,
                              op.key, list_text(list), *future));
        continue;
      }
      const auto [at, fresh] = seen[i].emplace(op.key, before);
      if (!fresh && at->second != before) {
        violation(Anomaly::kInternal, {i},
                  fmt::format("T{} read {:?} as {}, then as {} (before its own appends)", i,
                              op.key, list_text(at->second), list_text(before)));
      }
    }
  }

  // Each key's order: its longest read, which every other read must be a prefix of.
  std::map<std::string, std::pair<size_t, std::vector<int64_t>>> orders;  // key -> (reader, list)
  std::set<std::string> incompatible;
  for (size_t i = 0; i < ts.size(); ++i)
    for (const auto& [key, list] : seen[i]) {
      auto [at, fresh] = orders.emplace(key, std::pair{i, list});
      if (!fresh && list.size() > at->second.second.size()) at->second = {i, list};
    }
  for (size_t i = 0; i < ts.size(); ++i) {
    for (const auto& [key, list] : seen[i]) {
      const auto& [longest_reader, longest] = orders.at(key);
      if (std::equal(list.begin(), list.end(), longest.begin())) continue;
      if (incompatible.insert(key).second) {
        violation(Anomaly::kIncompatibleOrder, {i, longest_reader},
                  fmt::format("T{} read {:?} as {}, T{} as {}", i, key, list_text(list),
                              longest_reader, list_text(longest)));
      }
    }
  }

  // Committed: ok transactions, and unknown ones whose appends someone read. Values read are
  // checked against their writers on the way.
  std::vector<bool> committed(ts.size());
  for (size_t i = 0; i < ts.size(); ++i) committed[i] = ts[i].outcome == Outcome::kOk;
  for (size_t i = 0; i < ts.size(); ++i) {
    for (const auto& [key, list] : seen[i]) {
      const auto& by_value = writers[key];
      for (size_t p = 0; p < list.size(); ++p) {
        const auto w = by_value.find(list[p]);
        if (w == by_value.end()) {
          violation(Anomaly::kGarbageRead, {i},
                    fmt::format("T{} read {:?} as {}: nobody appended {}", i, key,
                                list_text(list), list[p]));
          continue;
        }
        const size_t writer = w->second.transaction;
        if (ts[writer].outcome == Outcome::kFailed) {
          violation(Anomaly::kG1a, {writer, i},
                    fmt::format("T{} read {:?} as {}, with {} appended by T{}, which failed", i,
                                key, list_text(list), list[p], writer));
          continue;
        }
        committed[writer] = true;
        const bool last_seen = p + 1 == list.size();
        if (last_seen && writer != i && w->second.position + 1 < appends[writer][key].size()) {
          violation(Anomaly::kG1b, {writer, i},
                    fmt::format("T{} read {:?} as {}, ending inside T{}'s appends {}", i, key,
                                list_text(list), writer, list_text(appends[writer][key])));
        }
      }
    }
  }
  // Appends in no order: lost, if an ok transaction made them and a read of the key began after.
  std::map<std::string, size_t> latest_reader;  // key -> the ok reader invoked last
  for (size_t i = 0; i < ts.size(); ++i)
    for (const auto& entry : seen[i]) {
      auto [at, fresh] = latest_reader.emplace(entry.first, i);
      if (!fresh && ts[i].invoked_ns > ts[at->second].invoked_ns) at->second = i;
    }
  for (const auto& [key, by_value] : writers) {
    const auto reader = latest_reader.find(key);
    if (reader == latest_reader.end() || incompatible.count(key) != 0) continue;
    const std::vector<int64_t>& order = orders.at(key).second;
    const std::set<int64_t> ordered(order.begin(), order.end());
    for (const auto& [value, w] : by_value) {
      const Transaction& t = ts[w.transaction];
      if (t.outcome != Outcome::kOk || ordered.count(value) != 0) continue;
      if (ts[reader->second].invoked_ns <= t.completed_ns) continue;
      violation(Anomaly::kLostAppend, {w.transaction, reader->second},
                fmt::format("T{} appended {} to {:?} and completed, yet T{}, begun after, read "
                            "{:?} as {}",
                            w.transaction, value, key, reader->second, key,
                            list_text(seen[reader->second].at(key))));
    }
  }

  std::vector<size_t> nodes;
  for (size_t i = 0; i < ts.size(); ++i)
    if (committed[i]) nodes.push_back(i);
  report.committed = nodes.size();

  Graph graph(ts.size());
  // The writer of `value` under `key`, if it is a node.
  const auto node_writing = [&](const std::string& key, int64_t value) -> std::optional<size_t> {
    const auto& by_value = writers[key];
    const auto w = by_value.find(value);
    if (w == by_value.end() || !committed[w->second.transaction]) return std::nullopt;
    return w->second.transaction;
  };
  for (const auto& [key, order] : orders) {
    if (incompatible.count(key) != 0) continue;
    const std::vector<int64_t>& list = order.second;
    for (size_t p = 0; p + 1 < list.size(); ++p) {
      const auto a = node_writing(key, list[p]), b = node_writing(key, list[p + 1]);
      if (a && b) graph.add(*a, *b, kWW, &key);
    }
  }
  for (size_t i = 0; i < ts.size(); ++i) {
    for (const auto& [key, list] : seen[i]) {
      if (!list.empty())
        if (const auto w = node_writing(key, list.back())) graph.add(*w, i, kWR, &key);
      if (incompatible.count(key) != 0) continue;
      const std::vector<int64_t>& order = orders.at(key).second;
      if (list.size() < order.size())
        if (const auto w = node_writing(key, order[list.size()])) graph.add(i, *w, kRW, &key);
    }
  }
  // Real time: an edge from every ok transaction completed before a node's invocation, reduced
  // to a frontier (a transaction that completed after another's completion and began after it
  // stands for it).
  struct Event {
    int64_t ns;
    int completion;  // 0: invocation, 1: completion (a tie is not an order: invocations first)
    size_t transaction;
    bool operator<(const Event& o) const {
      return std::tie(ns, completion, transaction) < std::tie(o.ns, o.completion, o.transaction);
    }
  };
  std::vector<Event> events;
  for (size_t v : nodes) {
    events.push_back({ts[v].invoked_ns, 0, v});
    if (ts[v].outcome == Outcome::kOk) events.push_back({ts[v].completed_ns, 1, v});
  }
  std::sort(events.begin(), events.end());
  std::set<size_t> frontier;
  std::map<size_t, std::vector<size_t>> before;  // for ok nodes: the frontier at invocation
  for (const Event& e : events) {
    if (e.completion == 0) {
      for (size_t f : frontier) graph.add(f, e.transaction, kRT, nullptr);
      if (ts[e.transaction].outcome == Outcome::kOk)
        before[e.transaction].assign(frontier.begin(), frontier.end());
      continue;
    }
    for (size_t f : before[e.transaction]) frontier.erase(f);
    before.erase(e.transaction);
    frontier.insert(e.transaction);
  }
  report.edges = graph.edges();

  for (const std::vector<size_t>& component : graph.components(nodes, kAll))
    report.violations.push_back(weakest_cycle(graph, component));
  return report;
}

}  // namespace workloads::checkers
