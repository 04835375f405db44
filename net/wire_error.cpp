#include "net/wire_error.h"

#include "flow/code_probe.h"

namespace net {

using flow::Error;
using flow::ErrorCode;

namespace {

// Codes that describe only the process that raises them.
bool is_local_only(ErrorCode code) {
  switch (code) {
    case ErrorCode::success:
    case ErrorCode::end_of_stream:
    case ErrorCode::operation_cancelled:
    case ErrorCode::future_released:
    case ErrorCode::request_maybe_delivered:
    case ErrorCode::connection_failed:
      return true;
    default:
      return false;
  }
}

}  // namespace

bool error_travels(int32_t code) {
  return flow::is_known_error_code(code) && !is_local_only(static_cast<ErrorCode>(code));
}

Error error_from_wire(int32_t code) {
  CODE_PROBE(!error_travels(code), "a reply carries an error that cannot travel (unexpected)");
  return error_travels(code) ? Error::from_number(code) : Error(ErrorCode::unexpected_remote_error);
}

int32_t error_to_wire(Error e) {
  // Unknown codes go as they are (a newer peer may know them); the requester decides.
  return is_local_only(e.code()) ? static_cast<int32_t>(ErrorCode::broken_promise) : e.number();
}

}  // namespace net
