#pragma once
// Transport — one process's side of the wire: its endpoints, its connections, its failure monitor.
//
// Each process has one Transport (Transport::current()), made on first use. If the process has an
// address, the transport listens there. Messages to an endpoint go over one connection per peer
// address, made lazily on the first send and remade after a failure with exponential backoff and
// jitter drawn from the run's random. Messages to the process's own address skip the network but
// are still serialized and verified, like every other message.
//
// A connection starts with a Hello frame each way (protocol version, the sender's address and
// name); a version mismatch, or a peer that is not who we dialled, closes it with a
// ConnectionRejected trace event. After that every frame is an envelope (net/envelope.h) and a
// message body for one endpoint. A frame that fails its checksum, or a message that fails
// verification, closes the connection (a trace event says why); nothing malformed is ever
// delivered.
//
// A connection that moves no bytes either way for connection_idle_seconds is pinged, whether or
// not requests are outstanding on it, and closed if the ping goes unanswered as long again (with
// requests outstanding) or for connection_idle_timeout_seconds (without): a peer that vanished
// without closing (a machine that lost power) is noticed by clients and servers alike. A large
// message being written or read counts as movement.
//
// Bounds (what a peer can make this process hold): a frame from a peer that has not yet sent its
// Hello is at most 4 KiB, and a large frame's buffer grows only with the bytes that arrive; each
// endpoint holds at most endpoint_queue_max waiting requests and endpoint_queue_bytes_max bytes
// (net/request_quota.h); each connection queues at most connection_send_queue_bytes_max bytes to
// send (it closes past that). Each bound, when hit, is a trace event and a counter.
//
// Replies go back on the connection the request came on. A request whose connection fails before
// its reply arrives gets request_maybe_delivered (see rpc.h).

#include <flatbuffers/flatbuffers.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "flow/actor_collection.h"
#include "flow/future.h"
#include "flow/network.h"
#include "flow/process.h"
#include "net/detail/slot_table.h"
#include "net/endpoint.h"
#include "net/failure_monitor.h"

namespace net {

// "STRA" and the wire version. Bump the low half for any incompatible change to a schema.
inline constexpr uint64_t kProtocolVersion = 0x5354'5241'0000'0002ULL;

class Channel;
class Transport;

// Names one channel of a transport for as long as it is open: a slot and its generation, so an
// id whose channel closed finds nothing, even after the slot is reused.
using ChannelId = uint64_t;


// What a receiver learns about a message besides its body.
struct MessageContext {
  Token reply_to;              // nonzero for requests
  int32_t error = 0;           // nonzero for error replies
  Channel* channel = nullptr;  // the connection it came on (replies go back on it); valid only
                               // during receive()
  ChannelId channel_id = 0;    // the same, as an id that stays safe to hold
};

class MessageReceiver {
 public:
  virtual ~MessageReceiver() = default;
  // Takes one message. Returns false if `body` is malformed for this receiver; the transport then
  // closes the connection it came on. Never suspends. `body` is 8-byte aligned.
  virtual bool receive(std::span<const uint8_t> body, const MessageContext& context) = 0;
};

// The receivers of one process by token, found in O(1): a fresh token names a slot of a vector
// (its low half) and the slot's generation (its high half), under a nonce drawn once per
// transport, so a stale token — its receiver gone, or from an earlier life of the process — finds
// nothing. Fixed tokens (well-known ones) live in a small ordered map. Shared, so a receiver that
// outlives its transport (a kill ended the process's state) can still remove itself harmlessly.
class EndpointTable {
 public:
  // REQUIRES: nonce is neither 0 nor kWellKnownFirst.
  explicit EndpointTable(uint64_t nonce);

