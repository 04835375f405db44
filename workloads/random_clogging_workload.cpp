// RandomClogging — network faults, as FoundationDB's workload of that name.
//
// Plain mode (swizzle = 0): for testDuration it clogs random processes (sending, receiving, or one
// pair) for random times and cuts random partitions (symmetric or one way; reset or silent, see
// sim/sim_network.h), each for a while.
//
// Swizzled mode (swizzle != 0), FoundationDB's swizzleClog: round after round until testDuration
// ends, it picks a random subset of the processes (each with probability 1/2), clogs them one by
// one (sending and receiving, until further notice) with random pauses between, then unclogs them
// one by one in a *different* random order. So for a while the cluster is cut into pieces that
// shrink and grow in an order unrelated to the one they were cut in, which finds bugs in code
// that assumes the network heals the way it broke.
//
// Protected processes (testers) are spared in both modes. Every clog ends by the end of start().
//
// In plain mode each fault's effect is measured, so a simulator that forgets to inject one is
// caught: every cuttable process listens on a probe port, the workload keeps a connection from
// each to each, and whenever it clogs or cuts it sends a stamp (its send time) across the fault.
// A stamp must not arrive while a clog it was sent into still holds, nor through a silent
// partition that was cut before it was sent and still stands. A fault ended early (an
// unpartition ends every cut of the pair, an unclog every clog of the process; another
// workload's count: SimNetwork::cut_released_at, clog_released_at) holds nothing from then on.
// A stamp that did is a SevError.
//
// Options: testDuration (s, 10), scale (1.0: multiplies clog durations and pauses; > 0),
// clogginess (1.0: divides the pause between plain faults, so 2 makes them twice as frequent;
// > 0), swizzle (0: plain; any other integer: swizzled).

#include <algorithm>
#include <cstring>
#include <map>

#include "flow/actor.h"
#include "flow/combinators.h"
#include "flow/deterministic_random.h"
#include "flow/trace_event.h"
#include "workloads/workload.h"

namespace workloads {
namespace {

class RandomCloggingWorkload final : public Workload {
 public:
  explicit RandomCloggingWorkload(WorkloadOptions& o)
      : duration_(o.get_seconds("testDuration", 10.0)),
        scale_(o.get_double("scale", 1.0)),
        clogginess_(o.get_double("clogginess", 1.0)),
        swizzle_(o.get_int("swizzle", 0)) {
    o.require(scale_ > 0 && scale_ <= 1000, "scale", "must be in (0, 1000]");
    o.require(clogginess_ > 0 && clogginess_ <= 1000, "clogginess", "must be in (0, 1000]");
    o.require(duration_ >= flow::Duration(0), "testDuration", "must not be negative");
  }

  std::string name() const override { return "RandomClogging"; }

  void setup(WorkloadContext& ctx) override {
    if (swizzle_ != 0) return;  // swizzle unclogs early by design: nothing to measure
    network_ = &ctx.sim().network();
    for (size_t i = 0; i < ctx.sim().process_count(); ++i) {
      sim::Simulator::SimProcess& p = ctx.sim().process(i);
      if (!ctx.sim().can_cut_off(p)) continue;
      probe_ips_.push_back(p.address.ip);
      ctx.sim().add_role(p, "clog_probe", [this, ip = p.address.ip] { probe_listener(ip); });
    }
  }

  bool check(WorkloadContext&) override { return !violated_; }

  void start(WorkloadContext& ctx) override {
    std::vector<uint32_t> ips;
    for (size_t i = 0; i < ctx.sim().process_count(); ++i)
      if (ctx.sim().can_cut_off(ctx.sim().process(i))) ips.push_back(ctx.sim().process(i).address.ip);
    if (ips.empty()) return;
    if (swizzle_ != 0) {
      swizzle(ctx, ips);
    } else {
      clog(ctx, ips);
    }
  }

  void metrics(std::vector<std::pair<std::string, double>>& out) const override {
    out.emplace_back("CloggingFaults", static_cast<double>(faults_));
    out.emplace_back("CloggingStampsSent", static_cast<double>(stamps_sent_));
    out.emplace_back("CloggingStampsChecked", static_cast<double>(stamps_checked_));
    if (swizzle_ != 0) out.emplace_back("SwizzleRounds", static_cast<double>(swizzle_rounds_));
  }

 private:
  flow::Duration scaled(flow::Duration d) const {
    return flow::Duration(static_cast<int64_t>(static_cast<double>(d.count()) * scale_));
  }

