#pragma once
// INetwork, IConnection, IListener — the byte-stream network a process sees.
//
// The simulated world (sim/) and the real world (net/asio/) implement these; roles and the RPC
// layer (net/) use only these. Connections are reliable, ordered byte streams until they fail;
// a failure surfaces as connection_failed from the pending and every later operation. Every
// method that returns a Future may complete later; a buffer passed in must stay valid until that
// future is ready.

#include <compare>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "flow/future.h"
#include "flow/network_address.h"

namespace flow {

class IConnection {
 public:
  virtual ~IConnection() = default;

  // Reads at least one byte into `buffer` and returns how many. Throws connection_failed when
  // the connection fails or the peer closed it. At most one read may be outstanding.
  virtual Future<size_t> read_some(std::span<uint8_t> buffer) = 0;
  // Ready once all of `data` has been handed to the network (not once the peer has it).
  // At most one write may be outstanding.
  virtual Future<Void> write(std::span<const uint8_t> data) = 0;
  // Closes the connection; outstanding and later operations fail with connection_failed.
  virtual void close() = 0;

  virtual NetworkAddress peer_address() const = 0;
};

class IListener {
 public:
  virtual ~IListener() = default;
  // The next incoming connection. May be called again once the previous accept is ready.
  virtual Future<std::shared_ptr<IConnection>> accept() = 0;
  virtual NetworkAddress local_address() const = 0;
  virtual void close() = 0;
};

class INetwork {
 public:
  virtual ~INetwork() = default;
  // A connection to `peer`; throws connection_failed if it cannot be made.
  virtual Future<std::shared_ptr<IConnection>> connect(NetworkAddress peer) = 0;
  // Listens on `local`; throws bind_failed if the address is taken or not this process's.
  virtual std::shared_ptr<IListener> listen(NetworkAddress local) = 0;
};

}  // namespace flow
