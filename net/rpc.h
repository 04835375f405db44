#pragma once
// Typed RPC: RequestStream<Req, Rep>, ReplyPromise<Rep>, ReceivedRequest<Req, Rep>.
//
// Req and Rep are FlatBuffers object-API types generated from a schema (`table EchoRequest` gives
// `EchoRequestT`); the schema is the wire format. A server makes a RequestStream in its process
// and serves requests() one by one; a client holds a RequestStream made from the server's
// endpoint and calls get_reply().
//
//   // server                                          // client
//   auto s = RequestStream<EchoRequestT, EchoReplyT>   RequestStream<EchoRequestT, EchoReplyT>
//              ::well_known(well_known_token(7));          echo(Endpoint{server,
//              well_known_token(7)});
//   for (;;) {                                         EchoReplyT r = wait(echo.get_reply(req));
//     auto in = wait_next(s.requests());
//     in.reply.send(EchoReplyT{...});
//   }
//
// Delivery follows FoundationDB. get_reply() fails with
//   request_maybe_delivered  the connection carrying the request failed before the reply came;
//                            the server may or may not have acted on it;
//   broken_promise           the endpoint does not exist (any more), or the server dropped the
//                            ReplyPromise without answering;
//   message_too_large        the request (or the reply) is over max_message_bytes;
//   endpoint_queue_full      the endpoint already holds as many requests as it may (see
//                            net/request_quota.h); the server never saw this one;
//   unexpected_remote_error  the server answered with a code that cannot come from a peer
//                            (net/wire_error.h);
//   any other error          the server answered with it (ReplyPromise::send_error).
// A reply whose requester is gone is dropped.
//
// Requests queue at their endpoint from the moment it exists until it is destroyed, whether or
// not anyone is waiting on requests() at the time: a server may take its time between
// wait_next() calls. The queue is bounded (RequestQuota), never by an assertion: peers fill it.

#include <cstdint>
#include <memory>
#include <span>
#include <utility>

#include "flow/actor.h"
#include "flow/combinators.h"
#include "flow/error.h"
#include "flow/external_promise.h"
#include "flow/flow_knobs.h"
#include "flow/future.h"
#include "flow/runtime.h"
#include "flow/stream.h"
#include "net/channel.h"
#include "net/endpoint.h"
#include "net/message.h"
#include "net/request_quota.h"
#include "net/transport.h"
#include "net/wire_error.h"

namespace net {

template <WireMessage Rep>
class ReplyPromise {
 public:
  // An empty promise: what a one-way message carries. Sending on it does nothing.
  ReplyPromise() = default;
  // A reply to `reply_to` over `channel` of the transport `life` names, while both exist.
  ReplyPromise(TransportRef life, ChannelId channel, Token reply_to)
      : life_(std::move(life)), channel_(channel), reply_to_(reply_to),
        armed_(!reply_to.is_zero()) {}
  ReplyPromise(ReplyPromise&& o) noexcept
      : life_(std::move(o.life_)),
        channel_(o.channel_),
        reply_to_(o.reply_to_),
        armed_(std::exchange(o.armed_, false)) {}
  ReplyPromise& operator=(ReplyPromise&& o) noexcept {
    if (this != &o) {
      abandon();
      life_ = std::move(o.life_);
      channel_ = o.channel_;
      reply_to_ = o.reply_to_;
      armed_ = std::exchange(o.armed_, false);
    }
    return *this;
  }
  ReplyPromise(const ReplyPromise&) = delete;
  ReplyPromise& operator=(const ReplyPromise&) = delete;
  // Dropped without an answer: the requester gets broken_promise.
  ~ReplyPromise() { abandon(); }

  // Whether a reply can still be sent (not yet sent, and not a one-way message).
  bool can_be_set() const { return armed_; }
  // Gives up replying without sending anything (the request was malformed: its connection is
  // closing, and the requester learns that instead).
  void disarm() { armed_ = false; }

  void send(const Rep& reply) {
    if (!std::exchange(armed_, false)) return;
    Transport* t = life_.get();
    if (t == nullptr) return;  // the process's state ended (a kill) since the request came
    encode_message(t->message_builder(), reply);
    t->send_reply(channel_, reply_to_,
                  {t->message_builder().GetBufferPointer(), t->message_builder().GetSize()}, 0);
  }
  // Sends `e` as the reply. A local-only error (operation_cancelled, ...) goes as broken_promise.
  void send_error(flow::Error e) {
    if (!std::exchange(armed_, false)) return;
    if (Transport* t = life_.get()) t->send_reply(channel_, reply_to_, {}, error_to_wire(e));
  }

 private:
  void abandon() {
    if (armed_) send_error(flow::Error(flow::ErrorCode::broken_promise));
  }

  TransportRef life_;
  ChannelId channel_ = 0;
  Token reply_to_;
  bool armed_ = false;
};

template <WireMessage Req, WireMessage Rep>
struct ReceivedRequest {
  Req request;
  ReplyPromise<Rep> reply;
  // The request's bytes, held against its endpoint's quota until this is destroyed (or reset).
  RequestCharge charge;
};

namespace detail {

// The one reply to a request, and the state of the future get_reply() returns: one allocation
// per request and no actor. It holds its promise reference while pending; the reply, a lost
// connection, or the last future going away ends that (see PendingReply).
template <WireMessage Rep>
class ReplyState final : public flow::ExternalPromise<Rep>, public PendingReply {
 public:
  bool receive(std::span<const uint8_t> body, const MessageContext& context) override {
    if (context.error != 0) {
      this->send_error(error_from_wire(context.error));
    } else {
      flow::ErrorOr<Rep> reply = decode_message<Rep>(body);
      if (!reply.ok()) return false;  // the connection closes, and tells us
      this->send(std::move(reply.get()));
    }
    finish();
    return true;
  }
  void connection_lost() override {
    this->send_error(flow::Error(flow::ErrorCode::request_maybe_delivered));
    finish();
  }
  // The request never left (message_too_large): ends the state with `e`.
  void fail_unsent(flow::Error e) {
    this->send_error(e);
    this->release();
  }

