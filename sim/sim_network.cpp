#include "sim/sim_network.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <optional>

#include "flow/actor.h"
#include "flow/async_trigger.h"
#include "flow/buggify.h"
#include "flow/code_probe.h"
#include "flow/combinators.h"
#include "flow/deterministic_random.h"
#include "flow/error.h"
#include "flow/stream.h"
#include "flow/trace_event.h"
#include "sim/detail/model_draw.h"

namespace sim {
namespace {

using flow::Error;
using flow::ErrorCode;
using flow::Time;

// One direction of a connection.
struct Pipe {
  struct Chunk {
    Time at;
    std::vector<uint8_t> bytes;
    size_t consumed = 0;
  };
  std::deque<Chunk> chunks;
  Time last_at = flow::kTimeZero;
  // From this time on the reader gets connection_failed; chunks due later are lost.
  std::optional<Time> ends_at;
  flow::AsyncTrigger changed;

  void end_at(Time t) {
    if (!ends_at || t < *ends_at) ends_at = t;
    changed.trigger();
  }
  // Clogs and silent cuts ended early (heal): nothing still in flight arrives later than `due`,
  // order kept; a close a cut held is seen then too.
  void release_by(Time due) {
    Time previous = flow::kTimeZero;
    for (Chunk& c : chunks) {
      c.at = std::max(previous, std::min(c.at, due));
      previous = c.at;
    }
    last_at = std::min(last_at, std::max(due, previous));
    if (ends_at == SimNetwork::kHeld) ends_at = std::max(previous, due);
    changed.trigger();
  }
  // A silent cut ended: what it held arrives from `due` on, after what came before, in order.
  void release_held(Time due) {
    CODE_PROBE(std::any_of(chunks.begin(), chunks.end(),
                           [](const Chunk& c) { return c.at == SimNetwork::kHeld; }),
               "a silent partition ends and releases the bytes it held");
    Time previous = flow::kTimeZero;
    for (Chunk& c : chunks) {
      if (c.at == SimNetwork::kHeld) c.at = std::max(previous, due);
      previous = c.at;
    }
    if (last_at == SimNetwork::kHeld) last_at = std::max(previous, due);
    if (ends_at == SimNetwork::kHeld) ends_at = std::max(previous, due);
    changed.trigger();
  }
};

}  // namespace

class SimConnection final : public flow::IConnection,
                            public std::enable_shared_from_this<SimConnection> {
 public:
  SimConnection(SimNetwork& net, flow::NetworkAddress local, flow::NetworkAddress peer,
                std::shared_ptr<Pipe> in, std::shared_ptr<Pipe> out)
      : net_(net), local_(local), peer_(peer), in_(std::move(in)), out_(std::move(out)) {}

  flow::Future<size_t> read_some(std::span<uint8_t> buffer) override {
    return flow::spawn([self = shared_from_this(), buffer]() -> size_t {
      ASSERT(!buffer.empty());
      Pipe& in = *self->in_;
      for (;;) {
        if (self->failed_) throw Error(ErrorCode::connection_failed);
        const Time now = flow::now();
        if (in.ends_at) {
          while (!in.chunks.empty() && in.chunks.back().at > *in.ends_at)
            in.chunks.pop_back();
        }
        if (!in.chunks.empty() && in.chunks.front().at <= now) {
          size_t n = 0;
          while (n < buffer.size() && !in.chunks.empty() && in.chunks.front().at <= now) {
            Pipe::Chunk& c = in.chunks.front();
            const size_t take = std::min(buffer.size() - n, c.bytes.size() - c.consumed);
            std::memcpy(buffer.data() + n, c.bytes.data() + c.consumed, take);
            n += take;
            c.consumed += take;
            if (c.consumed == c.bytes.size()) in.chunks.pop_front();
          }
          return n;
        }
        if (in.ends_at && *in.ends_at <= now && in.chunks.empty()) {
          throw Error(ErrorCode::connection_failed);
        }
        Time next = flow::kTimeMax;
        if (!in.chunks.empty()) next = in.chunks.front().at;
        if (in.ends_at) next = std::min(next, *in.ends_at);
        flow::Future<flow::Void> changed = in.changed.on_trigger();
        if (next == flow::kTimeMax) {
          flow::wait(changed);
        } else {
          (void)flow::wait_any(flow::delay_until(next), changed);
        }
      }
    });
  }

  flow::Future<flow::Void> write(std::span<const uint8_t> data) override {
    if (failed_ || (in_->ends_at && *in_->ends_at <= flow::now())) {
      return Error(ErrorCode::connection_failed);
    }
    const std::optional<PartitionKind> cut = net_.cut(local_.ip, peer_.ip);
    CODE_PROBE(cut == PartitionKind::kReset,
               "a write across a reset partition breaks its connection");
    if (cut == PartitionKind::kReset || net_.draw_random_failure()) {
      fail();
      return Error(ErrorCode::connection_failed);
    }
    Pipe& out = *out_;
    // Across a silent cut the bytes are held, with no error, until the cut ends.
    CODE_PROBE(cut == PartitionKind::kSilent, "a silent partition holds a write's bytes");
    Time at = cut ? SimNetwork::kHeld
                  : std::max(net_.delivery_time(local_.ip, peer_.ip), out.last_at);
    size_t pos = 0;
    while (pos < data.size()) {
      size_t n = data.size() - pos;
      // Partial writes: the peer sees the bytes arrive in pieces, some of them later.
      if (n > 1 && flow::buggify()) {
        CODE_PROBE(true, "a write reaches its peer in pieces");
        n = static_cast<size_t>(
            flow::deterministic_random().random_int(1, static_cast<int64_t>(n)));
        const flow::Duration later = detail::draw_between(
            flow::deterministic_random(), flow::Duration(0), std::chrono::microseconds(500));
        if (at != SimNetwork::kHeld) at += later;
      }
      out.chunks.push_back({at, std::vector<uint8_t>(data.begin() + pos, data.begin() + pos + n)});
      pos += n;
    }
    out.last_at = at;
    net_.bytes_sent_ += data.size();
    if (net_.write_observer_) net_.write_observer_({local_.ip, peer_.ip, flow::now(), at, data.size()});
    out.changed.trigger();
    return flow::Void{};
  }

  void close() override {
    if (failed_) return;
    failed_ = true;
    // The peer reads what was sent, then learns of the close one latency later (when a silent cut
    // ends, if one is in the way).
    const bool cut = net_.cut(local_.ip, peer_.ip) == PartitionKind::kSilent;
    CODE_PROBE(cut, "a silent partition holds a close from the peer");
    out_->end_at(cut ? SimNetwork::kHeld
                     : std::max(out_->last_at, flow::now() + net_.latency(local_.ip, peer_.ip)));
    in_->end_at(flow::now());
  }

  flow::NetworkAddress peer_address() const override { return peer_; }
  flow::NetworkAddress local_address() const { return local_; }
  // What this side has sent and the peer has not yet received (and a close a silent cut held)
  // arrives within one latency.
  void release_clogged() { out_->release_by(flow::now() + net_.latency(local_.ip, peer_.ip)); }
  // A clog ended early: what it held arrives by the time a chunk sent now would, order kept.
  void unclog() {
    if (!net_.cut(local_.ip, peer_.ip)) out_->release_by(net_.delivery_time(local_.ip, peer_.ip));
  }
  // The silent cut towards the peer ended: what it held arrives from one latency on.
  void release_held() { out_->release_held(net_.delivery_time(local_.ip, peer_.ip)); }

  // The connection broke (kill, partition, random failure): both ends learn of it, the peer one
  // latency later; data still in flight is lost.
  void fail() {
    if (failed_) return;
    failed_ = true;
    flow::TraceEvent(flow::SevDebug, "SimConnectionFailed")
        .detail("Local", local_.to_string())
        .detail("Peer", peer_.to_string());
    in_->end_at(flow::now());
    // Behind a silent cut the peer learns nothing until the cut ends (a reset one tells it).
    const bool cut = net_.cut(local_.ip, peer_.ip) == PartitionKind::kSilent;
    out_->end_at(cut ? flow::now() : flow::now() + net_.latency(local_.ip, peer_.ip));
    CODE_PROBE(cut, "a connection breaks behind a silent partition");
    CODE_PROBE(!out_->chunks.empty() && out_->chunks.back().at > *out_->ends_at,
               "a broken connection loses bytes in flight");
    // Chunks in flight towards the peer are lost.
    while (!out_->chunks.empty() && out_->chunks.back().at > *out_->ends_at)
      out_->chunks.pop_back();
    if (cut) out_->ends_at = SimNetwork::kHeld;
  }

 private:
  SimNetwork& net_;
  flow::NetworkAddress local_;
  flow::NetworkAddress peer_;
  std::shared_ptr<Pipe> in_;
  std::shared_ptr<Pipe> out_;
  bool failed_ = false;
};

class SimListener final : public flow::IListener {
 public:
  SimListener(SimNetwork& net, flow::NetworkAddress address) : net_(net), address_(address) {}
  ~SimListener() override { close(); }

