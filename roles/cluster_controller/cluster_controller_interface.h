#pragma once
// The cluster controller as clients and workers see it: its well-known endpoints and their
// messages (the client also includes leader_record.h, to find the leader).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flow/error_or.h"
#include "flow/network_address.h"
#include "flow/time.h"
#include "net/rpc.h"
#include "roles/cluster_controller/cluster_controller_generated.h"
#include "roles/commit_proxy/commit_proxy_interface.h"
#include "roles/grv_proxy/grv_proxy_interface.h"

namespace roles {

namespace wire_cc = strata::wire::cluster_controller;

using LockDatabaseStream =
    net::RequestStream<wire_cc::LockDatabaseRequestT, wire_cc::LockDatabaseReplyT>;
using ChangeCoordinatorsStream =
    net::RequestStream<wire_cc::ChangeCoordinatorsRequestT, wire_cc::ChangeCoordinatorsReplyT>;
using ConfigureStream = net::RequestStream<wire_cc::ConfigureRequestT, wire_cc::ConfigureReplyT>;
using OpenDatabaseStream = net::RequestStream<wire_cc::OpenDatabaseRequestT, wire_cc::OpenDatabaseReplyT>;
using RegisterWorkerStream = net::RequestStream<wire_cc::RegisterWorkerRequestT, wire_cc::RegisterWorkerReplyT>;
using StatusStream = net::RequestStream<wire_cc::StatusRequestT, wire_cc::StatusReplyT>;

// Its endpoints are well known: whoever reads the leader's address from the coordinators
// (leader_record.h) reaches the controller there.
struct ClusterControllerInterface {
  LockDatabaseStream lock_database;  // lock or unlock the database (docs/database.md, "Database lock")
  ChangeCoordinatorsStream change_coordinators;  // move the cluster state to other coordinators
  ConfigureStream configure;                     // change the role counts, through a recovery
  OpenDatabaseStream open_database;              // the current generation's proxies (a long poll)
  RegisterWorkerStream register_worker;          // a worker says it is alive (worker_registration.h)
  StatusStream status;                           // the cluster as the controller sees it (JSON)
};

// The controller's endpoints: made in the current process (to serve them) with `at` null, else
// named at `*at`. One leadership at a time per process makes them.
ClusterControllerInterface cluster_controller_endpoints(const flow::NetworkAddress* at);

// How long the controller holds an OpenDatabase request that knows its generation before it
// answers with the same: a client that hears nothing for longer looks for the leader again.
inline constexpr flow::Duration kOpenDatabasePollMax = std::chrono::seconds(5);

// What a client needs of a generation: its proxies, and where the cluster's coordinators are.
struct ClientGeneration {
  uint64_t epoch = 0;  // 0: no generation
  std::vector<GrvProxyInterface> grv_proxies;
  std::vector<CommitProxyInterface> commit_proxies;
  std::string cluster;  // the description the controller leads among ("": not said)
};

wire_cc::OpenDatabaseReplyT to_wire(const ClientGeneration& g);
// nullopt for a reply that names a generation without a GRV proxy or a commit proxy, or with an
// interface that is not whole: it came over the network.
std::optional<ClientGeneration> from_wire(const wire_cc::OpenDatabaseReplyT& w);

// How many of each role of the transaction system a generation has, as `configure` sets them
// (FoundationDB's words); 0: as the cluster was brought up.
struct RoleCounts {
  int grv_proxies = 0;
  int commit_proxies = 0;
  int logs = 0;
  int resolvers = 0;  // the key space split evenly among them (split_among_resolvers)
  friend bool operator==(const RoleCounts&, const RoleCounts&) = default;
};
inline constexpr int kRoleCountMax = 8;

// `current` with the changes `text` asks for: "grv_proxies=N", "commit_proxies=N", "logs=N",
// "resolvers=N" (N in 1..kRoleCountMax), separated by spaces, in any order. Anything else —
// another word (redundancy and engine changes need data movement, not built yet), a count out
// of range, a word twice — is invalid_option_value, with what is wrong in `why` (if given).
flow::ErrorOr<RoleCounts> parse_configuration(std::string_view text, RoleCounts current, std::string* why = nullptr);

// What "configure new" asks for (FoundationDB's words): the database's first generation.
struct NewDatabase {
  int replication = 1;            // copies of each shard, on distinct machines where there are enough
  std::string engine = "memory";  // the storage servers' engine: "memory" or "ssd"
  RoleCounts counts;              // 0: one of each role, and as many logs as copies
  friend bool operator==(const NewDatabase&, const NewDatabase&) = default;
};
inline constexpr int kReplicationMax = 3;

// Whether `text` begins with the word "new" (a creation, not a change).
bool is_new_database(std::string_view text);
// "new" followed, in any order, by at most one redundancy mode ("single", "double", "triple"),
// at most one engine ("memory", "ssd"; FoundationDB's "ssd-2" and "memory-2" too) and role
// counts as parse_configuration reads them. Anything else is invalid_option_value, with what is
// wrong in `why` (if given).
flow::ErrorOr<NewDatabase> parse_new_database(std::string_view text, std::string* why = nullptr);

// What a lock request makes of the lock `held` (empty: unlocked): the lock after it (empty:
// unlocked), or the error to answer with — invalid_option_value for a uid that cannot name a
// holder (roles::lock_uid_ok), database_locked for a lock or an unlock while another uid holds
// the lock. Locking again with the holder's uid, and unlocking an unlocked database, change
// nothing.
flow::ErrorOr<std::string> lock_after(std::string_view held, const wire_cc::LockDatabaseRequestT& request);

}  // namespace roles
