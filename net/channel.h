#pragma once
// Channel — one connection as the transport sees it: the handshake, an output buffer that a
// writer drains in order, a reader that cuts frames and hands them to the transport, and the
// idle monitor. A loopback channel (to the process itself) has no connection: what is sent on it
// is dispatched at once.
//
// A channel ends once (close()): its connection closes, its on_closed() future becomes ready,
// whatever was still buffered is dropped, and every request still waiting for a reply on it learns
// that the connection was lost.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "flow/async_trigger.h"
#include "flow/error.h"
#include "flow/future.h"
#include "flow/network.h"
#include "flow/time.h"
#include "net/endpoint.h"
#include "net/transport.h"

namespace net {

class PendingReply;
class Transport;

class Channel : public std::enable_shared_from_this<Channel> {
 public:
  enum class Kind { kOutgoing, kIncoming, kLoopback };

  // `peer` is the address dialled (outgoing), the remote socket address until the Hello names the
  // peer (incoming), or our own (loopback).
  Channel(Transport& transport, Kind kind, flow::NetworkAddress peer);
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  Kind kind() const { return kind_; }
  // This channel's id in its transport (valid until it closes).
  ChannelId id() const { return id_; }
  const flow::NetworkAddress& peer() const { return peer_; }
  bool closed() const { return closed_; }
  bool handshake_done() const { return handshake_done_; }
  // Whether peer() names a process the failure monitor tracks: the address dialled (outgoing),
  // or the listening address an incoming peer announced in its Hello (a client that does not
  // listen announces none).
  bool peer_known() const {
    return kind_ == Kind::kOutgoing || (kind_ == Kind::kIncoming && announced_);
  }
  flow::Future<flow::Void> on_closed() const { return closed_promise_.get_future(); }
  Transport* transport() const { return transport_; }

  // Queues one envelope (loopback: dispatches it now). Dropped if the channel is closed. If the
  // queue would pass connection_send_queue_bytes_max, the channel closes instead
  // (ConnectionSendQueueFull): its pending requests get request_maybe_delivered.
  void send_envelope(Token destination, Token reply_to, int32_t error,
                     std::span<const uint8_t> body, bool ping = false, bool pong = false);
  // Forgets the transport (which is being destroyed): no more callbacks into it.
  void detach() { transport_ = nullptr; }
  // Ends the channel; `why` names the reason in the trace. Idempotent.
  void close(const char* why, std::optional<flow::Error> error = {});

  // Requests sent on this channel that wait for their reply (the idle monitor pings only while
  // there are some). A channel that ends tells each one (PendingReply::connection_lost).
  void link(PendingReply& reply);
  void unlink(PendingReply& reply);
  int64_t outstanding() const { return outstanding_; }

  // Runs the connection until it ends: reader, writer and idle monitor. Throws nothing; the
  // channel is closed when it returns. May suspend.
  void run(std::shared_ptr<flow::IConnection> connection);

 private:
  void read_loop();
  void write_loop();
  void idle_loop();
  // The first frame from the peer. Returns false if the connection must close.
  bool accept_hello(std::span<const uint8_t> payload);
  // The largest frame payload once the handshake is done.
  static size_t max_frame_payload();

  Transport* transport_;  // null once closed
  Kind kind_;
  ChannelId id_;
  flow::NetworkAddress peer_;
  std::shared_ptr<flow::IConnection> connection_;
  std::vector<uint8_t> out_;
  size_t send_queue_bytes_max_ = 0;  // bound of out_ (connection_send_queue_bytes_max)
  flow::AsyncTrigger out_ready_;
  flow::Promise<flow::Void> closed_promise_;
  bool closed_ = false;
  bool handshake_done_ = false;
  int64_t outstanding_ = 0;
  PendingReply* pending_head_ = nullptr;  // linked through PendingReply::prev_/next_
  flow::Time last_received_{};  // bytes last arrived
  flow::Time last_progress_{};  // a piece of a write last completed
  bool announced_ = false;       // an incoming peer named its listening address in its Hello
};

}  // namespace net
