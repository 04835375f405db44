#pragma once
// A log and one storage server on a quiet simulated cluster, the test committing to the log
// directly, and reads of the server that the storage server's tests share.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "flow/flow.h"
#include "roles/storage_server/storage_server_interface.h"
#include "roles/tlog/tlog_interface.h"
#include "tests/roles/role_cluster.h"

namespace roles_testing {

inline constexpr roles::Tag kStorageTag = 3;

// A log on process 1 and a storage server (tag 3, owning [b, m)) on process 2.
struct StorageCluster : RoleCluster {
  explicit StorageCluster(uint64_t seed, std::string engine = "memory",
                   std::vector<roles::KeyRange> shards = {{"b", "m"}}, storage::KeyValueStoreOptions options = {})
      : RoleCluster(seed, 3) {
    log = make_interface<roles::TLogInterface>(1);
    start(1, "tlog", [l = log] { roles::run_tlog(l, {.epoch = 1, .start_version = 0, .name = "log"}); });
    start(2, "storage", [l = log, engine, shards, options] {
      roles::run_storage_server({.epoch = 1,
                                 .tag = kStorageTag,
                                 .shards = shards,
                                 .logs = {l},
                                 .engine = engine,
                                 .name = "ss",
                                 .engine_options = options,
                                 .start_version = 0});
    });
    ss = roles::StorageServerInterface::remote(sim.process(2).address, kStorageTag);
  }
  roles::TLogInterface log;
  roles::StorageServerInterface ss;
  roles::Version last = 0;

  // Commits one version holding `mutations` (all tagged for the server). May suspend.
  roles::Version commit(roles::Version v, std::vector<roles::Mutation> mutations) {
    strata::wire::tlog::TLogCommitRequestT r;
    r.epoch = 1;
    r.prev_version = last;
    r.version = v;
    r.known_committed_version = last;
    for (const roles::Mutation& m : mutations) {
      auto t = std::make_unique<strata::wire::TaggedMutationT>();
      t->tags = {kStorageTag};
      t->mutation = std::make_unique<strata::wire::MutationT>(roles::to_wire(m));
      r.messages.push_back(std::move(t));
    }
    flow::wait(log.commit.get_reply(r));
    last = v;
    return v;
  }
};

inline roles::Mutation set(std::string k, std::string v) {
  return {roles::MutationType::kSet, std::move(k), std::move(v)};
}

// Whether a read should be sent again: its connection broke (a reboot), so it may not have
// arrived. Gives up after 50 tries.
inline bool read_again(flow::ErrorCode e, int attempt) {
  if ((e != flow::ErrorCode::request_maybe_delivered && e != flow::ErrorCode::broken_promise) || attempt >= 50)
    return false;
  flow::wait(flow::delay(std::chrono::milliseconds(100)));
  return true;
}

// The value of `key` at `v` ("-" if absent, "error:<name>"), retrying a connection a reboot
// broke. May suspend.
inline std::string value_at(const roles::StorageServerInterface& ss, const std::string& key, roles::Version v) {
  for (int attempt = 0;; ++attempt) {
    strata::wire::storage::GetValueRequestT r;
    r.key.assign(key.begin(), key.end());
    r.version = v;
    auto f = ss.get_value.get_reply(r);
    const flow::ErrorCode e = outcome(f);
    if (read_again(e, attempt)) continue;
    if (e != flow::ErrorCode::success) return "error:" + std::string(flow::Error(e).name());
    return f.get().present ? std::string(f.get().value.begin(), f.get().value.end()) : "-";
  }
}

// The rows of [b, e) at `v` as "k=v,...", "more" when a limit stopped it, or "error:<name>";
// retrying as value_at. May suspend.
inline std::string range_at(const roles::StorageServerInterface& ss, const std::string& b, const std::string& e,
                            roles::Version v, int rows = 100, bool reverse = false, int bytes = 1 << 20) {
  for (int attempt = 0;; ++attempt) {
    strata::wire::storage::GetKeyValuesRequestT r;
    r.begin.assign(b.begin(), b.end());
    r.end.assign(e.begin(), e.end());
    r.version = v;
    r.limit_rows = rows;
    r.limit_bytes = bytes;
    r.reverse = reverse;
    auto f = ss.get_key_values.get_reply(r);
    const flow::ErrorCode code = outcome(f);
    if (read_again(code, attempt)) continue;
    if (code != flow::ErrorCode::success) return "error:" + std::string(flow::Error(code).name());
    std::string out;
    for (const auto& kv : f.get().rows)
      out += std::string(kv->key.begin(), kv->key.end()) + "=" + std::string(kv->value.begin(), kv->value.end()) + ",";
    if (f.get().more) out += "more";
    return out;
  }
}

}  // namespace roles_testing
