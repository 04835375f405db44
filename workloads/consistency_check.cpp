#include "workloads/consistency_check.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "client/database.h"
#include "flow/actor.h"
#include "flow/code_probe.h"
#include "flow/combinators.h"
#include "flow/deterministic_random.h"
#include "flow/trace_event.h"
#include "roles/common/shard_map.h"
#include "workloads/database_cluster.h"

namespace workloads {
namespace {

using roles::Version;
namespace ws = strata::wire::storage;

// Attempts that must start over (a read version too old, a server that moved on, a recovery under
// way) are made for this long: a recovery takes seconds, and the check must outlast one.
constexpr flow::Duration kRetryFor = std::chrono::seconds(30);

// A read that could not finish at this version (an unreachable server, a version gone too old
// or not reached): the check starts over at a new one.
struct TryAgain {};

struct Shard {
  std::string begin, end;
  std::vector<roles::StorageServerRef> refs;
  std::vector<roles::StorageServerInterface> servers;
  std::vector<std::string> names;  // "ip:port tag N", for the events
};

using Rows = std::vector<std::pair<std::string, std::string>>;

std::string as_string(const std::vector<uint8_t>& b) { return std::string(b.begin(), b.end()); }

bool retryable(flow::ErrorCode c) {
  return c == flow::ErrorCode::broken_promise || c == flow::ErrorCode::request_maybe_delivered ||
         c == flow::ErrorCode::future_version || c == flow::ErrorCode::transaction_too_old ||
         c == flow::ErrorCode::endpoint_queue_full || c == flow::ErrorCode::connection_failed ||
         c == flow::ErrorCode::stale_epoch;  // a recovery ended the generation asked
}

// Waits for `f`; TryAgain for an error a new attempt may cure. May suspend.
template <class T>
T await(flow::Future<T> f) {
  try {
    return flow::wait(f);
  } catch (const flow::Error& e) {
    if (e.code() == flow::ErrorCode::operation_cancelled || !retryable(e.code())) throw;
    throw TryAgain{};
  }
}

class Checker {
 public:
  explicit Checker(client::Database& db) : db_(db) {}

  // Throws TryAgain when the attempt must start over. May suspend.
  bool attempt() {
    client::Transaction t(db_);
    t.set_lock_aware(true);  // it checks a locked database too
    try {
      version_ = t.get_read_version();
    } catch (const flow::Error& e) {
      if (e.code() == flow::ErrorCode::operation_cancelled || !retryable(e.code())) throw;
      throw TryAgain{};
    }
    const std::vector<Shard> shards = shard_map();
    if (shards.empty()) return false;
    Rows whole;
    for (const Shard& s : shards) {
      for (size_t i = 0; i < s.servers.size(); ++i) {
        std::optional<Rows> rows = check_server(s, s.servers[i], s.names[i]);
        if (!rows) return false;
        if (i == 0) whole.insert(whole.end(), rows->begin(), rows->end());
      }
    }
    // The client sees the servers' shards end to end.
    Rows seen;
    try {
      t.set_access_system_keys(true);
      for (std::string from;;) {
        const client::RangeResult r = t.get_range(from, roles::kKeyspaceEnd, {.rows = 1000}, true);
        for (const client::KeyValue& kv : r.rows) seen.emplace_back(kv.key, kv.value);
        if (!r.more || r.rows.empty()) break;
        from = r.rows.back().key + '\0';
      }
    } catch (const flow::Error& e) {
      if (e.code() == flow::ErrorCode::operation_cancelled ||
          !(retryable(e.code()) || e.code() == flow::ErrorCode::wrong_shard_server))
        throw;
      throw TryAgain{};
    }
    if (seen != whole) {
      flow::TraceEvent(flow::SevError, "ConsistencyCheckClientDiffers")
          .detail("Version", version_)
          .detail("ClientRows", static_cast<int64_t>(seen.size()))
          .detail("ServerRows", static_cast<int64_t>(whole.size()));
      return false;
    }
    if (!system_keys_hold(shards, whole)) return false;
    rows_checked_ = static_cast<int64_t>(whole.size());
    return true;
  }

