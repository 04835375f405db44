// The GRV proxy role (docs/database.md, "GRV proxy"): read-version requests are gathered into
// batches, and each batch costs one GetLiveCommittedVersion of the master. A read version is the
// newest version the master knows committed, asked for after every request of the batch
// arrived: so a transaction started after another's commit was acknowledged reads at or after
// that commit.

#include <algorithm>
#include <chrono>
#include <memory>
#include <utility>
#include <vector>

#include "flow/actor.h"
#include "flow/actor_collection.h"
#include "flow/async_trigger.h"
#include "flow/assert.h"
#include "flow/buggify.h"
#include "flow/code_probe.h"
#include "flow/combinators.h"
#include "flow/deterministic_random.h"
#include "flow/trace_event.h"
#include "roles/grv_proxy/grv_proxy_interface.h"

namespace roles {

namespace {

using namespace std::chrono_literals;

// A batch closes as soon as fewer than kBatchesInFlightMax batches wait on the master (at once
// when the proxy is idle), else when one of them is answered, or this long after its first
// request at most: under load the requests of a busy moment share one round trip to the master,
// and a quiet proxy adds no wait.
constexpr size_t kBatchesInFlightMax = 2;
constexpr flow::Duration kBatchIntervalMax = 5ms;
// Requests in one batch at most (a flood is answered in several).
constexpr size_t kBatchMax = 10'000;
// Backoff between attempts to reach the master.
constexpr flow::Duration kRetryDelayMin = 10ms;
constexpr flow::Duration kRetryDelayMax = 1s;

using Received =
    net::ReceivedRequest<wire_grv::GetReadVersionRequestT, wire_grv::GetReadVersionReplyT>;

enum class GrvProxyPhase { kStarting, kServing };

class GrvProxy {
 public:
  explicit GrvProxy(const GrvProxyInit& init) : init_(init) {}

  void start() {
    phase_ = GrvProxyPhase::kServing;
    flow::TraceEvent(flow::SevInfo, "GrvProxyStarted")
        .detail("Epoch", static_cast<int64_t>(init_.epoch));
  }

  // Keeps a batch open while the proxy's batches in flight are at their bound (buggified: a
  // random while). May suspend.
  void hold_open() {
    if (flow::buggify()) {
      flow::wait(flow::delay(flow::deterministic_random().random_duration(0ms, 20ms)));
      return;
    }
    const flow::Time deadline = flow::now() + kBatchIntervalMax;
    while (in_flight_ >= kBatchesInFlightMax && flow::now() < deadline)
      flow::wait_any(batch_done_.on_trigger(), flow::delay_until(deadline));
    flow::yield();  // what already arrived joins
  }

  // Counts a batch from its close to its answer.
  struct InFlight {
    explicit InFlight(GrvProxy& p) : proxy(p) { ++proxy.in_flight_; }
    ~InFlight() {
      --proxy.in_flight_;
      proxy.batch_done_.trigger();
    }
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;
    GrvProxy& proxy;
  };
  size_t batch_max() const {
    return flow::buggify() ? static_cast<size_t>(flow::deterministic_random().random_int(1, 4))
                           : kBatchMax;
  }

