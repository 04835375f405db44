#pragma once
// Mutation — one change a transaction makes (docs/database.md, "Shared types"), in memory and
// to and from its wire form (roles/common/types.fbs).
//
// param1 is the key (the range's begin for clear_range); param2 the value, the operand of an
// atomic operation, or the range's end.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "roles/common/atomic.h"
#include "roles/common/types_generated.h"

namespace roles {

// A storage server's identity on the logs.
using Tag = uint16_t;

struct Mutation {
  MutationType type = MutationType::kSet;
  std::string param1;
  std::string param2;
  friend bool operator==(const Mutation&, const Mutation&) = default;
};

// Whether `type` is a MutationType this build knows.
bool is_known_mutation_type(uint8_t type);

strata::wire::MutationT to_wire(const Mutation& m);
// nullopt for a type this build does not know (a peer's input: never asserted on).
std::optional<Mutation> from_wire(const strata::wire::MutationT& m);

}  // namespace roles
