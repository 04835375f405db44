#include "net/request_quota.h"

#include "flow/code_probe.h"
#include "flow/trace_event.h"

namespace net {

bool RequestQuota::admit(size_t queued, size_t bytes) {
  if (queued < queue_max_ && bytes_held_ + bytes <= bytes_max_) {
    if (refused_in_spell_ > 0) {
      flow::TraceEvent(flow::SevInfo, "EndpointQueueAdmitting")
          .detail("Endpoint", endpoint_.to_string())
          .detail("Refused", refused_in_spell_);
      refused_in_spell_ = 0;
    }
    bytes_held_ += bytes;
    return true;
  }
  if (refused_in_spell_++ == 0) {
    flow::TraceEvent(flow::SevWarnAlways, "EndpointQueueFull")
        .detail("Endpoint", endpoint_.to_string())
        .detail("Queued", queued)
        .detail("QueueMax", queue_max_)
        .detail("BytesHeld", bytes_held_)
        .detail("BytesMax", bytes_max_)
        .detail("RequestBytes", bytes);
  }
  CODE_PROBE(queued >= queue_max_, "an endpoint refuses a request: its queue is full");
  CODE_PROBE(queued < queue_max_, "an endpoint refuses a request: its bytes are spent");
  ++refused_total_;
  return false;
}

}  // namespace net
