#include "net/envelope.h"

#include <cstring>

#include "flow/assert.h"
#include "net/frame.h"
#include "net/schema/transport_generated.h"

namespace net {

namespace wire = strata::wire;

static_assert(sizeof(wire::Envelope) == kEnvelopeBytes);
static_assert(kEnvelopeBytes % kFrameAlignment == 0, "the body must stay 8-byte aligned");
static_assert(kEnvelopePing == static_cast<uint32_t>(wire::EnvelopeFlags::Ping));
static_assert(kEnvelopePong == static_cast<uint32_t>(wire::EnvelopeFlags::Pong));

void append_envelope_frame(std::vector<uint8_t>& out, const EnvelopeFields& e,
                           std::span<const uint8_t> body) {
  const wire::Envelope header(wire::Token(e.destination.first, e.destination.second),
                              wire::Token(e.reply_to.first, e.reply_to.second), e.error, e.flags);
  const size_t payload_bytes = kEnvelopeBytes + body.size();
  ASSERT_MSG(payload_bytes <= UINT32_MAX, "message of {} bytes", body.size());
  const size_t at = out.size();
  out.resize(at + frame_bytes(payload_bytes));  // zero-fills the reserved field and the padding
  uint8_t* frame = out.data() + at;
  uint8_t* payload = frame + kFrameHeaderBytes;
  std::memcpy(payload, &header, kEnvelopeBytes);
  if (!body.empty()) std::memcpy(payload + kEnvelopeBytes, body.data(), body.size());
  write_frame_header(frame, {payload, payload_bytes});
}

std::optional<ReceivedEnvelope> parse_envelope(std::span<const uint8_t> payload) {
  if (payload.size() < kEnvelopeBytes) return std::nullopt;
  wire::Envelope header;
  std::memcpy(&header, payload.data(), kEnvelopeBytes);
  ReceivedEnvelope r;
  r.fields.destination = Token{header.destination().first(), header.destination().second()};
  r.fields.reply_to = Token{header.reply_to().first(), header.reply_to().second()};
  r.fields.error = header.error();
  r.fields.flags = header.flags();
  if ((r.fields.flags & ~(kEnvelopePing | kEnvelopePong)) != 0) return std::nullopt;
  r.body = payload.subspan(kEnvelopeBytes);
  return r;
}

}  // namespace net