  // Registers `receiver` under a fresh token.
  Token add(MessageReceiver* receiver);
  // Registers `receiver` under `token`. REQUIRES: `token` is not taken and is not of this table's
  // fresh kind.
  void add_fixed(Token token, MessageReceiver* receiver);
  // Unregisters `token`; nothing happens if it is not registered.
  void remove(Token token);
  MessageReceiver* find(Token token) const {
    return token.first == nonce_ ? fresh_.find(token.second) : find_fixed(token);
  }
  size_t size() const { return fresh_.size() + fixed_.size(); }

 private:
  MessageReceiver* find_fixed(Token token) const;

  uint64_t nonce_;
  detail::SlotTable<MessageReceiver> fresh_;
  std::map<Token, MessageReceiver*> fixed_;
};

// Whether a transport still exists, for objects of its process that may be destroyed after it (a
// kill ends the transport before the actors' leftovers): reply promises keep one. Counted without
// atomics (one thread), because every request makes and drops a reference.
class TransportLife {
 public:
  explicit TransportLife(Transport* t) : transport_(t) {}
  TransportLife(const TransportLife&) = delete;
  TransportLife& operator=(const TransportLife&) = delete;
  // The transport, or null once it is gone.
  Transport* transport() const { return transport_; }
  void add_ref() { ++refs_; }
  void del_ref() {
    if (--refs_ == 0) delete this;
  }

 private:
  friend class Transport;
  ~TransportLife() = default;
  Transport* transport_;
  int64_t refs_ = 1;  // the transport's own
};

// A counted reference to a TransportLife. Moves are free; copies count.
class TransportRef {
 public:
  TransportRef() = default;
  explicit TransportRef(TransportLife* life) : life_(life) {
    if (life_) life_->add_ref();
  }
  TransportRef(TransportRef&& o) noexcept : life_(std::exchange(o.life_, nullptr)) {}
  TransportRef& operator=(TransportRef&& o) noexcept {
    if (this != &o) {
      if (life_) life_->del_ref();
      life_ = std::exchange(o.life_, nullptr);
    }
    return *this;
  }
  TransportRef(const TransportRef&) = delete;
  TransportRef& operator=(const TransportRef&) = delete;
  ~TransportRef() {
    if (life_) life_->del_ref();
  }
  Transport* get() const { return life_ ? life_->transport() : nullptr; }

 private:
  TransportLife* life_ = nullptr;
};

// Figures a benchmark or a test reads.
struct TransportCounters {
  uint64_t messages_sent = 0;
  uint64_t messages_received = 0;
  uint64_t bytes_sent = 0;
  uint64_t writes = 0;  // connection writes (each carries one or more frames)
  uint64_t bytes_received = 0;
  uint64_t connections_opened = 0;
  uint64_t connections_closed = 0;
  uint64_t replies_undeliverable = 0;  // the requester's connection was gone
  uint64_t unknown_endpoint = 0;       // messages for a token nobody has
  uint64_t requests_refused = 0;       // beyond an endpoint's quota (endpoint_queue_full)
  uint64_t send_queues_overflowed = 0;  // connections closed because their send queue was full
};

// A request waiting for its reply. While pending it is registered under its reply token and
// linked into the channel that carried the request; it stops pending exactly once, when the reply
// comes (receive), when that channel ends (connection_lost), or when nobody wants the reply any
// more (the subclass calls stop_pending). rpc.h's ReplyState is the one subclass.
class PendingReply : public MessageReceiver {
 public:
  PendingReply() = default;
  PendingReply(const PendingReply&) = delete;
  PendingReply& operator=(const PendingReply&) = delete;

  bool pending() const { return channel_ != nullptr; }
  // The channel carrying the request ended first. Called by the channel, which has already
  // unlinked this.
  virtual void connection_lost() = 0;

 protected:
  ~PendingReply() override;
  // Unregisters the token and unlinks from the channel. Idempotent.
  void stop_pending();

