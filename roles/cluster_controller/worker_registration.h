#pragma once
// Workers registering with the cluster controller (docs/database.md, "Workers register"): each
// process's worker finds the leader through the coordinators, as a client does, and tells its
// controller every kRegisterInterval where it is, on which machine and what it is for; the
// controller recruits among the workers it heard from lately.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flow/error_or.h"
#include "flow/network_address.h"
#include "flow/time.h"
#include "roles/cluster_controller/cluster_controller_interface.h"
#include "roles/common/cluster_description.h"

namespace roles {

inline constexpr flow::Duration kRegisterInterval = std::chrono::milliseconds(500);
// A controller answers a registration at once: one that does not within this is gone (its
// process died, or no longer leads), and the worker looks for the leader again, so that a new
// leader hears from every worker within about a second of its election.
inline constexpr flow::Duration kRegisterReplyWithin = std::chrono::milliseconds(300);
// A worker not heard from for this long is not recruited (it may be dead, cut off or clogged).
inline constexpr flow::Duration kRegistrationLease = std::chrono::milliseconds(1500);
// Workers a controller keeps registrations of, at most: past it, those not heard from within
// the lease are forgotten, and a new one is refused (invalid_option_value) only if every one kept
// is alive, so that a flood of made-up addresses costs a bounded table and locks no worker out
// for longer than the flood lasts.
inline constexpr size_t kRegisteredWorkersMax = 4096;
inline constexpr size_t kMachineNameBytesMax = 64;

// What a process is for (strata-server's --class; FoundationDB's process classes, simplified):
// recoveries put the master, proxies and resolvers on stateless processes, the logs on log
// processes, where there are any alive.
enum class ProcessClass { unset, stateless, log, storage };

std::string_view class_name(ProcessClass c);
// invalid_option_value for another word.
flow::ErrorOr<ProcessClass> parse_process_class(std::string_view text);

struct WorkerRegistration {
  flow::NetworkAddress address;
  std::string machine;
  ProcessClass process_class = ProcessClass::unset;
  friend bool operator==(const WorkerRegistration&, const WorkerRegistration&) = default;
};

// Registers `me` with whichever process leads the cluster `cluster` names, for ever: looks for
// the leader through the coordinators (look_for_leader, following the cluster when it moves),
// then registers every kRegisterInterval until the controller does not answer within
// kRegisterReplyWithin, and looks again 50-100 ms later (after a refusal, a lease later). REQUIRES: `me.machine` of at most kMachineNameBytesMax bytes. May suspend.
void register_worker(ClusterDescription cluster, WorkerRegistration me);

// The controller's side: who registered, and when it was last heard from.
class WorkerRegistry {
 public:
  // Serves `stream` until cancelled, recording each registration. A registration that is not one
  // (an address or class that does not parse, a machine name too long) or one past
  // kRegisteredWorkersMax is refused with invalid_option_value and traced. May suspend.
  void serve(const RegisterWorkerStream& stream);

  // Records `r` as heard from now (what serve() does with each request); the error it answers.
  flow::ErrorOr<flow::Void> record(const wire_cc::RegisterWorkerRequestT& r);

  // The workers heard from within kRegistrationLease, by address.
  std::vector<WorkerRegistration> alive() const;
  // Every worker heard from and not forgotten (a full table forgets those past the lease), by
  // address.
  std::vector<flow::NetworkAddress> known() const;
  size_t size() const { return heard_.size(); }

 private:
  struct Heard {
    WorkerRegistration worker;
    flow::Time at{};
  };
  std::map<flow::NetworkAddress, Heard> heard_;  // ordered by address: deterministic
  uint64_t refused_ = 0;
};

}  // namespace roles
