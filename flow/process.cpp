#include "flow/process.h"

#include <cstdlib>

#include "flow/error.h"
#include "flow/runtime.h"
#include "flow/trace_event.h"

namespace flow {

void fail_stop(std::string_view reason) {
  Process& p = current_process();
  TraceEvent(SevWarnAlways, "ProcessFailStop")
      .detail("Reason", reason)
      .detail("Simulated", p.terminator() != nullptr);
  if (IProcessTerminator* t = p.terminator()) {
    t->terminate(p, reason);
    throw Error(ErrorCode::operation_cancelled);
  }
  if (Runtime* rt = Runtime::current()) rt->trace().flush();
  std::_Exit(kFailStopExitCode);
}

}  // namespace flow
