#include "roles/cluster_controller/open_database.h"

#include <utility>

#include "flow/actor.h"
#include "flow/actor_collection.h"
#include "flow/code_probe.h"
#include "flow/combinators.h"

namespace roles {

void serve_open_database(const OpenDatabaseStream& stream, const flow::AsyncVar<ClientGeneration>* published) {
  using OpenDatabaseRequest = net::ReceivedRequest<wire_cc::OpenDatabaseRequestT, wire_cc::OpenDatabaseReplyT>;
  flow::ActorCollection answers;  // each client holds one request at a time; the quota bounds the rest
  for (;;) {
    OpenDatabaseRequest in = flow::wait_next(stream.requests());
    answers.add(flow::spawn([published, in = std::move(in)]() mutable {
      if (in.request.known == published->get().epoch) {
        CODE_PROBE(in.request.known != 0, "the controller holds a client's poll until the next generation");
        flow::wait_any(published->on_change(), flow::delay(kOpenDatabasePollMax));
      }
      in.reply.send(to_wire(published->get()));
    }));
  }
}

}  // namespace roles