  // Asks the master for the live committed version, and every log whether the epoch still
  // commits, until they answer, and answers `batch` with the version. Ends with stale_epoch
  // (answered to the batch too) if the master's epoch is not ours or a log is locked.
  // May suspend.
  void answer(std::vector<Received> batch) {
    // Pair: a batch's version is never below one already answered when it opened.
    const Version floor = answered_max_;
    flow::Duration backoff = kRetryDelayMin;
    for (;;) {
      wire_master::GetLiveCommittedVersionRequestT request;
      request.epoch = init_.epoch;
      std::optional<flow::Error> failed;
      Version version = 0;
      try {
        // Every log must still take commits of this epoch when the batch is answered: once a
        // recovery has locked one, a newer generation may have committed what the master here
        // never heard of, and a version from here would miss it (docs/database.md, "Recovery").
        wire_tlog::TLogConfirmRequestT confirm;
        confirm.epoch = init_.epoch;
        std::vector<flow::Future<wire_tlog::TLogConfirmReplyT>> confirmed;
        for (const TLogInterface& log : init_.logs) confirmed.push_back(log.confirm.get_reply(confirm));
        const size_t logs = confirmed.size();
        flow::Future<flow::Void> all_confirmed = flow::quorum(std::move(confirmed), logs);
        try {
          version = flow::wait(init_.master.get_live_committed_version.get_reply(request)).version;
        } catch (const flow::Error& e) {
          if (e.code() == flow::ErrorCode::operation_cancelled) throw;
          failed = e;
        }
        // Whatever the master said, a locked log means the epoch is over.
        flow::wait(all_confirmed);
      } catch (const flow::Error& e) {
        if (e.code() == flow::ErrorCode::operation_cancelled) throw;
        // A log's other errors (it restarts after a disk error: broken_promise; a lost
        // connection) are asked again; only the master's broken_promise means it is gone.
        if (e.code() == flow::ErrorCode::stale_epoch) failed = e;
        else if (!failed) failed = flow::Error(flow::ErrorCode::request_maybe_delivered);
      }
      if (!failed) {
        if (version < floor) {
          flow::TraceEvent(flow::SevError, "GrvProxyReadVersionWentBack")
              .detail("Version", version)
              .detail("Answered", floor);
          return;  // the batch's requests break: no client gets a version that went back
        }
        answered_max_ = std::max(answered_max_, version);
        ++batches_answered_;
        wire_grv::GetReadVersionReplyT reply;
        reply.version = version;
        for (Received& in : batch) {
          if (!init_.lock_uid.empty() && !in.request.lock_aware) {
            CODE_PROBE(true, "GRV proxy refuses a read version of a locked database");
            in.reply.send_error(flow::Error(flow::ErrorCode::database_locked));
          } else {
            in.reply.send(reply);
          }
        }
        return;
      }
      if (failed->code() == flow::ErrorCode::broken_promise) {
        // The master's process restarted without it: it is gone for good, and so is the epoch.
        CODE_PROBE(true, "GRV proxy ends when its master is gone");
        flow::TraceEvent(flow::SevWarn, "GrvProxyMasterGone").detail("Epoch", static_cast<int64_t>(init_.epoch));
        for (Received& in : batch) in.reply.send_error(flow::Error(flow::ErrorCode::stale_epoch));
        throw *failed;
      }
      if (failed->code() == flow::ErrorCode::stale_epoch) {
        flow::TraceEvent(flow::SevWarn, "GrvProxyEpochEnded")
            .detail("Epoch", static_cast<int64_t>(init_.epoch));
        for (Received& in : batch) in.reply.send_error(*failed);
        throw *failed;
      }
      CODE_PROBE(true, "GRV proxy retries the master");
      flow::TraceEvent(flow::SevWarn, "GrvProxyMasterUnreachable")
          .detail("Error", failed->name())
          .detail("BackoffSeconds", flow::to_seconds(backoff));
      flow::wait(flow::delay(backoff));
      backoff = std::min(backoff * 2, kRetryDelayMax);
    }
  }

  void check_invariants() const {
    ASSERT(phase_ == GrvProxyPhase::kServing);
    ASSERT_GE(answered_max_, 0);
  }

 private:
  GrvProxyInit init_;
  GrvProxyPhase phase_ = GrvProxyPhase::kStarting;
  Version answered_max_ = 0;
  int64_t batches_answered_ = 0;
  size_t in_flight_ = 0;  // batches closed and not yet answered
  flow::AsyncTrigger batch_done_;
};

// Gathers requests into batches and starts answering each as it closes. May suspend.
void gather(const GetReadVersionStream& stream, GrvProxy& proxy, flow::ActorCollection& batches) {
  const auto requests = stream.requests();
  for (;;) {
    std::vector<Received> batch;
    batch.push_back(flow::wait_next(requests));
    if (batch.back().request.priority != wire_grv::ReadVersionPriority::Immediate) {
      proxy.hold_open();
    } else {
      CODE_PROBE(true, "GRV proxy closes a batch at once for an immediate request");
    }
    const size_t most = proxy.batch_max();
    while (requests.is_ready() && batch.size() < most) batch.push_back(flow::wait_next(requests));
    CODE_PROBE(batch.size() > 1, "GRV proxy answers several requests with one master request");
    batches.add(flow::spawn([&proxy, b = std::move(batch), counted = std::make_shared<GrvProxy::InFlight>(proxy)]() mutable {
      proxy.answer(std::move(b));
      counted.reset();  // answered: the next batch may close
      proxy.check_invariants();
    }));
  }
}

}  // namespace

void run_grv_proxy(GrvProxyInterface interface, GrvProxyInit init) {
  GrvProxy proxy(init);
  proxy.start();
  flow::ActorCollection batches;
  batches.add(flow::spawn([&] { gather(interface.get_read_version, proxy, batches); }));
  flow::wait(batches.get_result());
}

}  // namespace roles
