#pragma once
// The coordinator as other processes see it (docs/database.md, "coordinator"): generation
// registers, each kept durable before a reply promises it, kept apart by cluster (a cluster
// description's id), and forwards: once a cluster's state has moved to other coordinators, every
// request for that cluster is answered with where it went. Every process can run one; its
// endpoints are well known, so the description's addresses are all a reader needs.

#include <string>

#include "flow/network_address.h"
#include "net/rpc.h"
#include "roles/coordinator/coordinator_generated.h"
#include "roles/coordinator/generation_register.h"

namespace roles {

namespace wire_coord = strata::wire::coordinator;

using RegisterReadStream = net::RequestStream<wire_coord::RegisterReadRequestT, wire_coord::RegisterReadReplyT>;
using RegisterWriteStream = net::RequestStream<wire_coord::RegisterWriteRequestT, wire_coord::RegisterWriteReplyT>;
using ForwardStream = net::RequestStream<wire_coord::ForwardRequestT, wire_coord::ForwardReplyT>;

struct CoordinatorInterface {
  RegisterReadStream read;    // GenerationRegister::read
  RegisterWriteStream write;  // GenerationRegister::write
  ForwardStream forward;      // the cluster has moved: answer with where to, from now on

  // The coordinator at `address`.
  static CoordinatorInterface remote(flow::NetworkAddress address);
};

// Registers a coordinator keeps at most, and the bytes of a register's key and value: a peer
// cannot fill its disk. Forwards are kept apart, at most kCoordinatorForwardsMax: a forward
// replaces its cluster's registers, and past the bound the oldest is forgotten.
inline constexpr size_t kCoordinatorRegistersMax = 64;
inline constexpr size_t kCoordinatorForwardsMax = 64;
inline constexpr size_t kRegisterKeyBytesMax = 256;
inline constexpr size_t kRegisterValueBytesMax = 64 * 1024;
// Generation counts a coordinator takes: a writer adds one to the highest it has seen, so a
// count a peer set near the largest int64 would leave it none above (invalid_option_value).
inline constexpr int64_t kRegisterGenerationCountMax = int64_t{1} << 62;

struct CoordinatorInit {
  // Its store's files begin with this name, in the process's file system.
  std::string name = "coordination";
};

// Serves the current process's coordinator until cancelled, from its store (a memory engine,
// storage/key_value_store.h), created if missing. A request over the bounds above is refused
// with invalid_option_value (key_too_large, value_too_large for the sizes; a generation count
// above kRegisterGenerationCountMax, a cluster id that no description could have, a forward
// whose target is no description of another id, or of a cluster it keeps no register of, are
// invalid_option_value too; a second forward of a cluster to another target is
// coordinated_state_conflict); a register whose
// record fails its checksum is refused with checksum_failed, never believed. After an error of
// its disk it reopens the store a second later. May suspend.
void run_coordinator(CoordinatorInit init = {});

// Wire forms of a generation.
wire_coord::Generation to_wire(const RegisterGeneration& g);
RegisterGeneration from_wire(const wire_coord::Generation& g);

}  // namespace roles
