#pragma once
// Envelopes — the fixed header in front of every message after the handshake.
//
// A frame's payload is a strata.wire.Envelope (net/schema/transport.fbs: destination, reply_to,
// error, flags; 40 bytes) followed by the message body, a FlatBuffer of the destination's type.
// The envelope is a FlatBuffers struct, so the schema still defines it, but it is written and read
// in place: no builder, no verifier, and the body is copied once, straight into the output.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "net/endpoint.h"

namespace net {

inline constexpr uint32_t kEnvelopePing = 1;
inline constexpr uint32_t kEnvelopePong = 2;
inline constexpr size_t kEnvelopeBytes = 40;

struct EnvelopeFields {
  Token destination;
  Token reply_to;
  int32_t error = 0;
  uint32_t flags = 0;
};

// Appends one frame (net/frame.h) whose payload is `envelope` and then `body`.
void append_envelope_frame(std::vector<uint8_t>& out, const EnvelopeFields& envelope,
                           std::span<const uint8_t> body);

struct ReceivedEnvelope {
  EnvelopeFields fields;
  std::span<const uint8_t> body;  // within the payload; 8-byte aligned if the payload is
};

// The envelope and body of a received payload; nullopt if it is too short or has flags this
// build does not know.
std::optional<ReceivedEnvelope> parse_envelope(std::span<const uint8_t> payload);

}  // namespace net
