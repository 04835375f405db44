#pragma once
// Database — a client's handle on a Strata database (docs/database.md, "client"): the proxies it
// asks for read versions and commits, and a cache of which storage servers hold which keys.
// Transactions are made from it and run through it (Database::run retries them).
//
// Opened from a cluster description (the coordinators' addresses): it finds the cluster
// controller through the coordinators and the current generation's proxies through the
// controller, and keeps up with both (client/cluster_monitor.h), following the cluster to new
// coordinators when the old ones say it moved. A Database made from a generation's interfaces
// (the controller's own, tests) uses those until told of others.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flow/async_var.h"
#include "flow/error.h"
#include "flow/future.h"
#include "roles/cluster_controller/cluster_controller_interface.h"
#include "roles/common/cluster_description.h"
#include "roles/commit_proxy/commit_proxy_interface.h"
#include "roles/grv_proxy/grv_proxy_interface.h"
#include "roles/storage_server/storage_server_interface.h"

namespace client {

class Transaction;

struct ClusterInterfaces {
  std::vector<roles::GrvProxyInterface> grv_proxies;
  std::vector<roles::CommitProxyInterface> commit_proxies;
};

// Where a key's shard lives, as the commit proxies said.
struct ShardLocation {
  std::string begin;
  std::string end;
  std::vector<roles::StorageServerInterface> servers;
};

class Database {
 public:
  // The database whose coordinators `cluster` lists, found and followed from the current process
  // for the Database's life. Transactions wait until its proxies are known. Throws
  // invalid_option_value for a description without coordinators, with one twice or with more
  // than roles::kCoordinatorsMax (parse_cluster_description makes none of these).
  explicit Database(roles::ClusterDescription cluster);
  // The generation whose proxies are `interfaces` (neither list empty), told of others by
  // set_interfaces.
  explicit Database(ClusterInterfaces interfaces);
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Sends what comes next to a new generation's proxies (after a recovery; neither list empty);
  // transactions under way finish with the old ones, or fail retryably.
  void set_interfaces(ClusterInterfaces interfaces);
  // The cluster controller, for lock(), unlock(), change_coordinators() and configure(); none
  // (nullopt) while it is being looked for.
  void set_controller(std::optional<roles::ClusterControllerInterface> controller) { controller_ = std::move(controller); }
  // The coordinators as last followed (empty for a Database made from interfaces).
  const roles::ClusterDescription& cluster() const { return cluster_; }
  void set_cluster(roles::ClusterDescription cluster) { cluster_ = std::move(cluster); }

  // Locks the database for `uid` (docs/database.md, "Database lock"): returns once only
  // lock-aware transactions get read versions and commit, and \xff/dbLocked shows `uid`. Throws invalid_option_value for a uid
  // that cannot name a holder (roles::lock_uid_ok), database_locked if another uid holds the
  // lock, operation_failed if no controller is known within a minute. Locking again with the holder's uid
  // changes nothing. May suspend.
  void lock(std::string_view uid);
  // Unlocks the database locked for `uid`: returns once every transaction may commit again.
  // Unlocking an unlocked database changes nothing; the same errors as lock(). May suspend.
  void unlock(std::string_view uid);

  // Moves the cluster state to other coordinators (docs/database.md, "Changing the
  // coordinators"): to those at `addresses` if any, else as `mode` chooses — "auto" keeps the
  // coordinators while all answer and their count suits the machines, "random" draws a new set.
  // Returns the description of the coordinators after the change (the old one if nothing
  // changed); the old coordinators forward whoever asks them to it. Throws invalid_option_value
  // for another mode, a listed address twice or more than roles::kCoordinatorsMax of them, or
  // one that is not a worker answering now, operation_failed as lock(). A lost request is asked
  // again, so a "random" change may move the state twice. May suspend.
  roles::ClusterDescription change_coordinators(std::string_view mode,
                                                const std::vector<flow::NetworkAddress>& addresses = {});

  // Changes the configuration (docs/database.md, "Changing the configuration"): `text` is
  // FoundationDB's configure words for role counts, "grv_proxies=N commit_proxies=N logs=N
  // resolvers=N" (any of them). Returns once a generation with those counts accepts commits (a recovery).
  // Throws invalid_option_value for other words (roles::parse_configuration says why),
  // operation_failed as lock(). Text that begins with "new" creates the database instead
  // ("new double ssd", roles::parse_new_database): returns once its first generation accepts
  // commits; throws database_already_created if it exists (a creation whose answer was lost is
  // answered so when asked again), not_enough_workers if too few are registered for the copies
  // asked for. May suspend.
  void configure(std::string_view text);

  // The cluster as its controller sees it: a JSON object (docs/status.md). Throws
  // operation_failed as lock(). May suspend.
  std::string controller_status();

  // Runs fn(Transaction&) and commits, retrying on retryable errors (Transaction::on_error)
  // until it commits or throws another error; returns what fn returned. May suspend.
  template <class Fn>
  auto run(Fn fn);

  // The shard holding `key`, from the cache or asked of a commit proxy. May suspend.
  const ShardLocation& location_of(std::string_view key);
  // The shard holding the keys just below `key` (begin < key <= end). REQUIRES: key > "". May
  // suspend.
  const ShardLocation& location_before(std::string_view key);
  // Forgets what the cache says of `key` (a server answered wrong_shard_server).
  void invalidate(std::string_view key);

  // A proxy of the current generation, drawn at random; waits until one is known. May suspend.
  const roles::GrvProxyInterface& grv_proxy();
  const roles::CommitProxyInterface& commit_proxy();

 private:
  // Asks a commit proxy for the shards overlapping [begin, end) (from end back with `reverse`)
  // and caches them. May suspend.
  void fetch_locations(std::string_view begin, std::string_view end, bool reverse);
  const ShardLocation* cached(std::string_view key, bool before) const;

  // Asks the controller to lock (or unlock) for `uid`, again after a lost request. May suspend.
  void change_lock(std::string_view uid, bool lock);
  // Sends `request` to the controller's `stream`: again after a lost request, or to the next
  // controller after the one asked ended (waiting up to a minute for one to be known; then
  // operation_failed). May suspend.
  template <class Request, class Reply>
  Reply ask_controller(net::RequestStream<Request, Reply> roles::ClusterControllerInterface::*stream,
                       const Request& request);

  // Waits until the proxies are known. May suspend.
  void wait_for_interfaces();

  roles::ClusterDescription cluster_;
  ClusterInterfaces interfaces_;
  flow::AsyncVar<uint64_t> interfaces_set_;  // how many times set_interfaces was called
  std::optional<roles::ClusterControllerInterface> controller_;
  std::map<std::string, ShardLocation, std::less<>> locations_;  // by begin
  flow::Future<flow::Void> monitor_;  // last: cancelled before the rest goes
};

}  // namespace client

#include "client/transaction.h"

namespace client {

template <class Fn>
auto Database::run(Fn fn) {
  Transaction t(*this);
  for (;;) {
    std::optional<flow::Error> failed;
    try {
      if constexpr (std::is_void_v<std::invoke_result_t<Fn&, Transaction&>>) {
        fn(t);
        t.commit();
        return;
      } else {
        auto result = fn(t);
        t.commit();
        return result;
      }
    } catch (const flow::Error& e) {
      if (e.code() == flow::ErrorCode::operation_cancelled) throw;
      failed = e;
    }
    t.on_error(*failed);  // waits (backoff) and resets, or rethrows
  }
}

}  // namespace client
