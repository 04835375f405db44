#include "roles/cluster_controller/leader_record.h"

#include "flow/code_probe.h"
#include "flow/little_endian.h"
#include "flow/trace_event.h"

namespace roles {

namespace {

// "SLDR", ip, port, nonce, heartbeat, little-endian.
constexpr uint32_t kLeaderMagic = 0x52444c53;
constexpr size_t kLeaderBytes = 4 + 4 + 2 + 8 + 8;

}  // namespace

std::string encode_leader(const LeaderInfo& leader) {
  std::string out(kLeaderBytes, '\0');
  auto* p = reinterpret_cast<uint8_t*>(out.data());
  flow::put_le(p, kLeaderMagic, 4);
  flow::put_le(p + 4, leader.address.ip, 4);
  flow::put_le(p + 8, leader.address.port, 2);
  flow::put_le(p + 10, leader.nonce, 8);
  flow::put_le(p + 18, leader.heartbeat, 8);
  return out;
}

std::optional<LeaderInfo> decode_leader(std::string_view bytes) {
  if (bytes.size() != kLeaderBytes) return std::nullopt;
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  if (flow::get_le(p, 4) != kLeaderMagic) return std::nullopt;
  LeaderInfo leader;
  leader.address = {static_cast<uint32_t>(flow::get_le(p + 4, 4)), static_cast<uint16_t>(flow::get_le(p + 8, 2))};
  leader.nonce = flow::get_le(p + 10, 8);
  leader.heartbeat = flow::get_le(p + 18, 8);
  return leader;
}

std::optional<LeaderInfo> current_leader(CoordinatedState& leader_register) {
  const std::optional<std::string> held = leader_register.peek();
  if (!held) return std::nullopt;
  return decode_leader(*held);
}

std::optional<LeaderInfo> look_for_leader(ClusterDescription* cluster, std::optional<CoordinatedState>* reg,
                                          std::string_view who) {
  for (int hops = 0;; ++hops) {
    if (hops == kForwardsPerLook) {
      CODE_PROBE(true, "a look for the leader follows as many forwards as it may");
      return std::nullopt;
    }
    if (!*reg || (*reg)->cluster() != *cluster) reg->emplace(*cluster, std::string(kLeaderKey));
    try {
      return current_leader(**reg);
    } catch (const flow::Error& e) {
      if (e.code() == flow::ErrorCode::operation_cancelled) throw;
      const std::optional<ClusterDescription>& to = (*reg)->forwarded();
      if (e.code() != flow::ErrorCode::coordinators_changed || !to || to->id == cluster->id) {
        // A forward naming no description (malformed_message), or a refusal: look again later.
        flow::TraceEvent(flow::SevWarn, std::string(who) + "LeaderUnread").detail("Cluster", cluster->to_string()).detail("Error", e);
        return std::nullopt;
      }
      CODE_PROBE(true, "a look for the leader follows the cluster to its new coordinators");
      flow::TraceEvent(flow::SevInfo, std::string(who) + "ClusterFollowed").detail("From", cluster->to_string()).detail("To", to->to_string());
      *cluster = *to;
    }
  }
}

}  // namespace roles
