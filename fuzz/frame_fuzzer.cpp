// frame-fuzzer — libFuzzer target for everything a peer's bytes reach before a receiver sees a
// message: the frame decoder (lengths, checksums, direct reads of large frames), the Hello and
// envelope parsing, and the verification and unpacking of message bodies.
//
// The first input byte picks how the rest is split into reads (as a connection would deliver
// it); the checksum is recomputed for a frame whose first payload byte is odd, so the fuzzer gets
// past the checksum and into the FlatBuffers verifiers half the time.
//
// Build and run (clang, see scripts/fuzz): scripts/fuzz 1000000

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "net/envelope.h"
#include "net/frame.h"
#include "net/message.h"
#include "net/schema/transport_generated.h"
#include "net/testing/rpc_test_generated.h"

namespace {

namespace wire = strata::wire;
namespace wt = strata::wire::test;

// Rewrites the checksum of every whole frame in `stream` whose payload starts with an odd byte.
void fix_some_checksums(std::vector<uint8_t>& stream) {
  size_t pos = 0;
  while (pos + net::kFrameHeaderBytes <= stream.size()) {
    uint32_t len = 0;
    std::memcpy(&len, stream.data() + pos, 4);
    const size_t end = pos + net::frame_bytes(len);
    if (len > (1u << 20) || end > stream.size()) return;
    if (len > 0 && (stream[pos + net::kFrameHeaderBytes] & 1)) {
      const uint64_t sum =
          net::frame_checksum({stream.data() + pos + net::kFrameHeaderBytes, size_t{len}});
      std::memcpy(stream.data() + pos + 8, &sum, 8);
    }
    pos = end;
  }
}

template <class T>
void try_decode(std::span<const uint8_t> body) {
  auto r = net::decode_message<T>(body);
  if (r.ok()) (void)r.get();
}

void handle_payload(std::span<const uint8_t> payload) {
  {
    flatbuffers::Verifier v(payload.data(), payload.size(), 8, 16);
    if (payload.size() >= 4 && v.VerifyBuffer<wire::Hello>(nullptr)) {
      const auto* h = flatbuffers::GetRoot<wire::Hello>(payload.data());
      (void)h->protocol_version();
      if (h->process_name()) (void)h->process_name()->str();
    }
  }
  const std::optional<net::ReceivedEnvelope> env = net::parse_envelope(payload);
  if (!env) return;
  // As the transport does: an unaligned body is copied before it is read.
  std::span<const uint8_t> body = env->body;
  net::Payload aligned;
  if (reinterpret_cast<uintptr_t>(body.data()) % 8 != 0) {
    aligned = net::Payload(body.size());
    if (aligned.size()) std::memcpy(aligned.data(), body.data(), aligned.size());
    body = aligned.bytes();
  }
  try_decode<wt::EchoRequestT>(body);
  try_decode<wt::EchoReplyT>(body);
  try_decode<wt::SetRequestT>(body);
  try_decode<wt::GetReplyT>(body);
  try_decode<wt::ControlRequestT>(body);
  try_decode<wt::StatsReplyT>(body);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t piece = 1 + data[0] % 64;  // read sizes 1..64, or everything at once for 64
  std::vector<uint8_t> stream(data + 1, data + size);
  fix_some_checksums(stream);
  net::FrameDecoder decoder(1 << 20);
  size_t pos = 0;
  for (;;) {
    for (;;) {
      auto next = decoder.next();
      if (!next.ok()) return 0;  // the connection would close here
      if (!next.get()) break;
      handle_payload(*next.get());
    }
    if (pos == stream.size()) return 0;
    const size_t n = piece == 64 ? stream.size() - pos : std::min(piece, stream.size() - pos);
    pos += decoder.feed(std::span(stream).subspan(pos, n));
  }
}
