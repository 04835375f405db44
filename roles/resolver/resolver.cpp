// The resolver role (docs/database.md, "resolver"): commit batches arrive in any order and are
// resolved in version order, each once its prev_version has been; a retried batch gets the answer
// it had. What a batch decides is BatchResolver's.

#include <deque>
#include <map>
#include <utility>

#include "flow/assert.h"
#include "flow/code_probe.h"
#include "flow/trace_event.h"
#include "roles/resolver/batch_resolver.h"
#include "roles/resolver/resolver_interface.h"

namespace roles {

namespace {

// Batches held until their turn. A proxy holds a few at a time; past this, a peer is flooding.
constexpr size_t kWaitingBatchesMax = 1000;
// Answers kept for retries of batches already resolved (a proxy retries after a lost reply).
constexpr size_t kAnswersKept = 200;

using Received =
    net::ReceivedRequest<wire_resolver::ResolveBatchRequestT, wire_resolver::ResolveBatchReplyT>;

std::string as_string(const std::vector<uint8_t>& bytes) {
  return std::string(bytes.begin(), bytes.end());
}

std::vector<KeyRange> ranges_of(
    const std::vector<std::unique_ptr<wire_resolver::KeyRangeT>>& wire) {
  std::vector<KeyRange> out;
  out.reserve(wire.size());
  for (const auto& r : wire)
    if (r) out.push_back({as_string(r->begin), as_string(r->end)});
  return out;
}

wire_resolver::ResolveBatchReplyT reply_of(const BatchVerdicts& v) {
  wire_resolver::ResolveBatchReplyT reply;
  for (size_t i = 0; i < v.verdicts.size(); ++i) {
    reply.verdicts.push_back(v.verdicts[i] == Verdict::kCommitted  ? wire_resolver::Verdict::Committed
                             : v.verdicts[i] == Verdict::kConflict ? wire_resolver::Verdict::Conflict
                                                                   : wire_resolver::Verdict::TooOld);
    auto reads = std::make_unique<wire_resolver::ConflictingReadsT>();
    reads->indices = v.conflicting_reads[i];
    reply.conflicting_reads.push_back(std::move(reads));
  }
  return reply;
}

class Resolver {
 public:
  explicit Resolver(const ResolverInit& init)
      : init_(init), batches_(kMaxReadTransactionLifeVersions, init.start_version) {}

  // Answers `in` now, or holds it for its turn, or refuses it (another epoch: stale_epoch), or
  // (malformed, or one too many) drops it: its sender sees broken_promise. Never asserts on what
  // a peer sent.
  void receive(Received in) {
    const auto& r = in.request;
    if (r.epoch != init_.epoch) {
      CODE_PROBE(true, "resolver refuses a batch of another epoch");
      flow::TraceEvent(flow::SevWarn, "ResolverWrongEpoch")
          .detail("Epoch", static_cast<int64_t>(r.epoch))
          .detail("Expected", static_cast<int64_t>(init_.epoch));
      in.reply.send_error(flow::Error(flow::ErrorCode::stale_epoch));
      return;
    }
    if (r.version <= r.prev_version) {
      flow::TraceEvent(flow::SevWarnAlways, "ResolverMalformedBatch")
          .detail("PrevVersion", r.prev_version)
          .detail("Version", r.version);
      return;
    }
    if (r.version <= batches_.version()) {
      // Resolved already: a retry. Its answer, if still kept.
      for (const auto& [version, verdicts] : answered_) {
        if (version == r.version) {
          CODE_PROBE(true, "resolver answers a retried batch again");
          in.reply.send(reply_of(verdicts));
          return;
        }
      }
      flow::TraceEvent(flow::SevWarn, "ResolverBatchForgotten").detail("Version", r.version);
      return;
    }
    if (r.prev_version < batches_.version()) {
      // It forks the chain: its prev_version was passed by another batch. Never resolvable.
      flow::TraceEvent(flow::SevWarnAlways, "ResolverBatchForksChain")
          .detail("PrevVersion", r.prev_version)
          .detail("Version", r.version)
          .detail("Resolved", batches_.version());
      return;
    }
    if (r.prev_version != batches_.version() && waiting_.size() >= kWaitingBatchesMax &&
        !waiting_.contains(r.prev_version)) {
      // Full: the batch furthest ahead goes (its sender retries), so that one nearer its turn
      // is never shut out by a flood of far-off ones.
      auto furthest = std::prev(waiting_.end());
      if (furthest->first < r.prev_version) {
        flow::TraceEvent(flow::SevWarnAlways, "ResolverTooManyWaitingBatches")
            .detail("Waiting", static_cast<int64_t>(waiting_.size()));
        return;
      }
      CODE_PROBE(true, "resolver drops the furthest held batch for a nearer one");
      waiting_.erase(furthest);
    }
    CODE_PROBE(r.prev_version != batches_.version(), "resolver holds a batch for its turn");
    // A second copy of a waiting batch (a retry) replaces the first, whose sender gave up.
    waiting_.insert_or_assign(r.prev_version, std::move(in));
    answer_ready();
  }

  void check_invariants() const {
    for (const auto& [prev, in] : waiting_) {
      ASSERT_GT(prev, batches_.version());
      ASSERT_GT(in.request.version, prev);
    }
    for (size_t i = 1; i < answered_.size(); ++i)
      ASSERT_LT(answered_[i - 1].first, answered_[i].first);
    if (!answered_.empty()) ASSERT_EQ(answered_.back().first, batches_.version());
  }

 private:
  // Resolves every waiting batch whose turn has come, in version order.
  void answer_ready() {
    for (auto it = waiting_.find(batches_.version()); it != waiting_.end();
         it = waiting_.find(batches_.version())) {
      Received in = std::move(it->second);
      waiting_.erase(it);
      std::vector<TransactionConflictRanges> transactions;
      transactions.reserve(in.request.transactions.size());
      for (const auto& t : in.request.transactions) {
        if (!t) {
          transactions.emplace_back();  // an empty table: reads and writes nothing
          continue;
        }
        transactions.push_back({t->read_version, ranges_of(t->reads), ranges_of(t->writes),
                                t->report_conflicting_reads});
      }
      const Version version = in.request.version;
      BatchVerdicts verdicts = batches_.resolve(version, transactions);
      in.reply.send(reply_of(verdicts));
      answered_.emplace_back(version, std::move(verdicts));
      if (answered_.size() > kAnswersKept) answered_.pop_front();
    }
  }

  ResolverInit init_;
  BatchResolver batches_;
  std::map<Version, Received> waiting_;                   // by prev_version
  std::deque<std::pair<Version, BatchVerdicts>> answered_;  // the newest last
};

}  // namespace

void run_resolver(ResolverInterface interface, ResolverInit init) {
  Resolver resolver(init);
  flow::TraceEvent(flow::SevInfo, "ResolverStarted")
      .detail("Epoch", static_cast<int64_t>(init.epoch))
      .detail("StartVersion", init.start_version);
  for (;;) {
    resolver.receive(flow::wait_next(interface.resolve.requests()));
    resolver.check_invariants();
  }
}

}  // namespace roles
