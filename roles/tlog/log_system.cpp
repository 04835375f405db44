#include "roles/tlog/log_system.h"

#include <memory>
#include <utility>

#include "flow/assert.h"
#include "roles/common/endpoint_wire.h"

namespace roles {

LogSystem LogSystem::single(uint64_t epoch, std::vector<TLogInterface> logs) {
  LogSystem s;
  s.generations.push_back({epoch, std::move(logs), kVersionMax});
  return s;
}

const LogGeneration& LogSystem::generation_of(Version v) const {
  ASSERT(!generations.empty());
  for (const LogGeneration& g : generations)
    if (g.end_version >= v) return g;
  return generations.back();
}

bool LogSystem::valid() const {
  if (generations.empty()) return false;
  for (size_t i = 0; i < generations.size(); ++i) {
    const LogGeneration& g = generations[i];
    if (g.logs.empty()) return false;
    const bool last = i + 1 == generations.size();
    if (last != (g.end_version == kVersionMax)) return false;
    if (i > 0 &&
        (g.epoch <= generations[i - 1].epoch || g.end_version <= generations[i - 1].end_version))
      return false;
  }
  return true;
}

wire_tlog::TLogInterfaceT to_wire(const TLogInterface& i) {
  wire_tlog::TLogInterfaceT w;
  w.commit = to_wire(i.commit.endpoint());
  w.peek = to_wire(i.peek.endpoint());
  w.pop = to_wire(i.pop.endpoint());
  w.lock = to_wire(i.lock.endpoint());
  w.confirm = to_wire(i.confirm.endpoint());
  return w;
}

std::optional<TLogInterface> from_wire(const wire_tlog::TLogInterfaceT& w) {
  EndpointReader r;
  TLogInterface i{r.operator()<TLogCommitStream>(w.commit), r.operator()<TLogPeekStream>(w.peek),
                  r.operator()<TLogPopStream>(w.pop), r.operator()<TLogLockStream>(w.lock),
                  r.operator()<TLogConfirmStream>(w.confirm)};
  return if_whole(r, std::move(i));
}

wire_tlog::LogSystemT to_wire(const LogSystem& s) {
  wire_tlog::LogSystemT w;
  for (const LogGeneration& g : s.generations) {
    auto wg = std::make_unique<wire_tlog::LogGenerationT>();
    wg->epoch = g.epoch;
    wg->end_version = g.end_version;
    for (const TLogInterface& log : g.logs)
      wg->logs.push_back(std::make_unique<wire_tlog::TLogInterfaceT>(to_wire(log)));
    w.generations.push_back(std::move(wg));
  }
  return w;
}

std::optional<LogSystem> from_wire(const wire_tlog::LogSystemT& w) {
  LogSystem s;
  for (const auto& wg : w.generations) {
    if (!wg) return std::nullopt;
    LogGeneration g{wg->epoch, {}, wg->end_version};
    for (const auto& wl : wg->logs) {
      std::optional<TLogInterface> log = wl ? from_wire(*wl) : std::nullopt;
      if (!log) return std::nullopt;
      g.logs.push_back(std::move(*log));
    }
    s.generations.push_back(std::move(g));
  }
  if (!s.valid()) return std::nullopt;
  return s;
}

}  // namespace roles