  // Whether \xff/keyServers/ and \xff/serverKeys/ hold the map the proxies give out, exactly.
  static bool system_keys_hold(const std::vector<Shard>& shards, const Rows& rows) {
    std::vector<roles::Shard> map_shards;
    for (const Shard& s : shards) map_shards.push_back({{s.begin, s.end}, s.refs});
    const flow::ErrorOr<roles::ShardMap> map = roles::ShardMap::make(map_shards);
    if (!map.ok()) return false;  // checked as coherent above
    Rows expected;
    for (const roles::Mutation& m : roles::shard_map_mutations(map.get())) expected.emplace_back(m.param1, m.param2);
    std::sort(expected.begin(), expected.end());
    Rows held;
    for (const auto& row : rows)
      if (row.first.starts_with(roles::kKeyServersPrefix) || row.first.starts_with(roles::kServerKeysPrefix))
        held.push_back(row);
    if (held == expected) return true;
    flow::TraceEvent(flow::SevError, "ConsistencyCheckSystemShardMapDiffers")
        .detail("Held", static_cast<int64_t>(held.size()))
        .detail("Expected", static_cast<int64_t>(expected.size()))
        .detail("FirstHeld", held.empty() ? std::string() : held.front().first)
        .detail("FirstExpected", expected.empty() ? std::string() : expected.front().first);
    return false;
  }

  int64_t rows_checked() const { return rows_checked_; }

 private:
  std::vector<Shard> shard_map() {
    roles::wire_proxy::GetKeyServerLocationsRequestT request;
    request.end.assign(roles::kKeyspaceEnd.begin(), roles::kKeyspaceEnd.end());
    request.limit = 1'000'000;
    const auto reply = await(db_.commit_proxy().get_key_server_locations.get_reply(request));
    std::vector<Shard> shards;
    std::string expected_begin;
    for (const auto& l : reply.shards) {
      if (!l) return incoherent("a missing shard", expected_begin);
      Shard s{as_string(l->begin), as_string(l->end), {}, {}, {}};
      if (s.begin != expected_begin || !(s.begin < s.end)) return incoherent("a gap or an overlap", s.begin);
      for (const auto& a : l->servers) {
        if (!a) return incoherent("a missing server", s.begin);
        s.refs.push_back({{a->ip, a->port}, a->tag});
        s.servers.push_back(roles::StorageServerInterface::remote({a->ip, a->port}, a->tag));
        s.names.push_back(fmt::format("{} tag {}", flow::NetworkAddress{a->ip, a->port}.to_string(), a->tag));
      }
      if (s.servers.empty()) return incoherent("a shard without a server", s.begin);
      expected_begin = s.end;
      shards.push_back(std::move(s));
    }
    if (expected_begin != roles::kKeyspaceEnd) return incoherent("an end short of the keyspace's", expected_begin);
    return shards;
  }

  static std::vector<Shard> incoherent(const char* what, const std::string& at) {
    flow::TraceEvent(flow::SevError, "ConsistencyCheckShardMapIncoherent").detail("What", what).detail("At", at);
    return {};
  }

  Rows read_range(const roles::StorageServerInterface& server, const std::string& b, const std::string& e,
                  int32_t rows, bool reverse) {
    Rows out;
    std::string lo = b, hi = e;
    for (;;) {
      ws::GetKeyValuesRequestT r;
      r.begin.assign(lo.begin(), lo.end());
      r.end.assign(hi.begin(), hi.end());
      r.version = version_;
      r.limit_rows = rows;
      r.limit_bytes = 1 << 20;
      r.reverse = reverse;
      const auto reply = await(server.get_key_values.get_reply(r));
      for (const auto& kv : reply.rows)
        if (kv) out.emplace_back(as_string(kv->key), as_string(kv->value));
      if (!reply.more || reply.rows.empty()) break;
      if (reverse) hi = out.back().first;
      else lo = out.back().first + '\0';
    }
    if (reverse) std::reverse(out.begin(), out.end());
    return out;
  }

  bool differs(const std::string& server, const char* how, const std::string& key, const std::string& got,
               const std::string& expected) {
    flow::TraceEvent(flow::SevError, "ConsistencyCheckServerDisagrees")
        .detail("Server", server)
        .detail("How", how)
        .detail("Key", key)
        .detail("Got", got)
        .detail("Expected", expected)
        .detail("Version", version_);
    return false;
  }