  // Plain clogging. May suspend.
  void clog(WorkloadContext& ctx, const std::vector<uint32_t>& ips) {
    auto& rng = flow::deterministic_random();
    auto pick = [&] {
      return ips[static_cast<size_t>(rng.random_int(0, static_cast<int64_t>(ips.size())))];
    };
    const flow::Time end = flow::now() + duration_;
    // Every pair's probe connection, up before the first fault (a connection is made only where
    // the network lets it through).
    for (uint32_t from : probe_ips_)
      for (uint32_t to : probe_ips_)
        send_stamp(ctx, from, to);
    while (flow::now() < end) {
      const flow::Duration pause = rng.random_duration(std::chrono::milliseconds(10), std::chrono::milliseconds(500));
      flow::wait(flow::delay(flow::Duration(static_cast<int64_t>(static_cast<double>(pause.count()) / clogginess_))));
      const flow::Duration length =
          scaled(rng.random_duration(std::chrono::milliseconds(1), std::chrono::seconds(2)));
      const uint32_t a = pick();
      const uint32_t b = pick();
      const int64_t kind = rng.random_int(0, 5);
      flow::TraceEvent(flow::SevDebug, "SimClog")
          .detail("Kind", kind)
          .detail("A", flow::NetworkAddress{a, 0}.to_string())
          .detail("B", flow::NetworkAddress{b, 0}.to_string())
          .detail("Length", length);
      const flow::Time until = flow::now() + length;
      switch (kind) {
        case 0:
          ctx.sim().network().clog_send(a, length);
          held_.push_back({a, 0, until, false});
          for (uint32_t to : probe_ips_)
            send_stamp(ctx, a, to);
          break;
        case 1:
          ctx.sim().network().clog_receive(a, length);
          held_.push_back({0, a, until, false});
          for (uint32_t from : probe_ips_)
            send_stamp(ctx, from, a);
          break;
        case 2:
          ctx.sim().network().clog_pair(a, b, length);
          held_.push_back({a, b, until, false});
          send_stamp(ctx, a, b);
          break;
        default: {
          if (a == b) break;
          const bool symmetric = rng.coinflip();
          const sim::PartitionKind cut =
              rng.coinflip() ? sim::PartitionKind::kSilent : sim::PartitionKind::kReset;
          partitions_.push_back(
              flow::spawn([this, &ctx, a, b, length, symmetric, cut] {
                auto& net = ctx.sim().network();
                net.partition(a, b, symmetric, cut);
                if (cut == sim::PartitionKind::kSilent) {
                  held_.push_back({a, b, flow::kTimeMax, true});
                  if (symmetric) held_.push_back({b, a, flow::kTimeMax, true});
                  send_stamp(ctx, a, b);
                  if (symmetric) send_stamp(ctx, b, a);
                }
                flow::wait(flow::delay(length));
                // This ends every cut of the pair, also one made later that still has time to
                // run (the network keeps when: ended_early).
                net.unpartition(a, b, symmetric);
              }));
          break;
        }
      }
      ++faults_;
    }
    for (auto& p : partitions_)
      (void)flow::wait(p);
    partitions_.clear();
    // The faults are over: the connections go, and the listeners stop checking.
    probing_ = false;
    actors_.clear();  // cancels connects under way, which refer to probes_
    for (auto& [pair, c] : probes_)
      if (c.connection) c.connection->close();
    probes_.clear();
  }

  // A fault the workload made: bytes from `from` to `to` (0: any) sent while it stands must not
  // arrive before `until`.
  struct Held {
    uint32_t from;
    uint32_t to;
    flow::Time until;
    bool partition;  // a silent cut: `until` is set when it ends
    flow::Time since = flow::now();
  };
  struct ProbeConnection {
    std::shared_ptr<flow::IConnection> connection;
    std::unique_ptr<flow::INetwork> network;  // from's network, which made the connection
    bool connecting = false;
  };
  static constexpr uint16_t kProbePort = 4701;

  // Sends a stamp from `from` to `to` over the pair's probe connection, if it is up; otherwise
  // starts connecting, for the next fault. May suspend only in the spawned actors.
  void send_stamp(WorkloadContext& ctx, uint32_t from, uint32_t to) {
    if (from == to || !probing_) return;
    ProbeConnection& c = probes_[{from, to}];
    if (c.connection) {
      uint8_t stamp[8];
      const int64_t sent = flow::to_ns(flow::now());
      std::memcpy(stamp, &sent, 8);
      flow::Future<flow::Void> w = c.connection->write(stamp);
      if (w.is_ready() && w.is_error()) {
        c.connection.reset();
      } else {
        ++stamps_sent_;
        return;
      }
    }
    if (c.connecting) return;
    c.connecting = true;
    c.network = ctx.sim().network().network_for(from);
    actors_.push_back(flow::spawn([this, &c, to] {
      try {
        c.connection = flow::wait(c.network->connect(flow::NetworkAddress{to, kProbePort}));
      } catch (const flow::Error& e) {
        if (e.code() == flow::ErrorCode::operation_cancelled) throw;
      }
      c.connecting = false;
    }));
  }

  // The probe port of the process at `ip`: every stamp that arrives is checked. May suspend.
  void probe_listener(uint32_t ip) {
    auto listener = flow::current_process().network().listen(flow::NetworkAddress{ip, kProbePort});
    std::vector<flow::Future<flow::Void>> readers;
    for (;;) {
      std::shared_ptr<flow::IConnection> c = flow::wait(listener->accept());
      readers.push_back(flow::spawn([this, c, ip] {
        uint8_t stamp[8];
        for (;;) {
          size_t got = 0;
          while (got < sizeof stamp)
            got += flow::wait(c->read_some(std::span(stamp).subspan(got)));
          int64_t sent_ns;
          std::memcpy(&sent_ns, stamp, 8);
          check_stamp(c->peer_address().ip, ip, flow::Time(flow::Duration(sent_ns)));
        }
      }));
    }
  }

