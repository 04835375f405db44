#pragma once
// The cluster controller as clients see it: the only header of the controller that the client
// includes.

#include <string>
#include <string_view>

#include "flow/error_or.h"
#include "net/rpc.h"
#include "roles/cluster_controller/cluster_controller_generated.h"

namespace roles {

namespace wire_cc = strata::wire::cluster_controller;

using LockDatabaseStream =
    net::RequestStream<wire_cc::LockDatabaseRequestT, wire_cc::LockDatabaseReplyT>;
using ChangeCoordinatorsStream =
    net::RequestStream<wire_cc::ChangeCoordinatorsRequestT, wire_cc::ChangeCoordinatorsReplyT>;

struct ClusterControllerInterface {
  LockDatabaseStream lock_database;  // lock or unlock the database (docs/database.md, "Database lock")
  ChangeCoordinatorsStream change_coordinators;  // move the cluster state to other coordinators
};

// What a lock request makes of the lock `held` (empty: unlocked): the lock after it (empty:
// unlocked), or the error to answer with — invalid_option_value for a uid that cannot name a
// holder (roles::lock_uid_ok), database_locked for a lock or an unlock while another uid holds
// the lock. Locking again with the holder's uid, and unlocking an unlocked database, change
// nothing.
flow::ErrorOr<std::string> lock_after(std::string_view held, const wire_cc::LockDatabaseRequestT& request);

}  // namespace roles
