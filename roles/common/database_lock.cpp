#include "roles/common/database_lock.h"

#include <string>

namespace roles {

Mutation lock_mutation(std::string_view uid) {
  if (uid.empty())
    return {MutationType::kClearRange, std::string(kDatabaseLockedKey), std::string(kDatabaseLockedKey) + '\0'};
  return {MutationType::kSet, std::string(kDatabaseLockedKey), std::string(uid)};
}

}  // namespace roles
