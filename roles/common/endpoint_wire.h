#pragma once
// An endpoint in its wire form (strata.wire.Endpoint, roles/common/types.fbs), for the roles'
// interfaces that messages carry. Reading one from the network never trusts it whole: a missing
// endpoint is noted, and the interface it belongs to refused.

#include <memory>
#include <optional>
#include <utility>

#include "net/endpoint.h"
#include "roles/common/types_generated.h"

namespace roles {

std::unique_ptr<strata::wire::EndpointT> to_wire(const net::Endpoint& e);

// Reads the endpoints of one interface: `whole` turns false at the first missing one.
struct EndpointReader {
  bool whole = true;
  template <class Stream>
  Stream operator()(const std::unique_ptr<strata::wire::EndpointT>& w) {
    if (!w) {
      whole = false;
      return Stream(net::Endpoint{});
    }
    return Stream(net::Endpoint{{w->ip, w->port}, {w->token_first, w->token_second}});
  }
};

// `t`, if every endpoint `r` read was present.
template <class T>
std::optional<T> if_whole(const EndpointReader& r, T t) {
  if (!r.whole) return std::nullopt;
  return t;
}

}  // namespace roles
