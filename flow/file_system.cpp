#include "flow/file_system.h"

#include "flow/actor.h"
#include "flow/error.h"
#include "flow/process.h"
#include "flow/trace_event.h"

namespace flow {

Future<Void> IAsyncFile::write_and_sync(std::span<const uint8_t> data, int64_t offset) {
  Future<Void> written = write(data, offset);  // takes its copy of `data` now
  return spawn([this, written] {
    wait(written);
    wait(sync());
  });
}

namespace {

// Ends the process if `e` leaves the durable state of `file` unknown.
void fail_stop_if_sync_failed(const Error& e, const IAsyncFile& file) {
  if (e.code() != ErrorCode::io_error && e.code() != ErrorCode::io_timeout) return;
  TraceEvent(SevWarnAlways, "DurableSyncFailed").detail("File", file.path()).error(e);
  fail_stop("DurableSyncFailed");
}

}  // namespace

void sync_or_fail_stop(IAsyncFile& file) {
  try {
    wait(file.sync());
  } catch (const Error& e) {
    fail_stop_if_sync_failed(e, file);
    throw;
  }
}

void write_and_sync_or_fail_stop(IAsyncFile& file, std::span<const uint8_t> data, int64_t offset) {
  try {
    wait(file.write_and_sync(data, offset));
  } catch (const Error& e) {
    fail_stop_if_sync_failed(e, file);
    throw;
  }
}

}  // namespace flow