  // The shard's rows if the server agrees with itself every way; nullopt after a SevError.
  std::optional<Rows> check_server(const Shard& s, const roles::StorageServerInterface& server, const std::string& name) {
    auto& rng = flow::deterministic_random();
    const Rows rows = read_range(server, s.begin, s.end, 1'000'000, false);
    for (size_t i = 0; i < rows.size(); ++i) {
      if (rows[i].first < s.begin || rows[i].first >= s.end || (i > 0 && !(rows[i - 1].first < rows[i].first))) {
        differs(name, "a row out of its shard or out of order", rows[i].first, "", "");
        return std::nullopt;
      }
    }
    const Rows reverse = read_range(server, s.begin, s.end, 1'000'000, true);
    if (reverse != rows) {
      differs(name, "reverse range read", s.begin, std::to_string(reverse.size()), std::to_string(rows.size()));
      return std::nullopt;
    }
    const int32_t small = static_cast<int32_t>(rng.random_int(1, 50));
    if (read_range(server, s.begin, s.end, small, false) != rows ||
        read_range(server, s.begin, s.end, small, true) != rows) {
      differs(name, "range reads in small pieces", s.begin, std::to_string(small), std::to_string(rows.size()));
      return std::nullopt;
    }
    for (const auto& [key, value] : rows) {
      ws::GetValueRequestT r;
      r.key.assign(key.begin(), key.end());
      r.version = version_;
      const auto reply = await(server.get_value.get_reply(r));
      if (!reply.present || as_string(reply.value) != value) {
        differs(name, "point read", key, reply.present ? as_string(reply.value) : "(absent)", value);
        return std::nullopt;
      }
    }
    ws::GetKeyRequestT first;
    first.selector = std::make_unique<ws::KeySelectorT>();
    first.selector->key.assign(s.begin.begin(), s.begin.end());
    first.selector->offset = 1;
    first.version = version_;
    const auto selected = await(server.get_key.get_reply(first));
    const bool selector_right = rows.empty() ? !selected.resolved && as_string(selected.key) == s.end && selected.offset == 1
                                             : selected.resolved && as_string(selected.key) == rows.front().first;
    if (!selector_right) {
      differs(name, "key selector from the shard's start", as_string(selected.key), std::to_string(selected.resolved),
              rows.empty() ? s.end : rows.front().first);
      return std::nullopt;
    }
    if (s.end < roles::kKeyspaceEnd) {
      ws::GetValueRequestT past;
      past.key.assign(s.end.begin(), s.end.end());
      past.version = version_;
      bool refused = false;
      try {
        await(server.get_value.get_reply(past));
      } catch (const flow::Error& e) {
        if (e.code() != flow::ErrorCode::wrong_shard_server) throw;
        refused = true;
      }
      if (!refused) {
        differs(name, "a key past its shard", s.end, "an answer", "wrong_shard_server");
        return std::nullopt;
      }
    }
    return rows;
  }

  client::Database& db_;
  Version version_ = 0;
  int64_t rows_checked_ = 0;
};

class ConsistencyCheckWorkload final : public Workload {
 public:
  explicit ConsistencyCheckWorkload(WorkloadOptions&) {}
  std::string name() const override { return "ConsistencyCheck"; }
  void start(WorkloadContext&) override {}
  bool check(WorkloadContext& ctx) override { return check_database_consistency(ctx); }
};

}  // namespace

bool check_database_consistency(WorkloadContext& ctx) {
  if (!ctx.database || !*ctx.database) return true;
  Checker checker(**ctx.database);
  const flow::Time give_up = flow::now() + kRetryFor;
  for (int attempt = 1; flow::now() < give_up; ++attempt) {
    try {
      const bool ok = checker.attempt();
      if (ok)
        flow::TraceEvent(flow::SevInfo, "ConsistencyCheckPassed").detail("Rows", checker.rows_checked()).detail("Attempts", attempt);
      return ok;
    } catch (const TryAgain&) {
      CODE_PROBE(true, "consistency check starts over at a new version");
    }
    flow::wait(flow::delay(std::chrono::milliseconds(100)));
  }
  flow::TraceEvent(flow::SevError, "ConsistencyCheckGaveUp").detail("Seconds", flow::to_seconds(kRetryFor));
  return false;
}

std::unique_ptr<Workload> make_consistency_check_workload(WorkloadOptions& options) {
  return std::make_unique<ConsistencyCheckWorkload>(options);
}

}  // namespace workloads
