#pragma once
// VersionedData — a storage server's in-memory versions (docs/database.md, "storage server"): the
// sets and clears of the versions after its durable version, which its engine does not hold yet,
// answering "what does this key hold at version v?" as far as they know. Atomic operations
// arrive already applied (as sets or clears): the server computes them against the value at the
// version before.
//
// Within a version, mutations take effect in the order they were applied (a set then a clear of
// the same key leaves it absent; a clear then a set leaves the value).

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "roles/common/mutation.h"
#include "roles/common/types.h"

namespace roles {

struct VersionedMutation {
  Version version = 0;
  Mutation mutation;  // kSet or kClearRange
};

class VersionedData {
 public:
  // What the versions in memory say of a key at a version.
  enum class Kind {
    kValue,   // it holds `value`
    kAbsent,  // it holds nothing (cleared)
    kEngine,  // unchanged since the durable version: the engine knows
  };
  struct Lookup {
    Kind kind = Kind::kEngine;
    std::string_view value;  // valid until the next change to this object
  };

  // `durable`: the version the engine holds.
  explicit VersionedData(Version durable) : durable_(durable), latest_(durable) {}

  // Applies a set, or a clear of [begin, end), at version `v`. REQUIRES: v > durable() and
  // v >= latest().
  void set(Version v, std::string_view key, std::string_view value);
  void clear(Version v, std::string_view begin, std::string_view end);
  // Every mutation of versions up to `v` has been applied (versions may hold none).
  // REQUIRES: v >= latest().
  void advance(Version v);

  // REQUIRES: v >= durable().
  Lookup lookup(std::string_view key, Version v) const;
  // The keys in [begin, end) set at some version in memory, ascending.
  std::vector<std::string_view> keys_set_in(std::string_view begin, std::string_view end) const;

  // The mutations of versions in (durable(), v], in the order applied: what the engine must
  // apply to reach `v`.
  std::vector<VersionedMutation> mutations_through(Version v) const;
  // How far one step towards `limit` (durable() <= limit <= latest()) may go with about `most`
  // mutations: the newest version <= limit whose mutations and all older ones held number at
  // most `most`; but at least the oldest version held (a version goes whole), and `limit` itself
  // when every mutation up to it fits.
  Version step_towards(Version limit, size_t most) const;
  // A recovery chose `v` (durable() <= v <= latest()): forgets every mutation of a version after
  // it, as if none had been applied; latest() becomes v.
  void rollback(Version v);
  // The engine now holds everything through `v` (durable() <= v <= latest()): forgets it.
  void forget_through(Version v);

  Version durable() const { return durable_; }
  Version latest() const { return latest_; }
  // Bytes of keys and values held, about.
  int64_t bytes() const { return bytes_; }

  void check_invariants() const;

 private:
  struct Set {
    Version version;
    std::string value;
  };
  struct Clear {
    Version version;
    std::string begin;
    std::string end;
  };
  struct Applied {
    Version version;
    uint64_t sequence;
    bool is_set;
    std::string key;  // the set's key; empty for a clear (found by sequence)
  };

  // Drops the set or clear `a` records (not `a` itself, from applied_).
  void erase(const Applied& a);

  Version durable_;
  Version latest_;
  uint64_t next_sequence_ = 1;
  int64_t bytes_ = 0;
  // Each key's sets by sequence (so also by version), the clears by sequence, and everything in
  // the order applied.
  std::map<std::string, std::map<uint64_t, Set>, std::less<>> sets_;
  std::map<uint64_t, Clear> clears_;
  std::deque<Applied> applied_;
};

}  // namespace roles