 private:
  ~ReplyState() override = default;
  void on_future_dropped() override { finish(); }  // nobody wants the reply: forget it
  // Stops pending and drops our promise reference (which frees this if no future remains).
  void finish() {
    stop_pending();
    this->release();
  }
};

// A server's queue of incoming requests, registered under the stream's token.
template <WireMessage Req, WireMessage Rep>
class RequestQueue final : public MessageReceiver {
 public:
  RequestQueue(Transport& t, std::optional<Token> token)
      : transport_(t),
        table_(t.endpoints()),
        address_(t.address()),
        token_(t.add_endpoint(this, token)),
        requests_(stream_.get_future()) {
    const auto& knobs = flow::Runtime::checked_current().knobs();
    quota_ = new RequestQuota(endpoint(), static_cast<size_t>(knobs.endpoint_queue_max),
                              static_cast<size_t>(knobs.endpoint_queue_bytes_max));
    quota_->add_ref();
  }
  ~RequestQueue() override {
    if (auto t = table_.lock()) t->remove(token_);
    // Requests still queued are dropped with the stream: their ReplyPromises break.
    quota_->del_ref();
  }
  RequestQueue(const RequestQueue&) = delete;
  RequestQueue& operator=(const RequestQueue&) = delete;

  Endpoint endpoint() const { return Endpoint{address_, token_}; }
  flow::FutureStream<ReceivedRequest<Req, Rep>> requests() const { return requests_; }
  const RequestQuota& quota() const { return *quota_; }

  bool receive(std::span<const uint8_t> body, const MessageContext& context) override {
    ReplyPromise<Rep> reply(context.reply_to.is_zero() ? TransportRef() : transport_.life(),
                            context.channel_id, context.reply_to);
    // The bound first: a flood is refused without the cost of verifying and decoding it.
    if (!quota_->admit(requests_.size(), body.size())) {
      transport_.count_refused_request();
      reply.send_error(flow::Error(flow::ErrorCode::endpoint_queue_full));
      return true;
    }
    flow::ErrorOr<Req> request = decode_message<Req>(body);
    if (!request.ok()) {
      quota_->release(body.size());
      reply.disarm();  // the connection closes, which its requester learns
      return false;
    }
    stream_.send(ReceivedRequest<Req, Rep>{std::move(request.get()), std::move(reply),
                                           RequestCharge(quota_, body.size())});
    return true;
  }

 private:
  Transport& transport_;
  std::weak_ptr<EndpointTable> table_;
  flow::NetworkAddress address_;
  Token token_;
  flow::PromiseStream<ReceivedRequest<Req, Rep>> stream_;
  // Held for the queue's whole life, so requests queue whether or not a server is waiting.
  flow::FutureStream<ReceivedRequest<Req, Rep>> requests_;
  RequestQuota* quota_ = nullptr;
};

}  // namespace detail

template <WireMessage Req, WireMessage Rep>
class RequestStream {
 public:
  // A new endpoint of the current process, with a fresh token, to serve requests on.
  RequestStream() : RequestStream(std::optional<Token>()) {}
  // The current process's well-known endpoint `token`. REQUIRES: no other stream has it.
  static RequestStream well_known(Token token) { return RequestStream(std::optional(token)); }
  // Someone's endpoint, to send requests to.
  explicit RequestStream(Endpoint endpoint) : endpoint_(endpoint) {}

  const Endpoint& endpoint() const { return endpoint_; }
  bool is_local() const { return queue_ != nullptr; }

  // Sends `request`; the future holds the reply or an error (see the header comment). Does not
  // wait. Dropping the future abandons the reply (a late one is then ignored).
  flow::Future<Rep> get_reply(const Req& request) const {
    Transport& t = Transport::current();
    encode_message(t.message_builder(), request);
    auto* state = new detail::ReplyState<Rep>();
    flow::Future<Rep> reply = state->get_future();
    try {
      t.send_request(endpoint_,
                     {t.message_builder().GetBufferPointer(), t.message_builder().GetSize()},
                     *state);
    } catch (const flow::Error& e) {
      state->fail_unsent(e);  // never pended
    }
    return reply;
  }

  // Sends `request` as a one-way message: no reply, no delivery report. Throws message_too_large.
  void send(const Req& request) const {
    Transport& t = Transport::current();
    encode_message(t.message_builder(), request);
    t.send(endpoint_, {t.message_builder().GetBufferPointer(), t.message_builder().GetSize()});
  }

  // The requests sent to this stream. REQUIRES: is_local().
  flow::FutureStream<ReceivedRequest<Req, Rep>> requests() const {
    ASSERT_MSG(queue_ != nullptr, "requests() on a remote stream {}", endpoint_.to_string());
    return queue_->requests();
  }
  // What this endpoint holds against its bound. REQUIRES: is_local().
  const RequestQuota& quota() const {
    ASSERT_MSG(queue_ != nullptr, "quota() on a remote stream {}", endpoint_.to_string());
    return queue_->quota();
  }

 private:
  explicit RequestStream(std::optional<Token> token)
      : queue_(std::make_shared<detail::RequestQueue<Req, Rep>>(Transport::current(), token)),
        endpoint_(queue_->endpoint()) {}

  std::shared_ptr<detail::RequestQueue<Req, Rep>> queue_;
  Endpoint endpoint_;
};

}  // namespace net
