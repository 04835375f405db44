// The master role (docs/database.md, "master (sequencer)"): hands each commit batch its
// (prev_version, version), answers each commit proxy's requests in their number order and a
// repeated request with the reply it had, and keeps the newest committed version the proxies
// report for the GRV proxies. The version arithmetic is CommitVersions'.

#include <map>
#include <utility>

#include "flow/actor.h"
#include "flow/actor_collection.h"
#include "flow/assert.h"
#include "flow/buggify.h"
#include "flow/code_probe.h"
#include "flow/combinators.h"
#include "flow/trace_event.h"
#include "roles/master/commit_versions.h"
#include "roles/master/master_interface.h"

namespace roles {

namespace {

// Commit proxies one master serves; past this, a peer is inventing proxy ids.
constexpr size_t kProxiesMax = 256;
// Requests of one proxy held for their turn, and answers kept for its retries. A proxy has a few
// batches in flight; past these, it is flooding or has stopped saying what it processed.
constexpr size_t kWaitingPerProxyMax = 1000;
constexpr size_t kAnswersPerProxyMax = 1000;

using ReceivedGetCommitVersion =
    net::ReceivedRequest<wire_master::GetCommitVersionRequestT, wire_master::GetCommitVersionReplyT>;
using ReceivedReportCommitted =
    net::ReceivedRequest<wire_master::ReportCommittedRequestT, wire_master::ReportCommittedReplyT>;
using ReceivedGetLiveCommittedVersion =
    net::ReceivedRequest<wire_master::GetLiveCommittedVersionRequestT,
                         wire_master::GetLiveCommittedVersionReplyT>;

enum class MasterPhase { kStarting, kAcceptingCommits };

// What the master knows of one commit proxy's numbered requests.
struct ProxyRequests {
  uint64_t latest_answered = 0;                                   // requests are numbered from 1
  std::map<uint64_t, ReceivedGetCommitVersion> waiting;           // by number, above latest
  std::map<uint64_t, wire_master::GetCommitVersionReplyT> answers;  // by number, up to latest
};

class Master {
 public:
  explicit Master(const MasterInit& init)
      : init_(init), versions_(init.start_version, flow::now()), committed_(init.start_version) {}

  void start() {
    phase_ = MasterPhase::kAcceptingCommits;
    flow::TraceEvent(flow::SevInfo, "MasterAcceptingCommits")
        .detail("Epoch", static_cast<int64_t>(init_.epoch))
        .detail("StartVersion", init_.start_version);
  }

  // Answers `in` now, holds it for its turn, answers it again (a retry), or drops it (malformed,
  // flooding): never asserts on what a peer sent.
  void receive(ReceivedGetCommitVersion in) {
    const auto& r = in.request;
    if (!same_epoch(r.epoch, in.reply, "GetCommitVersion")) return;
    if (r.request_number == 0 || r.most_recent_processed >= r.request_number) {
      flow::TraceEvent(flow::SevWarnAlways, "MasterMalformedRequest")
          .detail("Proxy", static_cast<int64_t>(r.proxy_id))
          .detail("RequestNumber", static_cast<int64_t>(r.request_number))
          .detail("MostRecentProcessed", static_cast<int64_t>(r.most_recent_processed));
      return;
    }
    auto [it, fresh] = proxies_.try_emplace(r.proxy_id);
    if (fresh && proxies_.size() > kProxiesMax) {
      proxies_.erase(it);
      flow::TraceEvent(flow::SevWarnAlways, "MasterTooManyProxies")
          .detail("Proxy", static_cast<int64_t>(r.proxy_id));
      return;
    }
    ProxyRequests& p = it->second;
    // What the proxy has used it will not ask for again.
    p.answers.erase(p.answers.begin(), p.answers.upper_bound(r.most_recent_processed));
    if (r.request_number <= p.latest_answered) {
      const auto a = p.answers.find(r.request_number);
      if (a != p.answers.end()) {
        CODE_PROBE(true, "master answers a repeated commit version request again");
        in.reply.send(a->second);
      } else {
        flow::TraceEvent(flow::SevWarn, "MasterRequestForgotten")
            .detail("Proxy", static_cast<int64_t>(r.proxy_id))
            .detail("RequestNumber", static_cast<int64_t>(r.request_number));
      }
      return;
    }
    if (r.request_number != p.latest_answered + 1 && p.waiting.size() >= kWaitingPerProxyMax &&
        !p.waiting.contains(r.request_number)) {
      // Full: the request furthest ahead goes (its sender retries), so that one nearer its turn
      // is never shut out by a flood of far-off ones.
      auto furthest = std::prev(p.waiting.end());
      if (furthest->first < r.request_number) {
        flow::TraceEvent(flow::SevWarnAlways, "MasterTooManyWaitingRequests")
            .detail("Proxy", static_cast<int64_t>(r.proxy_id));
        return;
      }
      CODE_PROBE(true, "master drops the furthest held request for a nearer one");
      p.waiting.erase(furthest);
    }
    CODE_PROBE(r.request_number != p.latest_answered + 1,
               "master holds a commit version request for its turn");
    // A second copy of a waiting request (a retry) replaces the first, whose sender gave up.
    p.waiting.insert_or_assign(r.request_number, std::move(in));
    answer_ready(p);
  }

