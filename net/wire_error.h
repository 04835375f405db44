#pragma once
// Which errors may cross the wire in an error reply, and what a received code stands for.
//
// An error reply carries a code from flow's table (flow/error_codes.def). Most codes mean the same
// thing at the requester as at the server (not_committed, transaction_too_old, broken_promise,
// ...). A few only ever describe the process that raises them — a cancelled actor, a connection
// this process saw fail, the end of a local stream — and a peer that sends one (by mistake or on
// purpose) must not make the requester believe, say, that it was cancelled and must unwind. Such a
// code, and any code this build does not know, reads as unexpected_remote_error.

#include <cstdint>

#include "flow/error.h"

namespace net {

// Whether `code` means the same thing at the requester as at the server that sent it.
bool error_travels(int32_t code);
// The error an error reply with `code` stands for at the requester.
flow::Error error_from_wire(int32_t code);
// The code a server sends for `e`: a local-only error (the serving actor was cancelled, its own
// request to someone else was lost) becomes broken_promise, as if the reply had been dropped;
// any other code goes as it is.
int32_t error_to_wire(flow::Error e);

}  // namespace net
