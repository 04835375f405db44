// Echo — exercises the simulated network end to end.
//
// Every simulated process runs an echo server. Tester clients connect to random processes and send
// pipelined frames [length u32][id u64][payload]; the server returns each frame unchanged. Checks:
// every reply matches its request byte for byte, in order, and no reply arrives without a request.
// Connection failures (kills, partitions, random failures) are expected and counted; the client
// reconnects. After the faults heal, check() requires every process to answer again, and to
// answer a last frame it closes the connection right after (a close must not overtake the bytes
// written before it: the peer reads them all, then learns of the close).
//
// Options: testDuration (s, 10), clients (10), maxPayload (bytes, 512), maxPipeline (4).

#include <fmt/format.h>

#include <cstring>

#include "flow/actor.h"
#include "flow/actor_collection.h"
#include "flow/combinators.h"
#include "flow/deterministic_random.h"
#include "flow/trace_event.h"
#include "workloads/workload.h"

namespace workloads {
namespace {

using flow::Error;
using flow::ErrorCode;
using Connection = std::shared_ptr<flow::IConnection>;

constexpr uint16_t kEchoPort = 4500;
constexpr size_t kHeaderBytes = 12;
constexpr uint32_t kMaxFrameBytes = 1 << 20;
// A frame whose id has this bit set is the connection's last: the server closes it right after
// echoing the frame.
constexpr uint64_t kLastFrameBit = uint64_t{1} << 63;

// Reads exactly buffer.size() bytes. May suspend.
void read_exact(flow::IConnection& c, std::span<uint8_t> buffer) {
  size_t got = 0;
  while (got < buffer.size())
    got += flow::wait(c.read_some(buffer.subspan(got)));
}

std::vector<uint8_t> make_frame(uint64_t id, const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> frame(kHeaderBytes + payload.size());
  const auto len = static_cast<uint32_t>(payload.size());
  std::memcpy(frame.data(), &len, 4);
  std::memcpy(frame.data() + 4, &id, 8);
  if (!payload.empty()) std::memcpy(frame.data() + kHeaderBytes, payload.data(), payload.size());
  return frame;
}

// Reads one frame. May suspend.
std::vector<uint8_t> read_frame(flow::IConnection& c) {
  std::vector<uint8_t> frame(kHeaderBytes);
  read_exact(c, frame);
  uint32_t len;
  std::memcpy(&len, frame.data(), 4);
  if (len > kMaxFrameBytes) throw Error(ErrorCode::connection_failed);  // garbage on the wire
  frame.resize(kHeaderBytes + len);
  read_exact(c, std::span(frame).subspan(kHeaderBytes));
  return frame;
}

uint64_t frame_id(const std::vector<uint8_t>& frame) {
  uint64_t id;
  std::memcpy(&id, frame.data() + 4, 8);
  return id;
}

void serve_connection(Connection c) {
  try {
    for (;;) {
      std::vector<uint8_t> frame = read_frame(*c);
      flow::wait(c->write(frame));
      if ((frame_id(frame) & kLastFrameBit) != 0) {
        c->close();
        return;
      }
    }
  } catch (const Error& e) {
    if (e.code() != ErrorCode::connection_failed) throw;
  }
}

void echo_server(flow::NetworkAddress address) {
  auto listener = flow::current_process().network().listen({address.ip, kEchoPort});
  flow::ActorCollection connections;
  for (;;) {
    Connection c = flow::wait(listener->accept());
    connections.add(flow::spawn(serve_connection, c));
  }
}

class EchoWorkload final : public Workload {
 public:
  explicit EchoWorkload(WorkloadOptions& o)
      : duration_(o.get_seconds("testDuration", 10.0)),
        clients_(o.get_int("clients", 10)),
        max_payload_(o.get_int("maxPayload", 512)),
        max_pipeline_(o.get_int("maxPipeline", 4)) {}

  std::string name() const override { return "Echo"; }

