// make-fuzz-seeds — writes the seed corpus of frame-fuzzer (fuzz/corpus/frame/): a handshake, an
// echo request, an error reply, a ping, and a large frame, framed as on the wire.
//   build/bin/make-fuzz-seeds fuzz/corpus/frame    (the folder must exist; or --help)

#include <cstdio>
#include <string>
#include <vector>

#include <flatbuffers/flatbuffers.h>
#include <CLI/CLI.hpp>

#include "net/envelope.h"
#include "net/frame.h"
#include "net/message.h"
#include "net/schema/transport_generated.h"
#include "net/testing/rpc_test_generated.h"
#include "net/transport.h"
#include "programs/command_line.h"

namespace wire = strata::wire;
namespace wt = strata::wire::test;

namespace {

// The payload of a frame carrying an envelope and `body`.
std::vector<uint8_t> envelope(uint64_t token, uint64_t reply, int32_t error,
                              const std::vector<uint8_t>& body, bool ping) {
  std::vector<uint8_t> frame;
  net::append_envelope_frame(
      frame, {net::Token{1, token}, net::Token{2, reply}, error, ping ? net::kEnvelopePing : 0u},
      body);
  return {frame.begin() + net::kFrameHeaderBytes,
          frame.begin() + net::kFrameHeaderBytes + net::kEnvelopeBytes + body.size()};
}

void write(const std::string& dir, const char* name, uint8_t split,
           const std::vector<std::vector<uint8_t>>& payloads) {
  std::vector<uint8_t> out = {split};
  for (const auto& p : payloads)
    net::append_frame(out, p);
  FILE* f = std::fopen((dir + "/" + name).c_str(), "wb");
  if (!f) return;
  std::fwrite(out.data(), 1, out.size(), f);
  std::fclose(f);
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  CLI::App app{"make-fuzz-seeds: writes the seed corpus of frame-fuzzer into DIR",
               "make-fuzz-seeds"};
  app.add_option("DIR", dir, "the corpus folder (fuzz/corpus/frame); it must exist")
      ->required()
      ->check(CLI::ExistingDirectory);
  programs::parse_or_exit(app, argc, argv);
  flatbuffers::FlatBufferBuilder hb;
  const wire::Address a(0x7f000001, 4500);
  hb.Finish(wire::CreateHello(hb, net::kProtocolVersion, &a, hb.CreateString("seed")));
  const std::vector<uint8_t> hello(hb.GetBufferPointer(), hb.GetBufferPointer() + hb.GetSize());

  flatbuffers::FlatBufferBuilder mb;
  wt::EchoRequestT echo;
  echo.id = 7;
  echo.payload = {1, 2, 3, 4, 5};
  net::encode_message(mb, echo);
  const std::vector<uint8_t> echo_body(mb.GetBufferPointer(), mb.GetBufferPointer() + mb.GetSize());
  wt::StatsReplyT stats;
  stats.requests = 3;
  net::encode_message(mb, stats);
  const std::vector<uint8_t> stats_body(mb.GetBufferPointer(),
                                        mb.GetBufferPointer() + mb.GetSize());

  write(dir, "hello", 64, {hello});
  write(dir, "hello-echo", 7, {hello, envelope(5, 9, 0, echo_body, false)});
  write(dir, "error-reply", 3, {envelope(9, 0, 1100, {}, false)});
  write(dir, "ping", 1, {envelope(0, 0, 0, {}, true)});
  write(dir, "stats", 64, {envelope(9, 0, 0, stats_body, false)});
  write(dir, "large", 13, {std::vector<uint8_t>(20000, 0x41), envelope(5, 9, 0, echo_body, false)});
  return 0;
}
