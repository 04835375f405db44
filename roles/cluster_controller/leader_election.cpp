#include "roles/cluster_controller/leader_election.h"

#include "flow/actor.h"
#include "flow/code_probe.h"
#include "flow/combinators.h"
#include "flow/deterministic_random.h"
#include "flow/trace_event.h"

namespace roles {

namespace {

// Raises the heartbeat once: reads the register (it must still name `me`), writes the next
// heartbeat. Returns the new record; throws coordinated_state_conflict if another took over.
// May suspend.
LeaderInfo renew(CoordinatedState& reg, LeaderInfo me) {
  const std::optional<std::string> held = reg.read();
  if (!held || decode_leader(*held) != me) throw flow::Error(flow::ErrorCode::coordinated_state_conflict);
  ++me.heartbeat;
  reg.write(encode_leader(me));
  return me;
}

// Runs `lead` while `me` keeps leading through `reg`; returns when `lead` ends or leadership is
// lost: the nonce of the leadership if the register may still name it (the lease lapsed),
// else nullopt. May suspend.
std::optional<uint64_t> lead_while_leading(CoordinatedState& reg, LeaderInfo me, const std::function<void()>& lead) {
  flow::Future<flow::Void> leading = flow::spawn([&lead] { lead(); });
  flow::Time renewed = flow::now();
  for (;;) {
    if (flow::wait_any(leading, flow::delay(kLeaderHeartbeat)) == 0) {
      if (leading.is_error()) {
        // A move of the coordinators ends the leadership on purpose: the next is elected there.
        const bool moved = leading.get_error().code() == flow::ErrorCode::coordinators_changed;
        flow::TraceEvent(moved ? flow::SevInfo : flow::SevWarnAlways, "LeaderWorkEnded").detail("Error", leading.get_error());
      }
      return std::nullopt;
    }
    // From when the last successful renewal was sent: a candidate cannot have seen its heartbeat
    // before then, so it waits at least a lease from then; three quarters leave room for clocks.
    const flow::Time deadline = renewed + kLeaderLease * 3 / 4;
    const flow::Time sent = flow::now();
    std::optional<LeaderInfo> next;
    try {
      next = flow::wait(flow::timeout(flow::spawn([&reg, me] { return renew(reg, me); }),
                                      std::max(deadline - flow::now(), flow::Duration::zero())));
    } catch (const flow::Error& e) {
      if (e.code() == flow::ErrorCode::operation_cancelled) throw;
      CODE_PROBE(true, "a leader finds another has taken over");
      flow::TraceEvent(flow::SevWarn, "LeaderLost").detail("Error", e);
      return std::nullopt;
    }
    if (!next) {
      CODE_PROBE(true, "a leader steps down: it could not renew within its lease");
      flow::TraceEvent(flow::SevWarn, "LeaderLeaseLapsed").detail("Address", me.address.to_string());
      return me.nonce;
    }
    me = *next;
    renewed = sent;
  }
}

}  // namespace

void campaign(ClusterDescription* cluster, flow::NetworkAddress self, const std::function<void()>& lead) {
  CoordinatedState reg(*cluster, std::string(kLeaderKey));
  std::optional<std::string> watched;
  flow::Time since = flow::now();
  std::optional<uint64_t> stepped_down;  // the nonce of this process's last leadership
  // Goes on among the coordinators `*cluster` names now (it moved).
  const auto follow = [&] {
    if (reg.forwarded() && reg.forwarded()->id != cluster->id) {
      flow::TraceEvent(flow::SevInfo, "ClusterDescriptionFollowed")
          .detail("From", cluster->to_string())
          .detail("To", reg.forwarded()->to_string());
      *cluster = *reg.forwarded();
    }
    if (reg.cluster() == *cluster) return;
    CODE_PROBE(true, "a candidate follows the cluster to its new coordinators");
    reg = CoordinatedState(*cluster, std::string(kLeaderKey));
    watched.reset();
    since = flow::now();
    stepped_down.reset();
  };
  for (;;) {
    try {
      const std::optional<std::string> held = reg.peek();
      if (held != watched) {
        watched = held;
        since = flow::now();
      }
      const std::optional<LeaderInfo> named = held ? decode_leader(*held) : std::nullopt;
      // Still naming this process's last leadership: nobody took over, and nobody can without a
      // write this read and write would find (so no lease to wait out).
      const bool still_mine = named && stepped_down && named->nonce == *stepped_down && named->address == self;
      CODE_PROBE(still_mine, "a leader that stepped down takes the register back at once");
      const bool vacant = !named || still_mine || flow::now() - since >= kLeaderLease;
      if (vacant) {
        bool won = false;
        LeaderInfo me{self, flow::deterministic_random().random_uint64(), 0};
        try {
          // Nobody may have moved in since the look: else it is theirs.
          if (reg.read() == held) {
            reg.write(encode_leader(me));
            won = true;
          }
        } catch (const flow::Error& e) {
          if (e.code() != flow::ErrorCode::coordinated_state_conflict) throw;
          CODE_PROBE(true, "a candidate loses the race to lead");
        }
        if (won) {
          flow::TraceEvent(flow::SevInfo, "LeaderElected")
              .detail("Address", self.to_string())
              .detail("Cluster", cluster->id)
              .detail("Previous", held && decode_leader(*held) ? decode_leader(*held)->address.to_string() : "");
          stepped_down = lead_while_leading(reg, me, lead);
          flow::TraceEvent(flow::SevInfo, "LeaderSteppedDown").detail("Address", self.to_string());
          watched.reset();
          since = flow::now();
        }
      }
    } catch (const flow::Error& e) {
      // A coordinator's forward that names no description (a damaged or hostile coordinator) is
      // no reason to stop campaigning: look again later.
      if (e.code() != flow::ErrorCode::coordinators_changed && e.code() != flow::ErrorCode::malformed_message) throw;
    }
    follow();
    const flow::Duration jitter = flow::deterministic_random().random_duration(flow::Duration::zero(), kLeaderHeartbeat);
    flow::wait(flow::delay(kLeaderHeartbeat + jitter));
  }
}

void campaign(const std::vector<flow::NetworkAddress>& coordinators, flow::NetworkAddress self,
              const std::function<void()>& lead) {
  ClusterDescription cluster{"", "", coordinators};
  campaign(&cluster, self, lead);
}

}  // namespace roles