  void setup(WorkloadContext& ctx) override {
    for (size_t i = 0; i < ctx.sim().process_count(); ++i) {
      sim::Simulator::SimProcess& p = ctx.sim().process(i);
      if (p.is_protected) continue;
      targets_.push_back(p.address);
      ctx.sim().add_role(p, "echo_server", [address = p.address] { echo_server(address); });
    }
  }

  void start(WorkloadContext&) override {
    // No servers (setup did not run: runSetup = false): nothing to echo; check() says so.
    if (targets_.empty()) return;
    const flow::Time end = flow::now() + duration_;
    std::vector<flow::Future<flow::Void>> clients;
    for (int64_t i = 0; i < clients_; ++i)
      clients.push_back(flow::spawn([this, end] { client(end); }));
    flow::wait(flow::wait_all(clients));
  }

  bool check(WorkloadContext& ctx) override {
    if (targets_.empty()) {
      flow::TraceEvent(flow::SevWarnAlways, "EchoNoServers").detail("Why", "setup did not run");
      return false;
    }
    // Liveness: every process answers once the faults are gone.
    for (const flow::NetworkAddress& target : targets_) {
      waiting_ = Waiting{"check", fmt::format("an echo reply (role echo_server, port {})", kEchoPort),
                         target};
      bool answered = false;
      for (int attempt = 0; attempt < 100 && !answered; ++attempt) {
        answered = round_trip(target, 1, nullptr);
        if (!answered) flow::wait(flow::delay(std::chrono::milliseconds(100)));
      }
      if (!answered) {
        flow::TraceEvent(flow::SevError, "EchoServerUnreachableAfterHeal")
            .detail("Address", target.to_string());
        return false;
      }
    }
    // A reply written just before a close reaches the requester, however the close is timed.
    for (const flow::NetworkAddress& target : targets_) {
      waiting_ = Waiting{"check", fmt::format("a last echo reply before a close (role echo_server, "
                                              "port {})", kEchoPort), target};
      for (int i = 0; i < kLastFrameRounds; ++i) {
        if (!last_frame_round_trip(target)) return false;
      }
    }
    (void)ctx;
    waiting_.reset();
    return replies_ > 0 && !violated_;
  }

  std::optional<Waiting> waiting_on() const override { return waiting_; }

  void metrics(std::vector<std::pair<std::string, double>>& out) const override {
    out.emplace_back("EchoReplies", static_cast<double>(replies_));
    out.emplace_back("EchoConnectionFailures", static_cast<double>(failures_));
  }

 private:
  void client(flow::Time end) {
    auto& rng = flow::deterministic_random();
    while (flow::now() < end) {
      const flow::NetworkAddress target =
          targets_[static_cast<size_t>(rng.random_int(0, static_cast<int64_t>(targets_.size())))];
      if (!round_trip(target, rng.random_int(1, max_pipeline_ + 1), &end)) {
        flow::wait(flow::delay(
            rng.random_duration(std::chrono::milliseconds(1), std::chrono::milliseconds(100))));
      }
    }
  }

