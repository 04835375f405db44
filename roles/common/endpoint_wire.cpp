#include "roles/common/endpoint_wire.h"

namespace roles {

std::unique_ptr<strata::wire::EndpointT> to_wire(const net::Endpoint& e) {
  auto w = std::make_unique<strata::wire::EndpointT>();
  w->ip = e.address.ip;
  w->port = e.address.port;
  w->token_first = e.token.first;
  w->token_second = e.token.second;
  return w;
}

}  // namespace roles
