#include "roles/cluster_controller/open_database.h"

#include <utility>

#include "flow/actor.h"
#include "flow/actor_collection.h"
#include "flow/code_probe.h"
#include "flow/combinators.h"
#include "flow/trace_event.h"

namespace roles {

void serve_open_database(const OpenDatabaseStream& stream, const flow::AsyncVar<ClientGeneration>* published) {
  using OpenDatabaseRequest = net::ReceivedRequest<wire_cc::OpenDatabaseRequestT, wire_cc::OpenDatabaseReplyT>;
  flow::ActorCollection held;
  bool full = false;  // traced once each time the bound is reached
  for (;;) {
    OpenDatabaseRequest in = flow::wait_next(stream.requests());
    if (in.request.known < published->get().epoch) {
      in.reply.send(to_wire(published->get()));
      continue;
    }
    if (held.size() >= kOpenDatabaseHeldMax) {
      CODE_PROBE(true, "the controller holds as many polls as it may: it answers at once");
      if (!full) flow::TraceEvent(flow::SevWarnAlways, "OpenDatabasePollsFull").detail("Held", static_cast<int64_t>(held.size()));
      full = true;
      in.reply.send(to_wire(published->get()));
      continue;
    }
    full = false;
    CODE_PROBE(in.request.known != 0, "the controller holds a client's poll until the next generation");
    held.add(flow::spawn([published, in = std::move(in)]() mutable {
      flow::wait_any(published->on_change(), flow::delay(kOpenDatabasePollMax));
      in.reply.send(to_wire(published->get()));
    }));
  }
}

}  // namespace roles
