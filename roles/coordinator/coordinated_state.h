#pragma once
// CoordinatedState — one value kept by a majority of coordinators (FoundationDB's
// CoordinatedState; generation_register.h says why it is safe): a writer reads the value with a
// generation of its own, then writes its new value with that generation. A write is refused, and
// the writer told (coordinated_state_conflict), if another writer has read or written with a
// higher generation since its read; so of two writers that race, at most one changes the value,
// and the other learns it lost before acting on what it read.
//
// Waits as long as it takes for a majority to answer: with a majority unreachable (or unable to
// answer: a register failing its checksum) the state is unavailable, never wrong. A coordinator's
// refusal for good (a bound: invalid_option_value, key_too_large, value_too_large) is no answer;
// once too many have refused for a majority to answer, the call throws that refusal.
//
// The registers are the cluster's (its description's id): once its state has moved to other
// coordinators (roles/cluster_controller/coordinators_change.h), coordinators answer with where
// it went; every call then throws coordinators_changed, and forwarded() says where.

#include <optional>
#include <string>
#include <vector>

#include "flow/network_address.h"
#include "roles/common/cluster_description.h"
#include "roles/coordinator/coordinator_interface.h"
#include "roles/coordinator/generation_register.h"

namespace roles {

class CoordinatedState {
 public:
  // The register `key` of cluster `cluster` (at least one coordinator, no two alike).
  CoordinatedState(ClusterDescription cluster, std::string key);
  // The register `key` of the coordinators at `coordinators`, outside any cluster (an empty id).
  CoordinatedState(std::vector<flow::NetworkAddress> coordinators, std::string key);

  // Reads with a generation above every one this object has seen: the value with the newest
  // write among a majority (nullopt if none was ever written). A coordinator that has read with
  // a higher generation makes it read again above that, up to a few times; then it throws
  // coordinated_state_conflict (another writer keeps getting ahead). May suspend.
  std::optional<std::string> read();
  // Whether the last read() found no value at some coordinator of its majority while another held
  // one (QuorumRead::partial): the value may be stale if a majority lost their disks.
  bool last_read_partial() const { return last_read_partial_; }

  // The value with the newest write among a majority, read without raising any generation (so
  // a writer between its read and its write is not disturbed): a watcher's look. It may be a
  // value a losing writer left on a minority; nullopt if none was written. May suspend.
  std::optional<std::string> peek();

  // Writes `value` with the last read's generation; returns once a majority has made it
  // durable. Throws coordinated_state_conflict if a coordinator refuses it (another writer read
  // or wrote since), invalid_option_value for a value over kRegisterValueBytesMax. REQUIRES: a
  // read() since the last write(). May suspend.
  void write(std::string value);

  // How many coordinators make a majority.
  size_t majority() const { return majority_of(coordinators_.size()); }

  const ClusterDescription& cluster() const { return cluster_; }
  // Where the cluster's state went, once a coordinator said so (or learn_forward did).
  const std::optional<ClusterDescription>& forwarded() const { return forwarded_; }
  // Records that the state has moved to `to` (its value said so) and throws coordinators_changed.
  [[noreturn]] void learn_forward(ClusterDescription to);

 private:
  // Reads with `generation` until a majority answered; their replies. May suspend.
  std::vector<GenerationRegister::ReadReply> read_majority(RegisterGeneration generation);
  // Raises seen_count_ to what a reply showed (bounded: no count past the coordinators').
  void see(RegisterGeneration written, RegisterGeneration read);
  // Throws coordinators_changed if any of `forwards` (the replies') names where the state went
  // (malformed_message if one names no description).
  void check_forwards(const std::vector<std::string>& forwards);

  ClusterDescription cluster_;
  std::optional<ClusterDescription> forwarded_;
  std::vector<CoordinatorInterface> coordinators_;
  std::string key_;
  RegisterGeneration generation_;   // of the last read
  bool may_write_ = false;          // a read since the last write
  bool last_read_partial_ = false;
  int64_t seen_count_ = 0;          // the highest generation count any reply showed
};

// Tells a majority of `from`'s coordinators that its state now lives with `to` (another id):
// from then on they answer every request for `from` with `to`. Asks each again until a majority
// has made it durable. A coordinator that refuses (it keeps no register of `from`, or already
// forwards it elsewhere) does not count; once too many have for a majority, their refusal is
// thrown (coordinated_state_conflict, invalid_option_value). May suspend.
void forward_cluster(const ClusterDescription& from, const ClusterDescription& to);

}  // namespace roles
