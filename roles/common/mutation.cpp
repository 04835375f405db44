#include "roles/common/mutation.h"

namespace roles {

bool is_known_mutation_type(uint8_t raw) {
  const auto type = static_cast<MutationType>(raw);
  return type == MutationType::kSet || type == MutationType::kClearRange ||
         type == MutationType::kSetVersionstampedKey ||
         type == MutationType::kSetVersionstampedValue || is_atomic_operation(type);
}

strata::wire::MutationT to_wire(const Mutation& m) {
  strata::wire::MutationT w;
  w.type = static_cast<uint8_t>(m.type);
  w.param1.assign(m.param1.begin(), m.param1.end());
  w.param2.assign(m.param2.begin(), m.param2.end());
  return w;
}

std::optional<Mutation> from_wire(const strata::wire::MutationT& m) {
  if (!is_known_mutation_type(m.type)) return std::nullopt;
  return Mutation{static_cast<MutationType>(m.type), std::string(m.param1.begin(), m.param1.end()),
                  std::string(m.param2.begin(), m.param2.end())};
}

}  // namespace roles
