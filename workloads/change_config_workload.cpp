// ChangeConfig — FoundationDB's workload of that name: after a delay drawn from
// [minDelayBeforeChange, maxDelayBeforeChange] it changes the configuration as configMode says
// (role counts: "grv_proxies=N commit_proxies=N logs=N resolvers=N", Database::configure), then asks the
// cluster controller to move the cluster state to the coordinators `coordinators` names ('auto',
// 'random' — a Strata addition that always draws a new set where it can — or addresses
// "a.b.c.d:port,..."), coordinatorChanges times in a row, a few seconds apart. Its check: the
// generation running has the counts asked for (ChangeConfigCountsWrong); the coordinators of the
// last description it was answered with hold a whole cluster state (ChangeConfigStateMissing);
// a reader that knows only a description it left learns where the state went — the old set
// forwards, or holds the move recorded and the read finishes it
// (ChangeConfigOldCoordinatorsNotForwarding); the run's client, which was opened with the first
// description, has followed the cluster to its coordinators now within half a minute
// (ChangeConfigClientNotFollowing); and a transaction gets a read version and reads (the
// database survived the change).
//
// Options: minDelayBeforeChange (s, 0), maxDelayBeforeChange (s, 0; at least the min),
// configMode ('': none; other words than role counts — redundancy, engines — are refused with
// a named error: they need data movement), coordinators ('': none changed),
// coordinatorChanges (1, up to 10).

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "client/database.h"
#include "flow/actor.h"
#include "flow/code_probe.h"
#include "flow/combinators.h"
#include "flow/deterministic_random.h"
#include "flow/trace_event.h"
#include "roles/cluster_controller/cluster_controller_interface.h"
#include "roles/cluster_controller/cluster_state.h"
#include "roles/cluster_controller/recovery.h"
#include "roles/common/cluster_description.h"
#include "roles/coordinator/coordinated_state.h"
#include "workloads/database_cluster.h"
#include "workloads/workload.h"

namespace workloads {
namespace {

using namespace std::chrono_literals;

// Forwards a check follows from a description before it gives up (a later change by another
// workload adds one each).
constexpr int kForwardsFollowedMax = 16;

class ChangeConfigWorkload final : public Workload {
 public:
  explicit ChangeConfigWorkload(WorkloadOptions& o)
      : min_delay_(o.get_seconds("minDelayBeforeChange", 0.0)),
        max_delay_(o.get_seconds("maxDelayBeforeChange", 0.0)),
        coordinators_(o.get_string("coordinators", "")),
        changes_(o.get_int("coordinatorChanges", 1)) {
    o.require(min_delay_ >= flow::Duration::zero(), "minDelayBeforeChange", "must be at least 0 seconds");
    o.require(max_delay_ >= min_delay_, "maxDelayBeforeChange", "must be at least minDelayBeforeChange");
    o.require(changes_ >= 1 && changes_ <= 10, "coordinatorChanges", "must be 1 to 10");
    config_mode_ = o.get_string("configMode", "");
    if (!config_mode_.empty()) {
      std::string why;
      const flow::ErrorOr<roles::RoleCounts> counts = roles::parse_configuration(config_mode_, {}, &why);
      o.require(counts.ok(), "configMode", why);
      if (counts.ok()) counts_ = counts.get();
    }
    if (coordinators_ != "auto" && coordinators_ != "random" && !coordinators_.empty()) {
      const flow::ErrorOr<roles::ClusterDescription> listed = roles::parse_cluster_description("x:y@" + coordinators_);
      o.require(listed.ok(), "coordinators", "must be 'auto', 'random' or addresses a.b.c.d:port separated by commas");
      if (listed.ok()) addresses_ = listed.get().coordinators;
    }
  }

  std::string name() const override { return "ChangeConfig"; }

  void start(WorkloadContext& ctx) override {
    const flow::Time began = flow::now();
    client::Database& db = database(ctx);
    if (ctx.cluster == nullptr) throw flow::Error(flow::ErrorCode::operation_failed);
    const flow::Duration delay = flow::deterministic_random().random_duration(min_delay_, max_delay_ + 1ns);
    flow::wait(flow::delay_until(began + delay));
    if (!config_mode_.empty()) {
      db.configure(config_mode_);
      configured_ = true;
      flow::TraceEvent(flow::SevInfo, "ChangeConfigConfigured").detail("Mode", config_mode_);
    }
    if (coordinators_.empty()) return;
    for (int64_t i = 0; i < changes_; ++i) {
      if (i > 0) flow::wait(flow::delay(5s));
      const roles::ClusterDescription before = ctx.cluster->cluster;
      roles::ClusterDescription after;
      try {
        after = db.change_coordinators(addresses_.empty() ? coordinators_ : "", addresses_);
      } catch (const flow::Error& e) {
        if (e.code() == flow::ErrorCode::operation_cancelled) throw;
        // A refusal (no worker answered, a listed address is not a worker) is the workload's
        // finding, not the database's fault.
        flow::TraceEvent(flow::SevWarn, "ChangeConfigRefused").detail("Error", e);
        continue;
      }
      CODE_PROBE(after.id != before.id, "ChangeConfig moves the coordinators");
      flow::TraceEvent(flow::SevInfo, "ChangeConfigCoordinators")
          .detail("Before", before.to_string())
          .detail("After", after.to_string());
      if (after.id != before.id) {
        ++moves_;
        left_.push_back(before);
      }
      last_ = after;
    }
  }

