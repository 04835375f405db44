#include "net/channel.h"

#include <cstring>

#include "flow/actor.h"
#include "flow/buggify.h"
#include "flow/code_probe.h"
#include "flow/combinators.h"
#include "flow/flow_knobs.h"
#include "flow/runtime.h"
#include "flow/trace_event.h"
#include "net/envelope.h"
#include "net/frame.h"
#include "net/schema/transport_generated.h"
#include "net/transport.h"

namespace net {

namespace wire = strata::wire;

using flow::Error;
using flow::ErrorCode;

Channel::Channel(Transport& transport, Kind kind, flow::NetworkAddress peer)
    : transport_(&transport), kind_(kind), id_(transport.register_channel(this)), peer_(peer) {
  const auto& knobs = flow::Runtime::checked_current().knobs();
  // A queue smaller than one largest frame could never send that message.
  send_queue_bytes_max_ =
      std::max(static_cast<size_t>(knobs.connection_send_queue_bytes_max),
               frame_bytes(kEnvelopeBytes + static_cast<size_t>(knobs.max_message_bytes)));
  if (kind_ == Kind::kLoopback) {
    handshake_done_ = true;
    return;
  }
  flatbuffers::FlatBufferBuilder b(128);
  const flow::NetworkAddress& self = transport.address();
  const wire::Address address(self.ip, self.port);
  b.Finish(
      wire::CreateHello(b, kProtocolVersion, &address, b.CreateString(transport.process().name())));
  append_frame(out_, {b.GetBufferPointer(), b.GetSize()});
}

Channel::~Channel() {
  ASSERT_MSG(pending_head_ == nullptr, "a channel ended with replies pending");
}

void Channel::link(PendingReply& reply) {
  reply.channel_ = this;
  reply.prev_ = nullptr;
  reply.next_ = pending_head_;
  if (pending_head_ != nullptr) pending_head_->prev_ = &reply;
  pending_head_ = &reply;
  ++outstanding_;
}

void Channel::unlink(PendingReply& reply) {
  ASSERT(reply.channel_ == this);
  (reply.prev_ != nullptr ? reply.prev_->next_ : pending_head_) = reply.next_;
  if (reply.next_ != nullptr) reply.next_->prev_ = reply.prev_;
  reply.channel_ = nullptr;
  reply.prev_ = reply.next_ = nullptr;
  --outstanding_;
}

void Channel::send_envelope(Token destination, Token reply_to, int32_t error,
                            std::span<const uint8_t> body, bool ping, bool pong) {
  if (closed_ || transport_ == nullptr) return;
  const EnvelopeFields envelope{destination, reply_to, error,
                                (ping ? kEnvelopePing : 0u) | (pong ? kEnvelopePong : 0u)};
  ++transport_->counters_.messages_sent;
  if (kind_ == Kind::kLoopback) {
    // Framed and dispatched as a received frame would be (a buffer of its own: a receiver may
    // send again on this channel before the dispatch returns).
    std::vector<uint8_t> frame;
    append_envelope_frame(frame, envelope, body);
    transport_->dispatch(
        std::span<const uint8_t>(frame).subspan(kFrameHeaderBytes, kEnvelopeBytes + body.size()),
        *this);
    return;
  }
  const size_t frame = frame_bytes(kEnvelopeBytes + body.size());
  if (out_.size() + frame > send_queue_bytes_max_) {
    // The peer (or the way to it) does not take bytes as fast as we make them. Waiting longer
    // only grows memory; closing tells every requester (request_maybe_delivered) at once.
    CODE_PROBE(true, "a connection's send queue overflows and closes it");
    ++transport_->counters_.send_queues_overflowed;
    flow::TraceEvent(flow::SevWarnAlways, "ConnectionSendQueueFull")
        .detail("Peer", peer_.to_string())
        .detail("QueuedBytes", out_.size())
        .detail("FrameBytes", frame)
        .detail("QueueBytesMax", send_queue_bytes_max_)
        .detail("Connected", connection_ != nullptr);
    close("SendQueueFull");
    return;
  }
  const bool was_empty = out_.empty();
  append_envelope_frame(out_, envelope, body);
  if (was_empty) out_ready_.trigger();
}

void Channel::close(const char* why, std::optional<Error> error) {
  if (closed_) return;
  closed_ = true;
  flow::TraceEvent ev(kind_ == Kind::kLoopback ? flow::SevDebug : flow::SevInfo,
                      "ConnectionClosed");
  ev.detail("Peer", peer_.to_string())
      .detail("Reason", why)
      .detail("Outgoing", kind_ == Kind::kOutgoing);
  if (error) ev.detail("Error", *error);
  if (connection_) connection_->close();
  out_.clear();
  out_.shrink_to_fit();
  Transport* t = std::exchange(transport_, nullptr);
  if (t) t->channel_down(*this);
  CODE_PROBE(pending_head_ != nullptr, "a closing connection fails the requests waiting on it");
  // connection_lost() may free the reply (nobody else wanted it), so it stops pending first.
  while (PendingReply* reply = pending_head_) {
    reply->stop_pending();
    reply->connection_lost();
  }
  closed_promise_.send();
}

void Channel::run(std::shared_ptr<flow::IConnection> connection) {
  connection_ = std::move(connection);
  if (closed_) {  // ended while connecting (its send queue overflowed, or it was cut)
    connection_->close();
    return;
  }
  last_received_ = last_progress_ = flow::now();
  out_ready_.trigger();
  std::optional<Error> error;
  const char* why = "ConnectionFailed";
  try {
    flow::Future<flow::Void> reader = flow::spawn([this] { read_loop(); });
    flow::Future<flow::Void> writer = flow::spawn([this] { write_loop(); });
    flow::Future<flow::Void> idle = flow::spawn([this] { idle_loop(); });
    flow::Future<flow::Void> closed = on_closed();
    flow::wait_any(reader, writer, idle, closed);
    for (const auto* f : {&reader, &writer, &idle}) {
      if (f->is_ready() && f->is_error()) {
        error = f->get_error();
        break;
      }
    }
  } catch (const Error& e) {
    if (e.code() == ErrorCode::operation_cancelled) {
      close("Cancelled");
      throw;
    }
    error = e;
  }
  CODE_PROBE(error && error->code() == ErrorCode::connection_failed,
             "a connection fails under its reader or writer");
  CODE_PROBE(error && error->code() == ErrorCode::checksum_failed,
             "a connection closes on a frame whose checksum fails");
  CODE_PROBE(error && error->code() == ErrorCode::malformed_message,
             "a connection closes on a malformed message");
  CODE_PROBE(error && error->code() == ErrorCode::incompatible_protocol_version,
             "a connection closes on a rejected hello");
  if (error && error->code() == ErrorCode::checksum_failed) why = "ChecksumFailed";
  if (error && error->code() == ErrorCode::message_too_large) why = "FrameTooLarge";
  if (error && error->code() == ErrorCode::malformed_message) why = "MalformedMessage";
  if (error && error->code() == ErrorCode::incompatible_protocol_version) why = "Rejected";
  if (error && error->code() == ErrorCode::timed_out) why = "IdleTimeout";
  close(why, error);
}

namespace {
constexpr uint64_t kFramesPerTurn = 16;
// Until the peer's Hello is accepted, a frame may be no larger than a Hello can sensibly be: an
// unknown peer must not make us hold a large buffer.
constexpr size_t kHelloPayloadBytesMax = 4096;
// Writes are cut into pieces of this, so the idle monitor sees a large message move.
constexpr size_t kWriteChunkBytes = 1 << 20;
}  // namespace

void Channel::read_loop() {
  Transport* const t = transport_;
  FrameDecoder decoder(handshake_done_ ? max_frame_payload() : kHelloPayloadBytesMax);
  uint64_t dispatched = 0;
  for (;;) {
    const size_t n = flow::wait(connection_->read_some(decoder.read_space()));
    if (closed_) return;
    decoder.commit(n);
    last_received_ = flow::now();
    t->counters_.bytes_received += n;
    for (;;) {
      flow::ErrorOr<std::optional<std::span<const uint8_t>>> next = decoder.next();
      if (!next.ok()) throw next.error();
      if (!next.get()) break;
      const std::span<const uint8_t> payload = *next.get();
      if (!handshake_done_) {
        if (!accept_hello(payload)) throw Error(ErrorCode::incompatible_protocol_version);
        handshake_done_ = true;
        decoder.set_max_payload(max_frame_payload());
        t->channel_up(*this);
        continue;
      }
      if (!t->dispatch(payload, *this)) throw Error(ErrorCode::malformed_message);
      if (closed_) return;
      if (++dispatched % kFramesPerTurn == 0 && !flow::Runtime::checked_current().cpu_contended()) {
        // Let the writer send what these frames produced before we handle the rest: the peer
        // starts on it at once instead of waiting for a whole window of replies. Not when this
        // thread waits for CPUs (a busy machine): the peer cannot work in parallel then, and each
        // early write costs a write and a wake-up of the peer, and halves the batches both ways.
        flow::yield(flow::TaskPriority::Min);
        if (closed_) return;
      }
    }
  }
}

bool Channel::accept_hello(std::span<const uint8_t> payload) {
  flatbuffers::Verifier v(payload.data(), payload.size(), 8, 16);
  if (payload.size() < 4 || !v.VerifyBuffer<wire::Hello>(nullptr)) {
    CODE_PROBE(true, "a malformed hello is rejected");
    flow::TraceEvent(flow::SevWarnAlways, "ConnectionRejected")
        .detail("Peer", peer_.to_string())
        .detail("Reason", "MalformedHello");
    return false;
  }
  const wire::Hello* hello = flatbuffers::GetRoot<wire::Hello>(payload.data());
  const flow::NetworkAddress announced =
      hello->address() ? flow::NetworkAddress{hello->address()->ip(), hello->address()->port()}
                       : flow::NetworkAddress{};
  if (hello->protocol_version() != kProtocolVersion) {
    CODE_PROBE(true, "a hello of another protocol version is rejected");
    flow::TraceEvent(flow::SevWarnAlways, "ConnectionRejected")
        .detail("Peer", peer_.to_string())
        .detail("Reason", "ProtocolVersionMismatch")
        .detail("PeerVersion", fmt::format("{:#x}", hello->protocol_version()))
        .detail("OurVersion", fmt::format("{:#x}", kProtocolVersion));
    return false;
  }
  if (kind_ == Kind::kOutgoing && announced != peer_) {
    CODE_PROBE(true, "a peer that announces another identity is rejected");
    flow::TraceEvent(flow::SevWarnAlways, "ConnectionRejected")
        .detail("Peer", peer_.to_string())
        .detail("Reason", "PeerIdentityMismatch")
        .detail("Announced", announced.to_string());
    return false;
  }
  if (kind_ == Kind::kIncoming && announced.is_set()) {
    // The peer is who it says only as far as the socket shows: its own IP, and the port it
    // listens on. A peer that claims another host's address gets its socket's IP instead, so it
    // can never speak (or fail) in another process's name.
    if (announced.ip != peer_.ip) {
      CODE_PROBE(true, "an incoming hello claims another host's address");
      flow::TraceEvent(flow::SevWarnAlways, "HelloAddressMismatch")
          .detail("Peer", peer_.to_string())
          .detail("Announced", announced.to_string());
    }
    peer_ = flow::NetworkAddress{peer_.ip, announced.port};
    announced_ = true;
  }
  flow::TraceEvent(flow::SevDebug, "ConnectionEstablished")
      .detail("Peer", peer_.to_string())
      .detail("PeerName", hello->process_name() ? hello->process_name()->str() : "")
      .detail("Outgoing", kind_ == Kind::kOutgoing);
  return true;
}

void Channel::write_loop() {
  Transport* const t = transport_;
  std::vector<uint8_t> batch;
  for (;;) {
    while (out_.empty()) {
      flow::wait(out_ready_.on_trigger());
      if (closed_) return;
    }
    // Let everything already ready run first: replies being handled often send more, and one
    // write of many frames costs a fraction of many writes of one. (Under buggify, sometimes not:
    // frames then go out one by one, split across more reads at the other end.)
    if (!flow::buggify(0.5)) flow::yield(flow::TaskPriority::Min);
    if (closed_) return;
    batch.clear();
    std::swap(batch, out_);
    t->counters_.bytes_sent += batch.size();
    ++t->counters_.writes;
    for (size_t at = 0; at < batch.size(); at += kWriteChunkBytes) {
      const size_t n = std::min(kWriteChunkBytes, batch.size() - at);
      flow::wait(connection_->write(std::span<const uint8_t>(batch).subspan(at, n)));
      if (closed_) return;
      // Only whole pieces count as the peer taking bytes: a small write (a ping) lands in the
      // socket's buffer whether or not anyone is there.
      if (n == kWriteChunkBytes) last_progress_ = flow::now();
    }
  }
}

void Channel::idle_loop() {
  const auto& knobs = flow::Runtime::checked_current().knobs();
  const flow::Duration idle = knobs.connection_idle;
  const flow::Duration idle_timeout = knobs.connection_idle_timeout;
  bool pinged = false;
  flow::Time pinged_at{};
  for (;;) {
    const flow::Time due = flow::now() + idle;
    flow::wait(flow::delay(idle));
    if (closed_) return;
    // A connection that moves bytes either way is alive: a large message being written or read
    // can keep a peer from answering a ping for longer than `idle`.
    const flow::Time now = flow::now();
    // This process itself was stalled (a long synchronous step, a loaded machine): the peer's
    // answer may be sitting unread in the socket, so this round gives no verdict.
    const bool stalled = now - due >= idle / 2;
    const flow::Time last_heard = std::max(last_received_, last_progress_);
    if (now - last_heard < idle) {
      pinged = false;
      continue;
    }
    // Silent, requests outstanding or not: a peer that lost power must be noticed by whoever is
    // connected to it, server or client. With requests outstanding someone waits for answers, so
    // a ping unanswered for `idle` closes the connection; without, the verdict only updates the
    // failure monitor, and a peer busy for a few seconds (a large message to encode on a loaded
    // machine) must not be cut off, so it gets `idle_timeout`. A late timer, after this process
    // itself was busy, does not count against the peer: the ping's clock starts when it is sent.
    const flow::Duration patience = outstanding_ > 0 ? idle : std::max(idle, idle_timeout);
    if (pinged && now - pinged_at >= patience && now - last_heard >= patience) {
      CODE_PROBE(stalled, "a ping verdict waits: this process itself was stalled");
      if (stalled) continue;
      // Let the reader take whatever has arrived before giving the verdict.
      flow::wait(flow::delay(std::min<flow::Duration>(idle / 10, std::chrono::milliseconds(100))));
      if (closed_) return;
      if (flow::now() - std::max(last_received_, last_progress_) >= patience) {
        CODE_PROBE(outstanding_ > 0, "a connection with requests outstanding times out its ping");
        CODE_PROBE(outstanding_ == 0, "an idle connection times out its ping");
        throw Error(ErrorCode::timed_out);
      }
      continue;
    }
    if (!pinged) {
      CODE_PROBE(true, "a silent connection sends a ping");
      send_envelope(Token{}, Token{}, 0, {}, /*ping=*/true, /*pong=*/false);
      pinged = true;
      pinged_at = now;
    }
  }
}

size_t Channel::max_frame_payload() {
  return static_cast<size_t>(flow::Runtime::checked_current().knobs().max_message_bytes) +
         kEnvelopeBytes;
}

}  // namespace net
