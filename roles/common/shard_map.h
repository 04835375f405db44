#pragma once
// ShardMap — which storage servers hold which keys (docs/database.md, "commit proxy"): a sorted
// list of shards that together cover every legal key, ["", kKeyspaceEnd), each with its servers.
// Step 1's map is fixed at bring-up; the commit proxies tag mutations with it and answer clients'
// location requests from it.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "flow/error_or.h"
#include "flow/network_address.h"
#include "roles/common/mutation.h"
#include "roles/common/types.h"

namespace roles {

// Every legal key is below this; system keys are [\xff, \xff\xff).
inline constexpr std::string_view kKeyspaceEnd = "\xff\xff";

// Where the system keyspace holds the shard map (see shard_map_mutations).
inline constexpr std::string_view kKeyServersPrefix = "\xff/keyServers/";
inline constexpr std::string_view kServerKeysPrefix = "\xff/serverKeys/";

struct StorageServerRef {
  flow::NetworkAddress address;
  Tag tag = 0;
  friend bool operator==(const StorageServerRef&, const StorageServerRef&) = default;
};

struct Shard {
  KeyRange range;
  std::vector<StorageServerRef> servers;
};

class ShardMap {
 public:
  ShardMap() = default;
  // invalid_option_value unless the shards are sorted, contiguous, non-empty, cover
  // ["", kKeyspaceEnd) and each has at least one server.
  static flow::ErrorOr<ShardMap> make(std::vector<Shard> shards);

  // The shard holding `key`. REQUIRES: key < kKeyspaceEnd.
  const Shard& shard_of(std::string_view key) const;
  // The indices of the shards overlapping [begin, end), in order.
  std::vector<size_t> shards_overlapping(std::string_view begin, std::string_view end) const;
  // The tags of the servers that must apply a mutation: the key's shard's, or for a clear every
  // overlapped shard's; ascending, without repeats.
  std::vector<Tag> tags_for(const Mutation& m) const;

  const std::vector<Shard>& shards() const { return shards_; }

 private:
  explicit ShardMap(std::vector<Shard> shards) : shards_(std::move(shards)) {}
  std::vector<Shard> shards_;
};

// The map as the system keyspace holds it (docs/database.md, "commit proxy"), as sets:
// \xff/keyServers/<shard begin> = its servers ("tag@ip:port", comma-separated, in order), and
// \xff/serverKeys/<tag, 5 digits>/<key> = "1" where a range the server owns begins and "0"
// where it ends (unless another of its ranges begins there).
std::vector<Mutation> shard_map_mutations(const ShardMap& map);
// The value of a shard's \xff/keyServers/ key.
std::string key_servers_value(const std::vector<StorageServerRef>& servers);

}  // namespace roles
