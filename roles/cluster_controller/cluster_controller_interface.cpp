#include "roles/cluster_controller/cluster_controller_interface.h"

#include "roles/common/database_lock.h"

namespace roles {

flow::ErrorOr<std::string> lock_after(std::string_view held, const wire_cc::LockDatabaseRequestT& request) {
  const std::string uid(request.uid.begin(), request.uid.end());
  if (!lock_uid_ok(uid)) return flow::Error(flow::ErrorCode::invalid_option_value);
  if (!held.empty() && held != uid) return flow::Error(flow::ErrorCode::database_locked);
  return request.lock ? uid : std::string();
}

}  // namespace roles