  flow::Future<std::shared_ptr<flow::IConnection>> accept() override {
    if (closed_) return Error(ErrorCode::connection_failed);
    return flow::spawn([incoming = incoming_.get_future()] {
      try {
        return flow::wait_next(incoming);
      } catch (const Error& e) {
        if (e.code() == ErrorCode::end_of_stream) throw Error(ErrorCode::connection_failed);
        throw;
      }
    });
  }
  flow::NetworkAddress local_address() const override { return address_; }
  void close() override {
    if (closed_) return;
    closed_ = true;
    net_.listeners_.erase(address_);
    incoming_.close();
  }

  void deliver(std::shared_ptr<flow::IConnection> c) { incoming_.send(std::move(c)); }

 private:
  SimNetwork& net_;
  flow::NetworkAddress address_;
  flow::PromiseStream<std::shared_ptr<flow::IConnection>> incoming_;
  bool closed_ = false;
};

// A listener handle that the process owns; the network keeps a plain pointer while it is open.
class SimProcessNetwork final : public flow::INetwork {
 public:
  SimProcessNetwork(SimNetwork& net, uint32_t ip) : net_(net), ip_(ip) {}

  flow::Future<std::shared_ptr<flow::IConnection>> connect(flow::NetworkAddress peer) override {
    return flow::spawn([&net = net_, ip = ip_, peer]() -> std::shared_ptr<flow::IConnection> {
      // The handshake takes a round trip; the peer must be reachable both ways at its end.
      flow::wait(flow::delay(net.latency(ip, peer.ip) + net.latency(peer.ip, ip)));
      // Across a silent cut nothing answers: wait for the cut to end, or give up.
      const Time deadline = flow::now() + net.model_.connect_timeout;
      auto silent = [&] {
        return net.cut(ip, peer.ip) == PartitionKind::kSilent ||
               net.cut(peer.ip, ip) == PartitionKind::kSilent;
      };
      CODE_PROBE(silent(), "a connect waits on a silent partition");
      while (silent() && flow::now() < deadline) {
        flow::Future<flow::Void> changed = net.cuts_changed_.on_trigger();
        (void)flow::wait_any(flow::delay_until(deadline), changed);
      }
      auto it = net.listeners_.find(peer);
      if (it == net.listeners_.end() || !net.can_send(ip, peer.ip) || !net.can_send(peer.ip, ip)) {
        CODE_PROBE(silent(), "a connect gives up behind a silent partition");
        CODE_PROBE(!silent() && it != net.listeners_.end(),
                   "a connect is refused across a reset partition");
        CODE_PROBE(it == net.listeners_.end(), "a connect finds nobody listening (a dead process)");
        throw Error(ErrorCode::connection_failed);
      }
      const flow::NetworkAddress local{ip, net.next_ephemeral_port_++};
      auto to_server = std::make_shared<Pipe>();
      auto to_client = std::make_shared<Pipe>();
      auto client = std::make_shared<SimConnection>(net, local, peer, to_client, to_server);
      auto server = std::make_shared<SimConnection>(net, peer, local, to_server, to_client);
      net.track(ip, client);
      net.track(peer.ip, server);
      it->second->deliver(server);
      return client;
    });
  }