 private:
  friend class Channel;
  friend class Transport;
  EndpointTable* table_ = nullptr;  // outlives every pending reply: channels end first
  Channel* channel_ = nullptr;      // non-null while pending
  PendingReply* prev_ = nullptr;
  PendingReply* next_ = nullptr;
  Token token_;
};

class Transport final : public flow::ProcessExtension {
 public:
  // Listens on process.address() if it is set; throws bind_failed if it cannot.
  explicit Transport(flow::Process& process);
  ~Transport() override;
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // The current process's transport, made on first use.
  static Transport& current();

  const flow::NetworkAddress& address() const { return process_.address(); }
  flow::Process& process() { return process_; }
  FailureMonitor& failure_monitor() { return failure_monitor_; }
  const TransportCounters& counters() const { return counters_; }
  const std::shared_ptr<EndpointTable>& endpoints() const { return endpoints_; }

  // Registers `receiver` under a fresh token, or under `token` (a well-known one).
  // REQUIRES: `token` is not taken.
  Token add_endpoint(MessageReceiver* receiver, std::optional<Token> token = {});

  // Sends a one-way message. Throws message_too_large.
  void send(const Endpoint& destination, std::span<const uint8_t> body);
  // Sends a request whose reply `reply` takes: it is pending from here (see PendingReply), and
  // may have stopped pending before this returns (a loopback request to an endpoint nobody
  // has). Throws message_too_large (and then `reply` never pended).
  void send_request(const Endpoint& destination, std::span<const uint8_t> body,
                    PendingReply& reply);
  // Sends a reply (error != 0: an error reply with no body) on channel `channel`; if that
  // connection is gone the reply is dropped and counted.
  void send_reply(ChannelId channel, Token reply_to, std::span<const uint8_t> body,
                  int32_t error);
  // A counted handle that tells whether this transport still exists.
  TransportRef life() const { return TransportRef(life_); }

  // An endpoint refused a request or message (its RequestQuota was exhausted).
  void count_refused_request() { ++counters_.requests_refused; }

  // A builder for encoding a message just before sending it.
  flatbuffers::FlatBufferBuilder& message_builder() { return message_builder_; }

  // The connection to `peer`, made if there is none (a new attempt waits out the backoff). Valid
  // until the next call (a closed channel is replaced then).
  Channel& channel_to(const flow::NetworkAddress& peer);

 private:
  friend class Channel;
  struct PeerState {
    std::shared_ptr<Channel> channel;
    flow::Duration backoff{0};
  };

  void check_size(std::span<const uint8_t> body);
  void trim_builders();
  void listen_loop(std::shared_ptr<flow::IListener> listener);
  void connect_loop(std::shared_ptr<Channel> channel, flow::Duration backoff);
  // Called by a channel: it finished its handshake, or it ended.
  void channel_up(Channel& channel);
  void channel_down(Channel& channel);
  // Hands one verified envelope to its receiver. Returns false if the connection must close.
  bool dispatch(std::span<const uint8_t> payload, Channel& from);
  // Open channels by id (see ChannelId): a channel registers when made, and leaves when it ends.
  ChannelId register_channel(Channel* channel);
  void unregister_channel(ChannelId id);
  Channel* find_channel(ChannelId id) const { return channels_.find(id); }
  flow::Process& process_;
  TransportLife* life_;
  std::shared_ptr<EndpointTable> endpoints_;
  detail::SlotTable<Channel> channels_;
  FailureMonitor failure_monitor_;
  TransportCounters counters_;
  std::map<flow::NetworkAddress, PeerState> peers_;
  // Connections whose handshake is done, by the peer's address (incoming and outgoing alike):
  // the failure monitor's view follows them.
  std::map<flow::NetworkAddress, int64_t> connections_up_;
  std::shared_ptr<Channel> loopback_;
  // The channel of the last channel_to() through peers_, and its peer.
  flow::NetworkAddress last_peer_;
  Channel* last_channel_ = nullptr;
  flatbuffers::FlatBufferBuilder message_builder_;
  std::shared_ptr<flow::IListener> listener_;
  flow::ActorCollection actors_;  // the listener and every connection's actors
};

}  // namespace net