  // Whether `h`, on the stamp's way from `from` to `to`, was ended early since it began (by this
  // workload, or another: two RandomClogging workloads cut, clog and heal the same processes):
  // an unpartition ends every cut of the pair, an unclog every clog of the process.
  bool ended_early(const Held& h, uint32_t from, uint32_t to) const {
    if (network_ == nullptr) return false;
    if (h.partition) return network_->cut_released_at(from, to) >= h.since;
    return std::max(network_->clog_released_at(from), network_->clog_released_at(to)) >= h.since;
  }

  // A stamp from `from` to `to`, sent at `sent`, arrived now.
  void check_stamp(uint32_t from, uint32_t to, flow::Time sent) {
    if (!probing_) return;
    ++stamps_checked_;
    const flow::Time now = flow::now();
    for (const Held& h : held_) {
      if (h.since > sent || h.until <= now || ended_early(h, from, to)) continue;
      if ((h.from != 0 && h.from != from) || (h.to != 0 && h.to != to)) continue;
      violated_ = true;
      flow::TraceEvent(flow::SevError, "CloggingFaultNotInjected")
          .detail("Fault", h.partition ? "silent partition" : "clog")
          .detail("From", flow::NetworkAddress{from, 0}.to_string())
          .detail("To", flow::NetworkAddress{to, 0}.to_string())
          .detail("SentAt", sent)
          .detail("FaultSince", h.since)
          .detail("HeldUntil", h.until);
      return;
    }
  }

  // Swizzled clogging; see the header comment. May suspend.
  void swizzle(WorkloadContext& ctx, const std::vector<uint32_t>& ips) {
    auto& rng = flow::deterministic_random();
    auto& net = ctx.sim().network();
    // Longer than any round: the clogs end by unclog(), never by themselves.
    const flow::Duration forever = std::chrono::hours(24);
    const flow::Time end = flow::now() + duration_;
    while (flow::now() < end) {
      flow::wait(flow::delay(scaled(
          rng.random_duration(std::chrono::milliseconds(100), std::chrono::seconds(1)))));
      std::vector<uint32_t> chosen;
      for (uint32_t ip : ips)
        if (rng.coinflip()) chosen.push_back(ip);
      if (chosen.empty()) continue;
      shuffle(rng, chosen);
      const std::vector<uint32_t> clogged_order = chosen;
      for (uint32_t ip : chosen) {
        flow::TraceEvent(flow::SevDebug, "SimSwizzleClog")
            .detail("Round", swizzle_rounds_)
            .detail("Address", flow::NetworkAddress{ip, 0}.to_string());
        net.clog_send(ip, forever);
        net.clog_receive(ip, forever);
        ++faults_;
        flow::wait(flow::delay(
            scaled(rng.random_duration(std::chrono::milliseconds(1), std::chrono::seconds(1)))));
      }
      // Another random order: the same one only when there is no other (one process).
      shuffle(rng, chosen);
      if (chosen == clogged_order) std::reverse(chosen.begin(), chosen.end());
      for (uint32_t ip : chosen) {
        flow::wait(flow::delay(
            scaled(rng.random_duration(std::chrono::milliseconds(1), std::chrono::seconds(1)))));
        flow::TraceEvent(flow::SevDebug, "SimSwizzleUnclog")
            .detail("Round", swizzle_rounds_)
            .detail("Address", flow::NetworkAddress{ip, 0}.to_string());
        net.unclog(ip);
      }
      ++swizzle_rounds_;
    }
  }

  // Fisher-Yates, from the run's generator.
  static void shuffle(flow::DeterministicRandom& rng, std::vector<uint32_t>& v) {
    for (size_t i = v.size(); i > 1; --i)
      std::swap(v[i - 1], v[static_cast<size_t>(rng.random_int(0, static_cast<int64_t>(i)))]);
  }

  flow::Duration duration_;
  double scale_;
  double clogginess_;
  int64_t swizzle_;
  std::vector<flow::Future<flow::Void>> partitions_;
  std::vector<uint32_t> probe_ips_;
  std::map<std::pair<uint32_t, uint32_t>, ProbeConnection> probes_;
  std::vector<flow::Future<flow::Void>> actors_;
  std::vector<Held> held_;
  // When a cut from .first to .second last ended (and released what any cut of it held).
  sim::SimNetwork* network_ = nullptr;
  bool probing_ = true;
  bool violated_ = false;
  uint64_t stamps_sent_ = 0;
  uint64_t stamps_checked_ = 0;
  uint64_t faults_ = 0;
  uint64_t swizzle_rounds_ = 0;
};

}  // namespace

std::unique_ptr<Workload> make_random_clogging_workload(WorkloadOptions& options) {
  return std::make_unique<RandomCloggingWorkload>(options);
}

}  // namespace workloads