  // Connects to `target` and sends `pipeline` frames at a time until `end` (or once, if end is
  // null), checking the replies. Returns false on a connection failure. May suspend.
  bool round_trip(flow::NetworkAddress target, int64_t pipeline, const flow::Time* end) {
    auto& rng = flow::deterministic_random();
    try {
      std::optional<Connection> c = flow::wait(
          flow::timeout(flow::current_process().network().connect({target.ip, kEchoPort}),
                        std::chrono::seconds(5)));
      if (!c) return false;
      do {
        std::vector<std::vector<uint8_t>> sent;
        for (int64_t i = 0; i < pipeline; ++i) {
          std::vector<uint8_t> payload(static_cast<size_t>(rng.random_int(0, max_payload_ + 1)));
          rng.random_bytes(payload);
          sent.push_back(make_frame(next_id_++, payload));
          flow::wait((*c)->write(sent.back()));
        }
        for (const std::vector<uint8_t>& request : sent) {
          std::optional<std::vector<uint8_t>> reply =
              flow::wait(flow::timeout(flow::spawn(read_frame_of, *c), std::chrono::seconds(30)));
          if (!reply) {
            ++failures_;
            (*c)->close();
            return false;
          }
          if (*reply != request) {
            violated_ = true;
            flow::TraceEvent(flow::SevError, outstanding_id(frame_id(*reply), sent)
                                                 ? "EchoReplyMismatch"
                                                 : "EchoReplyWithoutRequest")
                .detail("Server", target.to_string())
                .detail("Expected", frame_id(request))
                .detail("Got", frame_id(*reply));
            return false;
          }
          ++replies_;
        }
      } while (end != nullptr && flow::now() < *end && rng.random_bool(0.8));
      (*c)->close();
      return true;
    } catch (const Error& e) {
      if (e.code() != ErrorCode::connection_failed) throw;
      ++failures_;
      return false;
    }
  }

  static std::vector<uint8_t> read_frame_of(Connection c) { return read_frame(*c); }

  // Sends one frame marked last; its echo must arrive whole before the server's close. Faults
  // are off: a connection that ends first lost the reply. May suspend.
  bool last_frame_round_trip(flow::NetworkAddress target) {
    auto& rng = flow::deterministic_random();
    std::optional<Connection> c;
    for (int attempt = 0; attempt < 100 && !c; ++attempt) {
      try {
        c = flow::wait(flow::timeout(
            flow::current_process().network().connect({target.ip, kEchoPort}),
            std::chrono::seconds(5)));
      } catch (const Error& e) {
        if (e.code() != ErrorCode::connection_failed) throw;
      }
      if (!c) flow::wait(flow::delay(std::chrono::milliseconds(100)));
    }
    if (!c) {
      flow::TraceEvent(flow::SevError, "EchoServerUnreachableAfterHeal")
          .detail("Address", target.to_string());
      return false;
    }
    std::vector<uint8_t> payload(static_cast<size_t>(rng.random_int(0, max_payload_ + 1)));
    rng.random_bytes(payload);
    const std::vector<uint8_t> request = make_frame(kLastFrameBit | next_id_++, payload);
    try {
      flow::wait((*c)->write(request));
      std::optional<std::vector<uint8_t>> reply =
          flow::wait(flow::timeout(flow::spawn(read_frame_of, *c), std::chrono::seconds(30)));
      if (reply && *reply == request) {
        ++replies_;
        (*c)->close();
        return true;
      }
    } catch (const Error& e) {
      if (e.code() != ErrorCode::connection_failed) throw;
    }
    violated_ = true;
    flow::TraceEvent(flow::SevError, "EchoLastReplyLost")
        .detail("Server", target.to_string())
        .detail("Id", frame_id(request) & ~kLastFrameBit);
    (*c)->close();
    return false;
  }

  static bool outstanding_id(uint64_t id, const std::vector<std::vector<uint8_t>>& sent) {
    for (const auto& f : sent)
      if (frame_id(f) == id) return true;
    return false;
  }

  // Last-frame round trips per server in check(): a close overtakes a reply in about half of
  // them when it can.
  static constexpr int kLastFrameRounds = 4;

  flow::Duration duration_;
  int64_t clients_;
  int64_t max_payload_;
  int64_t max_pipeline_;
  std::vector<flow::NetworkAddress> targets_;
  uint64_t next_id_ = 1;
  uint64_t replies_ = 0;
  uint64_t failures_ = 0;
  bool violated_ = false;
  std::optional<Waiting> waiting_;
};

}  // namespace

std::unique_ptr<Workload> make_echo_workload(WorkloadOptions& options) {
  return std::make_unique<EchoWorkload>(options);
}

}  // namespace workloads
