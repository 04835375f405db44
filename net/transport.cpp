#include "net/transport.h"

#include <cstring>

#include <fmt/format.h>

#include "flow/actor.h"
#include "flow/buggify.h"
#include "flow/code_probe.h"
#include "flow/combinators.h"
#include "flow/deterministic_random.h"
#include "flow/flow_knobs.h"
#include "flow/runtime.h"
#include "flow/trace_event.h"
#include "net/channel.h"
#include "net/envelope.h"
#include "net/frame.h"

namespace net {

using flow::Error;
using flow::ErrorCode;

std::string Token::to_string() const {
  return fmt::format("{:016x}{:016x}", first, second);
}

std::string Endpoint::to_string() const {
  return fmt::format("{}/{}", address.to_string(), token.to_string());
}

EndpointTable::EndpointTable(uint64_t nonce) : nonce_(nonce) {
  ASSERT(nonce != 0 && nonce != kWellKnownFirst);
}

Token EndpointTable::add(MessageReceiver* receiver) {
  return Token{nonce_, fresh_.add(receiver)};
}

void EndpointTable::add_fixed(Token token, MessageReceiver* receiver) {
  ASSERT_MSG(token.first != nonce_, "fixed token {} looks fresh", token.to_string());
  const bool inserted = fixed_.emplace(token, receiver).second;
  ASSERT_MSG(inserted, "endpoint token {} registered twice", token.to_string());
}

void EndpointTable::remove(Token token) {
  if (token.first != nonce_) {
    fixed_.erase(token);
    return;
  }
  fresh_.remove(token.second);
}

MessageReceiver* EndpointTable::find_fixed(Token token) const {
  auto it = fixed_.find(token);
  return it == fixed_.end() ? nullptr : it->second;
}

PendingReply::~PendingReply() {
  ASSERT_MSG(!pending(), "a pending reply was destroyed");
}

void PendingReply::stop_pending() {
  if (channel_ == nullptr) return;
  table_->remove(token_);
  channel_->unlink(*this);
}

namespace {
uint64_t draw_nonce() {
  uint64_t n;
  do {
    n = flow::deterministic_random().random_uint64();
  } while (n == 0 || n == kWellKnownFirst);
  return n;
}
}  // namespace

Transport::Transport(flow::Process& process)
    : process_(process),
      life_(new TransportLife(this)),
      endpoints_(std::make_shared<EndpointTable>(draw_nonce())),
      failure_monitor_(*this),
      message_builder_(1024) {
  loopback_ = std::make_shared<Channel>(*this, Channel::Kind::kLoopback, process.address());
  if (process.address().is_set()) {
    listener_ = process.network().listen(process.address());
    actors_.add(flow::spawn_in(process_, [this, l = listener_] { listen_loop(l); }));
  }
}

Transport::~Transport() {
  // Channels outlive us only as empty husks: close them so nothing calls back.
  for (auto& [address, peer] : peers_) {
    if (!peer.channel) continue;
    peer.channel->detach();
    peer.channel->close("TransportDestroyed");
  }
  loopback_->detach();
  loopback_->close("TransportDestroyed");
  if (listener_) listener_->close();
  life_->transport_ = nullptr;
  life_->del_ref();
}

ChannelId Transport::register_channel(Channel* channel) {
  return channels_.add(channel);
}

void Transport::unregister_channel(ChannelId id) {
  const bool removed = channels_.remove(id);
  ASSERT_MSG(removed, "channel {:#x} unregistered twice", id);
}

Transport& Transport::current() {
  return flow::current_process().extension<Transport>();
}

Token Transport::add_endpoint(MessageReceiver* receiver, std::optional<Token> token) {
  if (!token) return endpoints_->add(receiver);
  endpoints_->add_fixed(*token, receiver);
  return *token;
}

void Transport::check_size(std::span<const uint8_t> body) {
  const auto max = static_cast<size_t>(flow::Runtime::checked_current().knobs().max_message_bytes);
  if (body.size() > max) {
    trim_builders();
    throw Error(ErrorCode::message_too_large);
  }
}

void Transport::send(const Endpoint& destination, std::span<const uint8_t> body) {
  check_size(body);
  channel_to(destination.address).send_envelope(destination.token, Token{}, 0, body);
  trim_builders();
}

void Transport::trim_builders() {
  // Builders keep their memory across Clear(); after a large message, give it back.
  constexpr size_t kKeepBytes = 1 << 20;
  if (message_builder_.GetSize() > kKeepBytes) message_builder_.Reset();
}

void Transport::send_request(const Endpoint& destination, std::span<const uint8_t> body,
                             PendingReply& reply) {
  ASSERT(!reply.pending());
  check_size(body);
  Channel& channel = channel_to(destination.address);
  // Pending before it is sent: a loopback request may be answered (broken_promise) at once.
  reply.table_ = endpoints_.get();
  reply.token_ = endpoints_->add(&reply);
  channel.link(reply);
  channel.send_envelope(destination.token, reply.token_, 0, body);
  trim_builders();
}

void Transport::send_reply(ChannelId channel, Token reply_to, std::span<const uint8_t> body,
                           int32_t error) {
  Channel* c = find_channel(channel);
  if (c == nullptr || c->closed()) {
    CODE_PROBE(true, "a reply finds its connection gone");
    ++counters_.replies_undeliverable;
    return;
  }
  if (body.size() >
      static_cast<size_t>(flow::Runtime::checked_current().knobs().max_message_bytes)) {
    body = {};
    error = static_cast<int32_t>(ErrorCode::message_too_large);
  }
  c->send_envelope(reply_to, Token{}, error, body);
  trim_builders();
}

Channel& Transport::channel_to(const flow::NetworkAddress& peer) {
  // Most sends go to the peer of the send before: skip the map then.
  if (last_channel_ != nullptr && last_peer_ == peer && !last_channel_->closed())
    return *last_channel_;
  if (peer == address() && address().is_set()) return *loopback_;
  PeerState& state = peers_[peer];
  if (!state.channel || state.channel->closed()) {
    state.channel = std::make_shared<Channel>(*this, Channel::Kind::kOutgoing, peer);
    actors_.add(flow::spawn_in(
        process_, [this, c = state.channel, b = state.backoff] { connect_loop(c, b); }));
  }
  // peers_ owns the channel until another replaces it, and that happens only here, after it
  // closed: the cached pointer is checked for closed() before use.
  last_peer_ = peer;
  last_channel_ = state.channel.get();
  return *state.channel;
}

void Transport::connect_loop(std::shared_ptr<Channel> channel, flow::Duration backoff) {
  try {
    if (backoff > flow::Duration(0)) {
      CODE_PROBE(true, "a reconnect waits out its backoff");
      // Jitter spreads the reconnections of many peers after a shared failure.
      const double jitter = 0.5 + flow::deterministic_random().random01();
      flow::wait(flow::delay(flow::from_seconds(flow::to_seconds(backoff) * jitter)));
    }
    // A slow connect: requests pile up in the channel's send queue before it is up.
    if (flow::buggify(0.1))
      flow::wait(flow::delay(std::chrono::milliseconds(flow::deterministic_random().random_int(0, 500))));
    if (channel->closed()) return;
    std::shared_ptr<flow::IConnection> c = flow::wait(process_.network().connect(channel->peer()));
    ++counters_.connections_opened;
    channel->run(std::move(c));
  } catch (const Error& e) {
    if (e.code() == ErrorCode::operation_cancelled) {
      channel->close("Cancelled");
      throw;
    }
    CODE_PROBE(true, "a connect attempt fails");
    channel->close("ConnectFailed", e);
  }
}

void Transport::listen_loop(std::shared_ptr<flow::IListener> listener) {
  for (;;) {
    std::shared_ptr<flow::IConnection> c = flow::wait(listener->accept());
    ++counters_.connections_opened;
    auto channel = std::make_shared<Channel>(*this, Channel::Kind::kIncoming, c->peer_address());
    actors_.add(flow::spawn_in(process_, [channel, c] { channel->run(c); }));
  }
}

void Transport::channel_up(Channel& channel) {
  if (channel.kind() == Channel::Kind::kOutgoing) {
    CODE_PROBE(peers_[channel.peer()].backoff > flow::Duration(0),
               "a reconnect after a failure succeeds");
    peers_[channel.peer()].backoff = flow::Duration(0);
  }
  if (!channel.peer_known()) return;
  ++connections_up_[channel.peer()];
  failure_monitor_.set_status(channel.peer(), FailureMonitor::Status::kAvailable);
}

void Transport::channel_down(Channel& channel) {
  unregister_channel(channel.id());
  ++counters_.connections_closed;
  if (channel.kind() == Channel::Kind::kLoopback) return;
  if (channel.kind() == Channel::Kind::kOutgoing) {
    const auto& knobs = flow::Runtime::checked_current().knobs();
    PeerState& state = peers_[channel.peer()];
    state.backoff =
        std::min(knobs.max_reconnect, std::max(knobs.initial_reconnect, state.backoff * 2));
  }
  if (!channel.peer_known()) return;
  // The peer is failed once no connection to it is left up: a connection that ended, or an
  // attempt that failed while none was up.
  int64_t up = 0;
  if (channel.handshake_done()) {
    auto it = connections_up_.find(channel.peer());
    ASSERT(it != connections_up_.end() && it->second > 0);
    up = --it->second;
    if (up == 0) connections_up_.erase(it);
  } else if (auto it = connections_up_.find(channel.peer()); it != connections_up_.end()) {
    up = it->second;
  }
  CODE_PROBE(
      up == 0 && failure_monitor_.status(channel.peer()) == FailureMonitor::Status::kAvailable,
      "the failure monitor marks a peer failed");
  CODE_PROBE(up > 0, "a connection to a peer ends while another stays up");
  if (up == 0) {
    failure_monitor_.set_status(channel.peer(), FailureMonitor::Status::kFailed);
  } else {
    failure_monitor_.note_attempt(channel.peer());
  }
}

bool Transport::dispatch(std::span<const uint8_t> payload, Channel& from) {
  const std::optional<ReceivedEnvelope> env = parse_envelope(payload);
  if (!env) {
    CODE_PROBE(true, "a malformed envelope closes its connection");
    flow::TraceEvent(flow::SevWarnAlways, "MalformedEnvelope")
        .detail("Peer", from.peer().to_string());
    return false;
  }
  ++counters_.messages_received;
  const EnvelopeFields& f = env->fields;
  if (f.flags & kEnvelopePing) {
    from.send_envelope(Token{}, Token{}, 0, {}, false, /*pong=*/true);
    return true;
  }
  if (f.flags & kEnvelopePong) return true;
  MessageReceiver* receiver = endpoints_->find(f.destination);
  if (receiver == nullptr) {
    CODE_PROBE(!f.reply_to.is_zero(),
               "a request to an unknown endpoint is answered broken_promise");
    CODE_PROBE(f.reply_to.is_zero(), "a reply or one-way message finds its endpoint gone");
    ++counters_.unknown_endpoint;
    flow::TraceEvent(flow::SevDebug, "UnknownEndpoint")
        .detail("Token", f.destination.to_string())
        .detail("Peer", from.peer().to_string());
    if (!f.reply_to.is_zero())
      send_reply(from.id(), f.reply_to, {},
                 static_cast<int32_t>(ErrorCode::broken_promise));
    return true;
  }
  std::span<const uint8_t> body = env->body;
  Payload aligned;
  if (reinterpret_cast<uintptr_t>(body.data()) % 8 != 0) {
    // Only a caller that hands us an unaligned payload gets here; copy rather than misread.
    aligned = Payload(body.size());
    std::memcpy(aligned.data(), body.data(), body.size());
    body = aligned.bytes();
  }
  const MessageContext context{f.reply_to, f.error, &from, from.id()};
  if (!receiver->receive(body, context)) {
    CODE_PROBE(true, "a message that does not decode closes its connection");
    flow::TraceEvent(flow::SevWarnAlways, "MalformedMessage")
        .detail("Token", f.destination.to_string())
        .detail("Peer", from.peer().to_string());
    return false;
  }
  return true;
}

}  // namespace net