  bool check(WorkloadContext& ctx) override {
    if (configured_) check_counts(ctx.cluster->current);
    if (!last_) return ok_;
    for (const roles::ClusterDescription& old : left_) {
      // As a process that knows only `old` would: read the cluster state through it. The old
      // set forwards, or (a mover died before a majority of it forwarded) holds the state with
      // the move recorded, which the read finishes. Either way the reader learns where it went.
      std::optional<flow::ErrorCode> ended;
      for (int attempt = 0; attempt < 10; ++attempt) {
        roles::CoordinatedState s(old, std::string(roles::kClusterStateKey));
        ended = flow::ErrorCode::success;
        try {
          roles::read_cluster_state(s);
        } catch (const flow::Error& e) {
          if (e.code() == flow::ErrorCode::operation_cancelled) throw;
          ended = e.code();
          if (e.code() == flow::ErrorCode::coordinators_changed && (!s.forwarded() || s.forwarded()->id == old.id))
            ended = flow::ErrorCode::internal_error;
        }
        if (ended != flow::ErrorCode::coordinated_state_conflict) break;
      }
      CODE_PROBE(ended == flow::ErrorCode::coordinators_changed, "ChangeConfig's check finds the old coordinators lead to the new");
      if (ended != flow::ErrorCode::coordinators_changed) {
        ok_ = false;
        flow::TraceEvent(flow::SevError, "ChangeConfigOldCoordinatorsNotForwarding")
            .detail("Old", old.to_string())
            .detail("Ended", flow::Error(*ended).name());
      }
    }
    check_state(*last_);
    client::Database& db = database(ctx);
    db.run([](client::Transaction& t) { t.get("ChangeConfig"); });
    // The client learns of a move when the controller it asked steps down (a move ends the
    // leadership) and it asks the coordinators it knows again.
    for (int waited = 0; db.cluster().id != ctx.cluster->cluster.id; ++waited) {
      if (waited == 30) {
        ok_ = false;
        flow::TraceEvent(flow::SevError, "ChangeConfigClientNotFollowing")
            .detail("Client", db.cluster().to_string())
            .detail("Cluster", ctx.cluster->cluster.to_string());
        break;
      }
      flow::wait(flow::delay(1s));
    }
    return ok_;
  }

  void metrics(std::vector<std::pair<std::string, double>>& out) const override {
    out.emplace_back("CoordinatorMoves", static_cast<double>(moves_));
  }

 private:
  // The generation running has the counts configured (those asked for; the others as they were).
  void check_counts(const roles::GenerationPlan& plan) {
    const auto wrong = [this](const char* role, int wanted, size_t has) {
      if (wanted == 0 || static_cast<size_t>(wanted) == has) return;
      ok_ = false;
      flow::TraceEvent(flow::SevError, "ChangeConfigCountsWrong").detail("Role", role).detail("Wanted", wanted).detail("Has", static_cast<int64_t>(has));
    };
    wrong("grv_proxies", counts_.grv_proxies, plan.grv_proxies.size());
    wrong("commit_proxies", counts_.commit_proxies, plan.commit_proxies.size());
    wrong("logs", counts_.logs, plan.logs.size());
    wrong("resolvers", counts_.resolvers, plan.resolvers.size());
  }

  // The coordinators of `cluster` (or those it forwards to) hold a whole cluster state. May
  // suspend.
  void check_state(roles::ClusterDescription cluster) {
    for (int hop = 0; hop < kForwardsFollowedMax; ++hop) {
      roles::CoordinatedState s(cluster, std::string(roles::kClusterStateKey));
      std::optional<std::string> held;
      try {
        held = s.peek();
      } catch (const flow::Error& e) {
        if (e.code() != flow::ErrorCode::coordinators_changed || !s.forwarded()) throw;
        CODE_PROBE(true, "ChangeConfig's check follows a later move");
        cluster = *s.forwarded();
        continue;
      }
      const bool whole = held && roles::decode_cluster_state(*held).ok() && !roles::decode_cluster_state(*held).get().moving_to;
      if (!whole) {
        ok_ = false;
        flow::TraceEvent(flow::SevError, "ChangeConfigStateMissing").detail("Cluster", cluster.to_string());
      }
      return;
    }
    ok_ = false;
    flow::TraceEvent(flow::SevError, "ChangeConfigStateMissing").detail("Cluster", cluster.to_string()).detail("Why", "forwards without end");
  }

  flow::Duration min_delay_;
  flow::Duration max_delay_;
  std::string config_mode_;
  roles::RoleCounts counts_;
  bool configured_ = false;
  std::string coordinators_;
  std::vector<flow::NetworkAddress> addresses_;
  int64_t changes_;
  std::optional<roles::ClusterDescription> last_;
  std::vector<roles::ClusterDescription> left_;
  int64_t moves_ = 0;
  bool ok_ = true;
};

}  // namespace

std::unique_ptr<Workload> make_change_config_workload(WorkloadOptions& options) {
  return std::make_unique<ChangeConfigWorkload>(options);
}

}  // namespace workloads
