#include "client/cluster_monitor.h"

#include <optional>
#include <string>

#include "client/database.h"
#include "flow/actor.h"
#include "flow/code_probe.h"
#include "flow/combinators.h"
#include "flow/deterministic_random.h"
#include "flow/trace_event.h"
#include "roles/cluster_controller/cluster_controller_interface.h"
#include "roles/cluster_controller/leader_record.h"
#include "roles/common/cluster_description.h"
#include "roles/coordinator/coordinated_state.h"

using namespace std::chrono_literals;

namespace client {

void monitor_cluster(Database& db) {
  std::optional<roles::CoordinatedState> reg;
  for (;;) {
    roles::ClusterDescription cluster = db.cluster();
    const std::optional<roles::LeaderInfo> leader = roles::look_for_leader(&cluster, &reg, "Client");
    if (cluster != db.cluster()) db.set_cluster(cluster);
    if (leader) {
      // The newest generation this leader told of: each leader is asked afresh, so that one
      // controller's word (an epoch from a damaged or hostile one) binds nothing after it.
      uint64_t known = 0;
      const roles::ClusterControllerInterface controller = roles::cluster_controller_endpoints(&leader->address);
      db.set_controller(controller);
      for (;;) {
        roles::wire_cc::OpenDatabaseRequestT request;
        request.known = known;
        std::optional<roles::wire_cc::OpenDatabaseReplyT> reply;
        try {
          // A little longer than the controller holds a request, for the message's way there and back.
          reply = flow::wait(flow::timeout(controller.open_database.get_reply(request), roles::kOpenDatabasePollMax + 1s));
        } catch (const flow::Error& e) {
          if (e.code() == flow::ErrorCode::operation_cancelled) throw;
          CODE_PROBE(true, "a client's controller is gone: it looks for the leader again");
          flow::TraceEvent(flow::SevInfo, "ClientControllerLost").detail("Leader", leader->address.to_string()).detail("Error", e);
          break;
        }
        if (!reply) {
          CODE_PROBE(true, "a client's controller is silent: it looks for the leader again");
          flow::TraceEvent(flow::SevInfo, "ClientControllerSilent").detail("Leader", leader->address.to_string());
          break;
        }
        const std::optional<roles::ClientGeneration> g = roles::from_wire(*reply);
        if (!g) {
          flow::TraceEvent(flow::SevWarnAlways, "ClientOpenDatabaseMalformed").detail("Leader", leader->address.to_string());
          break;
        }
        // The controller leads among the coordinators it names: a client that reached it through
        // older ones (its process led there too) learns of the move from it.
        if (flow::ErrorOr<roles::ClusterDescription> said = roles::parse_cluster_description(g->cluster);
            !g->cluster.empty() && said.ok() && said.get().id != db.cluster().id) {
          CODE_PROBE(true, "a client learns where the cluster moved from its controller");
          flow::TraceEvent(flow::SevInfo, "ClientClusterFollowed")
              .detail("From", db.cluster().to_string())
              .detail("To", g->cluster)
              .detail("Leader", leader->address.to_string());
          db.set_cluster(std::move(said.get()));
        }
        if (g->epoch <= known) {
          // A controller holds a poll that knows its generation; one that answers at once with
          // nothing newer (too many polls held, or it does not hold) is asked again a little later.
          CODE_PROBE(true, "a client's poll is answered with nothing newer");
          flow::wait(flow::delay(kLeaderLookAgain));
          continue;
        }
        known = g->epoch;
        flow::TraceEvent(flow::SevInfo, "ClientGenerationFound")
            .detail("Epoch", static_cast<int64_t>(known))
            .detail("Leader", leader->address.to_string())
            .detail("GrvProxies", static_cast<int64_t>(g->grv_proxies.size()))
            .detail("CommitProxies", static_cast<int64_t>(g->commit_proxies.size()));
        db.set_interfaces({g->grv_proxies, g->commit_proxies});
      }
      db.set_controller(std::nullopt);
    }
    flow::wait(flow::delay(kLeaderLookAgain + flow::deterministic_random().random_duration(flow::Duration::zero(), kLeaderLookAgain)));
  }
}

}  // namespace client
