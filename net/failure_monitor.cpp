#include "net/failure_monitor.h"

#include "flow/actor.h"
#include "flow/trace_event.h"
#include "net/transport.h"

namespace net {

FailureMonitor::Status FailureMonitor::status(const flow::NetworkAddress& a) const {
  auto it = entries_.find(a);
  return it == entries_.end() ? Status::kUnknown : it->second.status;
}

flow::Future<flow::Void> FailureMonitor::on_attempt(const flow::NetworkAddress& a) {
  return entries_[a].attempt.on_trigger();
}

void FailureMonitor::set_status(const flow::NetworkAddress& a, Status s) {
  Entry& e = entries_[a];
  if (e.status != s) {
    flow::TraceEvent(flow::SevDebug, "FailureMonitorStatus")
        .detail("Peer", a.to_string())
        .detail("Available", s == Status::kAvailable);
  }
  e.status = s;
  e.attempt.trigger();
}

flow::Future<flow::Void> FailureMonitor::on_failed(const flow::NetworkAddress& a) {
  if (status(a) == Status::kFailed) return flow::Void{};
  return flow::spawn([this, a] {
    while (status(a) != Status::kFailed) flow::wait(on_attempt(a));
    return flow::Void{};
  });
}

flow::Future<flow::Void> FailureMonitor::on_available(const flow::NetworkAddress& a) {
  // A process reaches itself without a connection: no attempt would ever report on it.
  if (a == transport_.address() && a.is_set()) return flow::Void{};
  if (status(a) == Status::kAvailable) return flow::Void{};
  return flow::spawn([this, a] {
    while (status(a) != Status::kAvailable) {
      flow::Future<flow::Void> next = on_attempt(a);
      transport_.channel_to(a);  // starts an attempt unless one is under way
      flow::wait(next);
    }
    return flow::Void{};
  });
}

}  // namespace net
