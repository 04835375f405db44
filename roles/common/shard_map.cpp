#include "roles/common/shard_map.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "flow/assert.h"

namespace roles {

flow::ErrorOr<ShardMap> ShardMap::make(std::vector<Shard> shards) {
  const flow::Error bad(flow::ErrorCode::invalid_option_value);
  if (shards.empty() || !shards.front().range.begin.empty() || shards.back().range.end != kKeyspaceEnd)
    return bad;
  for (size_t i = 0; i < shards.size(); ++i) {
    if (shards[i].range.empty() || shards[i].servers.empty()) return bad;
    if (i > 0 && shards[i - 1].range.end != shards[i].range.begin) return bad;
  }
  return ShardMap(std::move(shards));
}

const Shard& ShardMap::shard_of(std::string_view key) const {
  ASSERT(key < kKeyspaceEnd);
  // The last shard whose begin is <= key.
  auto it = std::upper_bound(shards_.begin(), shards_.end(), key,
                             [](std::string_view k, const Shard& s) { return k < s.range.begin; });
  ASSERT(it != shards_.begin());
  return *std::prev(it);
}

std::vector<size_t> ShardMap::shards_overlapping(std::string_view begin, std::string_view end) const {
  std::vector<size_t> out;
  if (!(begin < end)) return out;
  for (size_t i = 0; i < shards_.size(); ++i) {
    const KeyRange& r = shards_[i].range;
    if (r.begin < end && begin < r.end) out.push_back(i);
  }
  return out;
}

std::vector<Tag> ShardMap::tags_for(const Mutation& m) const {
  std::vector<Tag> tags;
  if (m.type == MutationType::kClearRange) {
    for (size_t i : shards_overlapping(m.param1, m.param2))
      for (const StorageServerRef& s : shards_[i].servers) tags.push_back(s.tag);
  } else {
    for (const StorageServerRef& s : shard_of(m.param1).servers) tags.push_back(s.tag);
  }
  std::sort(tags.begin(), tags.end());
  tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
  return tags;
}

std::string key_servers_value(const std::vector<StorageServerRef>& servers) {
  std::string out;
  for (const StorageServerRef& s : servers)
    out += fmt::format("{}{}@{}", out.empty() ? "" : ",", s.tag, s.address.to_string());
  return out;
}

std::vector<Mutation> shard_map_mutations(const ShardMap& map) {
  std::vector<Mutation> out;
  // Per server, its ranges' edges in key order: "1" where one begins, "0" where one ends.
  std::map<Tag, std::map<std::string, std::string>> edges;
  for (const Shard& s : map.shards()) {
    std::string key(kKeyServersPrefix);
    key.append(s.range.begin);
    out.push_back({MutationType::kSet, std::move(key), key_servers_value(s.servers)});
    for (const StorageServerRef& server : s.servers) {
      auto& e = edges[server.tag];
      e.insert_or_assign(s.range.begin, std::string(1, '1'));
      e.try_emplace(s.range.end, 1, '0');  // a range that begins here wins
    }
  }
  for (const auto& [tag, e] : edges)
    for (const auto& [key, value] : e)
      out.push_back({MutationType::kSet, fmt::format("{}{:05}/{}", kServerKeysPrefix, tag, key), value});
  return out;
}

}  // namespace roles