  void receive(ReceivedReportCommitted in) {
    const auto& r = in.request;
    if (!same_epoch(r.epoch, in.reply, "ReportCommitted")) return;
    if (r.version > versions_.last()) {
      // Pair: a proxy reports only versions it was given. A version never handed out is a bug
      // in some role (or a hostile peer): refused, and loud.
      flow::TraceEvent(flow::SevError, "MasterReportAboveHandedOut")
          .detail("Version", r.version)
          .detail("LastHandedOut", versions_.last());
      return;
    }
    CODE_PROBE(r.version < committed_, "master hears of a commit older than one reported");
    committed_ = std::max(committed_, r.version);
    in.reply.send({});
  }

  void receive(ReceivedGetLiveCommittedVersion in) {
    if (!same_epoch(in.request.epoch, in.reply, "GetLiveCommittedVersion")) return;
    wire_master::GetLiveCommittedVersionReplyT reply;
    reply.version = committed_;
    in.reply.send(reply);
  }

  void check_invariants() const {
    ASSERT(phase_ == MasterPhase::kAcceptingCommits);
    ASSERT_GE(committed_, init_.start_version);
    ASSERT_LE(committed_, versions_.last());
    for (const auto& [id, p] : proxies_) {
      if (!p.waiting.empty()) ASSERT_GT(p.waiting.begin()->first, p.latest_answered + 1);
      if (!p.answers.empty()) ASSERT_LE(p.answers.rbegin()->first, p.latest_answered);
      ASSERT_LE(p.answers.size(), kAnswersPerProxyMax);
    }
  }

 private:
  // Whether a request of `epoch` is this master's; else it is answered stale_epoch.
  template <class Reply>
  bool same_epoch(uint64_t epoch, Reply& reply, const char* what) {
    if (epoch == init_.epoch) return true;
    CODE_PROBE(true, "master refuses a request of another epoch");
    flow::TraceEvent(flow::SevWarn, "MasterWrongEpoch")
        .detail("Request", what)
        .detail("Epoch", static_cast<int64_t>(epoch))
        .detail("Expected", static_cast<int64_t>(init_.epoch));
    reply.send_error(flow::Error(flow::ErrorCode::stale_epoch));
    return false;
  }

  // Answers the proxy's waiting requests whose turn has come, in number order.
  void answer_ready(ProxyRequests& p) {
    for (auto it = p.waiting.find(p.latest_answered + 1); it != p.waiting.end();
         it = p.waiting.find(p.latest_answered + 1)) {
      // Now and then a version leaps by the most it may: the window's edges get exercised.
      const VersionPair v = versions_.next(flow::now(), flow::buggify(0.05));
      wire_master::GetCommitVersionReplyT reply;
      reply.prev_version = v.prev;
      reply.version = v.version;
      reply.request_number = it->first;
      it->second.reply.send(reply);
      p.latest_answered = it->first;
      p.answers.emplace(it->first, reply);
      if (p.answers.size() > kAnswersPerProxyMax) {
        flow::TraceEvent(flow::SevWarn, "MasterAnswersForgotten")
            .detail("RequestNumber", static_cast<int64_t>(p.answers.begin()->first));
        p.answers.erase(p.answers.begin());
      }
      p.waiting.erase(it);
    }
  }

  MasterInit init_;
  MasterPhase phase_ = MasterPhase::kStarting;
  CommitVersions versions_;
  Version committed_;
  std::map<uint32_t, ProxyRequests> proxies_;
};

// Hands `stream`'s requests to `master` one by one, checking its invariants after each. May
// suspend.
template <class Stream>
void serve(const Stream& stream, Master& master) {
  const auto requests = stream.requests();
  for (;;) {
    master.receive(flow::wait_next(requests));
    master.check_invariants();
  }
}

}  // namespace

void run_master(MasterInterface interface, MasterInit init) {
  Master master(init);
  master.start();
  flow::ActorCollection serving;
  serving.add(flow::spawn([&] { serve(interface.get_commit_version, master); }));
  serving.add(flow::spawn([&] { serve(interface.report_committed, master); }));
  serving.add(flow::spawn([&] { serve(interface.get_live_committed_version, master); }));
  flow::wait(serving.get_result());
}

}  // namespace roles