  std::shared_ptr<flow::IListener> listen(flow::NetworkAddress local) override {
    if (local.ip != ip_ || net_.listeners_.contains(local)) throw Error(ErrorCode::bind_failed);
    auto listener = std::make_shared<SimListener>(net_, local);
    net_.listeners_[local] = listener.get();
    return listener;
  }

 private:
  SimNetwork& net_;
  uint32_t ip_;
};

SimNetwork::SimNetwork(NetworkModel model) : model_(model) {
  ASSERT_LE(model_.min_latency.count(), model_.max_latency.count());
}

SimNetwork::~SimNetwork() {
  ASSERT_MSG(listeners_.empty(), "a listener outlived the simulated network");
}

std::unique_ptr<flow::INetwork> SimNetwork::network_for(uint32_t ip) {
  return std::make_unique<SimProcessNetwork>(*this, ip);
}

flow::Duration SimNetwork::latency(uint32_t a, uint32_t b) {
  if (a == b) return model_.min_latency;
  auto& rng = flow::deterministic_random();
  // FoundationDB's halfLatency(): most packets are fast, a few are far slower.
  const bool slow = rng.random_bool(model_.slow_probability);
  CODE_PROBE(slow, "a packet takes the network's slow tail");
  const flow::Duration max = slow ? model_.max_latency * model_.slow_factor : model_.max_latency;
  return detail::draw_between(rng, model_.min_latency, max);
}

std::optional<PartitionKind> SimNetwork::cut(uint32_t from, uint32_t to) const {
  auto it = blocked_.find({from, to});
  if (it == blocked_.end()) return std::nullopt;
  return it->second;
}

void SimNetwork::set_connection_failure_gap(flow::Duration gap) {
  connection_failure_gap_ = gap;
  last_random_failure_ = flow::now();
}

bool SimNetwork::draw_random_failure() {
  if (!faults_.enabled || faults_.connection_failure_probability <= 0) return false;
  if (flow::now() - last_random_failure_ < connection_failure_gap_) return false;
  if (!flow::deterministic_random().random_bool(faults_.connection_failure_probability))
    return false;
  last_random_failure_ = flow::now();
  CODE_PROBE(true, "a random connection failure breaks a connection");
  return true;
}

flow::Time SimNetwork::delivery_time(uint32_t from, uint32_t to) {
  Time at = flow::now() + latency(from, to);
  if (auto it = send_clogs_.find(from); it != send_clogs_.end()) {
    CODE_PROBE(it->second > at, "a send clog delays a message");
    at = std::max(at, it->second);
  }
  if (auto it = receive_clogs_.find(to); it != receive_clogs_.end()) {
    CODE_PROBE(it->second > at, "a receive clog delays a message");
    at = std::max(at, it->second);
  }
  if (auto it = pair_clogs_.find({from, to}); it != pair_clogs_.end()) {
    CODE_PROBE(it->second > at, "a pair clog delays a message");
    at = std::max(at, it->second);
  }
  return at;
}

void SimNetwork::clog_send(uint32_t ip, flow::Duration d) {
  CODE_PROBE(true, "a process's sending is clogged");
  Time& until = send_clogs_[ip];
  until = std::max(until, flow::now() + d);
}
void SimNetwork::clog_receive(uint32_t ip, flow::Duration d) {
  CODE_PROBE(true, "a process's receiving is clogged");
  Time& until = receive_clogs_[ip];
  until = std::max(until, flow::now() + d);
}
void SimNetwork::clog_pair(uint32_t from, uint32_t to, flow::Duration d) {
  CODE_PROBE(true, "a pair of processes is clogged one way");
  Time& until = pair_clogs_[{from, to}];
  until = std::max(until, flow::now() + d);
}

void SimNetwork::unclog(uint32_t ip) {
  CODE_PROBE(send_clogs_.contains(ip) || receive_clogs_.contains(ip),
             "a clogged process is unclogged before its clog ends (swizzle)");
  send_clogs_.erase(ip);
  receive_clogs_.erase(ip);
  ip_released_[ip] = flow::now();
  // Connections from ip, and connections of others towards ip, in creation order per address.
  for (const auto& [owner, list] : connections_)
    for (const auto& weak : list)
      if (auto c = weak.lock(); c && (owner == ip || c->peer_address().ip == ip)) c->unclog();
}

void SimNetwork::partition(uint32_t from, uint32_t to, bool symmetric, PartitionKind kind) {
  flow::TraceEvent(flow::SevDebug, "SimPartition")
      .detail("From", flow::NetworkAddress{from, 0}.to_string())
      .detail("To", flow::NetworkAddress{to, 0}.to_string())
      .detail("Symmetric", symmetric)
      .detail("Kind", kind == PartitionKind::kSilent ? "silent" : "reset");
  CODE_PROBE(kind == PartitionKind::kSilent, "a silent partition is cut");
  CODE_PROBE(kind == PartitionKind::kReset, "a reset partition is cut");
  CODE_PROBE(!symmetric, "a one-way partition is cut");
  blocked_[{from, to}] = kind;
  if (symmetric) blocked_[{to, from}] = kind;
}

void SimNetwork::unpartition(uint32_t from, uint32_t to, bool symmetric) {
  pair_released_[{from, to}] = flow::now();
  if (symmetric) pair_released_[{to, from}] = flow::now();
  blocked_.erase({from, to});
  release_held(from, to);
  if (symmetric) {
    blocked_.erase({to, from});
    release_held(to, from);
  }
  cuts_changed_.trigger();
}

flow::Time SimNetwork::cut_released_at(uint32_t from, uint32_t to) const {
  const auto it = pair_released_.find({from, to});
  return it == pair_released_.end() ? all_released_ : std::max(all_released_, it->second);
}

flow::Time SimNetwork::clog_released_at(uint32_t ip) const {
  const auto it = ip_released_.find(ip);
  return it == ip_released_.end() ? all_released_ : std::max(all_released_, it->second);
}

void SimNetwork::release_held(uint32_t from, uint32_t to) {
  if (blocked_.contains({from, to})) return;
  auto it = connections_.find(from);
  if (it == connections_.end()) return;
  for (const auto& weak : it->second)
    if (auto c = weak.lock(); c && c->peer_address().ip == to) c->release_held();
}

void SimNetwork::heal() {
  CODE_PROBE(!blocked_.empty(), "healing ends a partition early");
  CODE_PROBE(!send_clogs_.empty() || !receive_clogs_.empty() || !pair_clogs_.empty(),
             "healing ends a clog early");
  blocked_.clear();
  all_released_ = flow::now();
  cuts_changed_.trigger();
  send_clogs_.clear();
  receive_clogs_.clear();
  pair_clogs_.clear();
  // The clogs end now, so what they held moves now: a chunk sent into a long clog must not keep
  // its far delivery time into the liveness phase.
  for (const auto& [ip, list] : connections_)
    for (const auto& weak : list)
      if (auto c = weak.lock()) c->release_clogged();
}

void SimNetwork::track(uint32_t ip, std::weak_ptr<SimConnection> c) {
  auto& list = connections_[ip];
  // Forget closed connections now and then, so a long run does not accumulate them.
  if (list.size() >= 64 && (list.size() & (list.size() - 1)) == 0) {
    std::erase_if(list, [](const std::weak_ptr<SimConnection>& w) { return w.expired(); });
  }
  list.push_back(std::move(c));
}

void SimNetwork::kill_address(uint32_t ip) {
  // Listeners are owned by the dead process's actors and close as they unwind; close any left.
  std::vector<SimListener*> mine;
  for (const auto& [address, listener] : listeners_)
    if (address.ip == ip) mine.push_back(listener);
  for (SimListener* l : mine)
    l->close();
  auto it = connections_.find(ip);
  if (it == connections_.end()) return;
  for (const auto& weak : it->second)
    if (auto c = weak.lock()) c->fail();
  connections_.erase(it);
}

}  // namespace sim
