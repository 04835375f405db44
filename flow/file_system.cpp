#include "flow/file_system.h"

#include <optional>

#include "flow/actor.h"
#include "flow/code_probe.h"
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

// Whether `e`, from a sync, leaves the durable state of a file unknown.
bool is_sync_failure(const Error& e) {
  return e.code() == ErrorCode::io_error || e.code() == ErrorCode::io_timeout;
}

// Ends the process: the durable state of `file` is unknown. Called outside any catch block, since
// ending a simulated process switches fibers (a fiber switch inside a handler would hand the
// caught exception to another actor).
[[noreturn]] void fail_stop_after(const Error& e, const IAsyncFile& file) {
  CODE_PROBE(e.code() == ErrorCode::io_error, "a sync's I/O error fail-stops the process");
  CODE_PROBE(e.code() == ErrorCode::io_timeout, "a sync's timeout fail-stops the process");
  TraceEvent(SevWarnAlways, "DurableSyncFailed").detail("File", file.path()).error(e);
  fail_stop("DurableSyncFailed");
}

}  // namespace

void sync_or_fail_stop(IAsyncFile& file) {
  std::optional<Error> failed;
  try {
    wait(file.sync());
  } catch (const Error& e) {
    if (!is_sync_failure(e)) throw;
    failed = e;
  }
  if (failed) fail_stop_after(*failed, file);
}

void write_and_sync_or_fail_stop(IAsyncFile& file, std::span<const uint8_t> data, int64_t offset) {
  std::optional<Error> failed;
  try {
    wait(file.write_and_sync(data, offset));
  } catch (const Error& e) {
    if (!is_sync_failure(e)) throw;
    failed = e;
  }
  if (failed) fail_stop_after(*failed, file);
}

}  // namespace flow
