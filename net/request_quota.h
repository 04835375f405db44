#pragma once
// RequestQuota — the bound on what peers can make one endpoint hold.
//
// Requests arrive at an endpoint as fast as peers send them, whatever the server's pace, so what
// an endpoint holds is bounded twice: the requests waiting in its queue (endpoint_queue_max) and
// the bytes of the requests received and not yet finished with — waiting, or held by the server
// while it works on them (endpoint_queue_bytes_max). A request beyond either bound is refused:
// its requester gets endpoint_queue_full, a one-way message is dropped, and the transport counts
// it. The first refusal after a spell of admitted requests emits an EndpointQueueFull trace event;
// the first admission after refusals emits EndpointQueueAdmitting with how many were refused.
//
// One quota per endpoint, shared between the endpoint's queue and every request it admitted
// (RequestCharge), so a request that outlives its endpoint still returns its bytes harmlessly.
// Single-threaded, like the transport.

#include <cstddef>
#include <cstdint>
#include <utility>

#include "flow/assert.h"
#include "net/endpoint.h"

namespace net {

class RequestQuota {
 public:
  RequestQuota(Endpoint endpoint, size_t queue_max, size_t bytes_max)
      : endpoint_(endpoint), queue_max_(queue_max), bytes_max_(bytes_max) {}
  RequestQuota(const RequestQuota&) = delete;
  RequestQuota& operator=(const RequestQuota&) = delete;

  // Whether a request of `bytes` may join a queue that holds `queued`; on true, its bytes count
  // until the matching release(). Traces the first refusal of a spell and the first admission
  // after one.
  bool admit(size_t queued, size_t bytes);
  void release(size_t bytes) {
    ASSERT_GE(bytes_held_, bytes);
    bytes_held_ -= bytes;
  }

  size_t bytes_held() const { return bytes_held_; }
  uint64_t refused() const { return refused_total_; }

  void add_ref() { ++refs_; }
  void del_ref() {
    ASSERT_GT(refs_, 0);
    if (--refs_ == 0) delete this;
  }

 private:
  ~RequestQuota() = default;

  Endpoint endpoint_;
  size_t queue_max_;
  size_t bytes_max_;
  size_t bytes_held_ = 0;
  uint64_t refused_total_ = 0;
  uint64_t refused_in_spell_ = 0;
  int32_t refs_ = 0;
};

// The bytes one admitted request holds against its endpoint's quota, returned when the request
// is destroyed. Move-only.
class RequestCharge {
 public:
  RequestCharge() = default;
  RequestCharge(RequestQuota* quota, size_t bytes) : quota_(quota), bytes_(bytes) {
    quota_->add_ref();
  }
  RequestCharge(RequestCharge&& o) noexcept
      : quota_(std::exchange(o.quota_, nullptr)), bytes_(o.bytes_) {}
  RequestCharge& operator=(RequestCharge&& o) noexcept {
    if (this != &o) {
      reset();
      quota_ = std::exchange(o.quota_, nullptr);
      bytes_ = o.bytes_;
    }
    return *this;
  }
  ~RequestCharge() { reset(); }

  // Returns the bytes now (the server is done with the request's body early).
  void reset() {
    if (quota_ == nullptr) return;
    quota_->release(bytes_);
    std::exchange(quota_, nullptr)->del_ref();
  }

 private:
  RequestQuota* quota_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace net
