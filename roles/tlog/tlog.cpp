// The transaction log role (docs/database.md, "transaction log"; docs/database_disk.md for its
// records): each version's tagged mutations are appended to a DiskQueue in version order, one
// record per version, and acknowledged once durable; storage servers peek their tag's mutations
// (only durable versions are served) and pop what they have made durable themselves; the queue is
// popped once every tag in a record has popped past it.

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "flow/actor.h"
#include "flow/actor_collection.h"
#include "flow/assert.h"
#include "flow/async_var.h"
#include "flow/buggify.h"
#include "flow/code_probe.h"
#include "flow/combinators.h"
#include "flow/deterministic_random.h"
#include "flow/process.h"
#include "flow/trace_event.h"
#include "roles/tlog/tlog_interface.h"
#include "roles/tlog/tlog_record.h"
#include "storage/disk_queue.h"

namespace roles {

namespace {

using namespace std::chrono_literals;

// Commits held for their turn. A few proxies have a few batches in flight each; past this, a
// peer is flooding.
constexpr size_t kWaitingCommitsMax = 1000;
// How long a peek with nothing new waits for a version before it answers empty.
constexpr flow::Duration kPeekWaitMax = 1s;
// A peek reply's mutation bytes, about: the rest comes with the next peek.
constexpr size_t kPeekReplyBytesMax = size_t{1} << 20;
// Peeks waiting for a new version at once; past this, a peek is answered at once (a flood of
// long polls would otherwise hold a fiber each).
constexpr size_t kWaitingPeeksMax = 10'000;
// A version's record at most. The database's own batches stay far below (transactions are at
// most 10 MB and a batch closes at 8 MiB); a message may be larger.
constexpr size_t kRecordBytesMax = size_t{64} << 20;

using ReceivedCommit =
    net::ReceivedRequest<wire_tlog::TLogCommitRequestT, wire_tlog::TLogCommitReplyT>;
using ReceivedPeek = net::ReceivedRequest<wire_tlog::TLogPeekRequestT, wire_tlog::TLogPeekReplyT>;
using ReceivedPop = net::ReceivedRequest<wire_tlog::TLogPopRequestT, wire_tlog::TLogPopReplyT>;
using ReceivedLock = net::ReceivedRequest<wire_tlog::TLogLockRequestT, wire_tlog::TLogLockReplyT>;
using ReceivedConfirm = net::ReceivedRequest<wire_tlog::TLogConfirmRequestT, wire_tlog::TLogConfirmReplyT>;

enum class TLogPhase { kRecovering, kServing };

// What the log knows of one version whose record is in its queue.
struct QueuedVersion {
  Version version = 0;
  Version prev_version = 0;
  uint64_t sequence = 0;  // the record's DiskQueue sequence number
  std::vector<Tag> tags;  // every tag with mutations at this version, ascending
};

class TLog {
 public:
  TLog(const TLogInit& init, std::unique_ptr<storage::DiskQueue> queue)
      : init_(init), queue_(std::move(queue)), version_(init.start_version),
        durable_(init.start_version), known_committed_(init.start_version) {}

  // Rebuilds the log from the records its queue recovered. Throws checksum_failed if one does
  // not parse or the versions do not chain.
  void recover() {
    std::vector<storage::DiskQueueRecord> records = std::move(queue_->recovered());
    bool first = true;
    for (const storage::DiskQueueRecord& raw : records) {
      flow::ErrorOr<TLogRecord> decoded = decode_tlog_record(raw.payload);
      if (!decoded.ok()) throw decoded.error();
      TLogRecord& r = decoded.get();
      if (is_lock_marker(r) && (first || r.version == version_)) {
        CODE_PROBE(true, "a log restarts locked");
        if (r.epoch >= locked_by_) {
          locked_by_ = r.epoch;
          locked_by_recovery_ = r.locked_by_recovery;
        }
        if (r.sealed) {
          CODE_PROBE(true, "a log restarts sealed");
          sealed_ = true;
        }
        version_ = r.version;
        first = false;
        continue;
      }
      if (!first && r.prev_version != version_) {
        flow::TraceEvent(flow::SevWarnAlways, "TLogRecoveredChainBroken")
            .detail("Version", r.version)
            .detail("PrevVersion", r.prev_version)
            .detail("Expected", version_);
        throw flow::Error(flow::ErrorCode::checksum_failed);
      }
      first = false;
      index(r, raw.sequence);
    }
    durable_.set(version_);
    durable_lock_.set(locked_by_);
    durable_seal_.set(sealed_);
    CODE_PROBE(!records.empty(), "a log recovers versions from its queue");
    phase_ = TLogPhase::kServing;
    flow::TraceEvent(flow::SevInfo, "TLogStarted")
        .detail("Name", init_.name)
        .detail("Epoch", static_cast<int64_t>(init_.epoch))
        .detail("RecoveredVersions", static_cast<int64_t>(records.size()))
        .detail("Version", version_)
        .detail("LockedBy", static_cast<int64_t>(locked_by_));
  }

  // Appends `in` now (answering it once durable), holds it for its turn, answers a retry once
  // its version is durable, or drops it (malformed, flooding): never asserts on what a peer
  // sent.
  void receive(ReceivedCommit in) {
    const auto& r = in.request;
    if (!same_epoch(r.epoch, in.reply, "TLogCommit")) return;
    if (r.version <= r.prev_version) {
      flow::TraceEvent(flow::SevWarnAlways, "TLogMalformedCommit")
          .detail("PrevVersion", r.prev_version)
          .detail("Version", r.version);
      return;
    }
    if (r.version <= version_) {
      // A retry: answered once durable, if it is a version of the chain.
      if (!in_chain(r.version)) {
        flow::TraceEvent(flow::SevWarnAlways, "TLogCommitNotInChain")
            .detail("Version", r.version)
            .detail("LogVersion", version_);
        return;
      }
      CODE_PROBE(true, "log answers a retried commit once durable");
      actors_.add(flow::spawn([this, v = r.version, reply = std::move(in.reply)]() mutable {
        wait_durable(v);
        reply.send(committed_reply(v));
      }));
      return;
    }
    if (r.prev_version < version_) {
      // It forks the chain: its prev_version was passed by another version. Never appendable.
      flow::TraceEvent(flow::SevWarnAlways, "TLogCommitForksChain")
          .detail("PrevVersion", r.prev_version)
          .detail("Version", r.version)
          .detail("LogVersion", version_);
      return;
    }
    if (locked_by_ != 0) {
      // A recovery ended this generation: nothing more joins the chain.
      CODE_PROBE(true, "a locked log refuses a commit");
      in.reply.send_error(flow::Error(flow::ErrorCode::stale_epoch));
      return;
    }
    if (r.prev_version == version_) {
      append(std::move(in));
      append_ready();
      return;
    }
    if (waiting_.size() >= kWaitingCommitsMax && !waiting_.contains(r.prev_version)) {
      // Full: the commit furthest ahead goes (its sender retries), so that one nearer its turn,
      // which the chain needs first, is never shut out by a flood of far-off ones.
      auto furthest = std::prev(waiting_.end());
      if (furthest->first < r.prev_version) {
        flow::TraceEvent(flow::SevWarnAlways, "TLogTooManyWaitingCommits")
            .detail("Waiting", static_cast<int64_t>(waiting_.size()));
        return;
      }
      CODE_PROBE(true, "log drops the furthest held commit for a nearer one");
      waiting_.erase(furthest);
    }
    CODE_PROBE(true, "log holds a commit for its turn");
    // A second copy of a waiting commit (a retry) replaces the first, whose sender gave up.
    waiting_.insert_or_assign(r.prev_version, std::move(in));
  }

  // Answers now, or once a version past the tag's end is durable, or after kPeekWaitMax. May
  // suspend.
  void peek(ReceivedPeek in) {
    const auto& r = in.request;
    if (!same_epoch(r.epoch, in.reply, "TLogPeek")) return;
    const Version popped = popped_of(r.tag);
    if (r.begin_version < popped) {
      CODE_PROBE(true, "log answers a peek of popped data with the popped version only");
      wire_tlog::TLogPeekReplyT reply;
      reply.end_version = r.begin_version;
      reply.popped_version = popped;
      in.reply.send(reply);
      return;
    }
    if (durable_.get() < r.begin_version && waiting_peeks_ < kWaitingPeeksMax) {
      ++waiting_peeks_;
      struct Done {
        size_t& n;
        ~Done() { --n; }
      } done{waiting_peeks_};
      const flow::Duration wait_max =
          flow::buggify() ? flow::deterministic_random().random_duration(0ms, 100ms) : kPeekWaitMax;
      const flow::Time deadline = flow::now() + wait_max;
      while (durable_.get() < r.begin_version) {
        if (flow::wait_any(durable_.on_change(), flow::delay_until(deadline)) == 1) break;
      }
      CODE_PROBE(durable_.get() < r.begin_version, "log answers a long poll with nothing new");
    }
    if (r.begin_version < popped_of(r.tag)) {
      // Popped while the peek waited.
      CODE_PROBE(true, "log's long poll finds the tag popped past it");
      wire_tlog::TLogPeekReplyT reply;
      reply.end_version = r.begin_version;
      reply.popped_version = popped_of(r.tag);
      in.reply.send(reply);
      return;
    }
    in.reply.send(peek_reply(r.tag, r.begin_version));
  }

  void receive(ReceivedConfirm in) { confirm(std::move(in)); }

  void receive(ReceivedPop in) {
    const auto& r = in.request;
    if (!same_epoch(r.epoch, in.reply, "TLogPop")) return;
    // A pop may run ahead of this log: the storage server learned its versions from another
    // log, which each version reaches at its own pace. This log then keeps none of the tag's
    // data below the pop, when it comes (the server has it).
    CODE_PROBE(r.version > durable_.get() + 1, "log is popped past its durable version");
    Version& popped = popped_[r.tag];
    if (r.version > popped) {
      popped = r.version;
      auto it = tag_data_.find(r.tag);
      if (it != tag_data_.end()) {
        it->second.erase(it->second.begin(), it->second.lower_bound(r.version));
        if (it->second.empty()) tag_data_.erase(it);
      }
      pop_queue();
    }
    in.reply.send({});
  }

  // The record that makes the log's lock (and seal) durable (docs/database_disk.md, "Lock
  // marker"): the log's version as both version and prev_version, no message.
  TLogRecord lock_marker() const {
    TLogRecord marker;
    marker.epoch = locked_by_;
    marker.version = version_;
    marker.prev_version = version_;
    marker.known_committed_version = known_committed_;
    marker.locked_by_recovery = locked_by_recovery_;
    marker.sealed = sealed_;
    return marker;
  }

  // Whether the log's lock, if any, is by one of the recoveries the request names (its own
  // included): one the cluster state knows of.
  bool lock_known_to(const wire_tlog::TLogLockRequestT& request) const {
    if (locked_by_ == 0) return true;
    if (locked_by_ == request.epoch && locked_by_recovery_ == request.recovery) return true;
    return std::any_of(request.lockers.begin(), request.lockers.end(), [this](const wire_tlog::EpochsOfRecovery& r) {
      return r.first_epoch() <= locked_by_ && locked_by_ <= r.last_epoch() && r.recovery() == locked_by_recovery_;
    });
  }

  // Locks the log for a recovery of a newer epoch: refuses the commits held for their turn, then
  // makes the lock durable (a marker record) and answers with the log's end; with `seal`, marks
  // it sealed (durably) for the recovery that holds its lock. A lock by an epoch not newer than
  // the log's is refused (stale_epoch); one while the log is sealed, or locked by a recovery the
  // request does not name, and a seal by another recovery than the lock's, are answered `fenced`
  // and change nothing. May suspend.
  void lock(ReceivedLock in) {
    const uint64_t epoch = in.request.epoch;
    if (epoch <= init_.epoch) {
      flow::TraceEvent(flow::SevWarn, "TLogLockOfOlderEpoch")
          .detail("Epoch", static_cast<int64_t>(epoch))
          .detail("LogEpoch", static_cast<int64_t>(init_.epoch));
      in.reply.send_error(flow::Error(flow::ErrorCode::stale_epoch));
      return;
    }
    const bool own_lock = locked_by_ == epoch && locked_by_recovery_ == in.request.recovery;
    const bool sealing_again = in.request.seal && own_lock;  // the sealer's reply was lost
    if ((sealed_ && !sealing_again) || !lock_known_to(in.request) || (in.request.seal && !own_lock)) {
      CODE_PROBE(sealed_, "a sealed log fences a recovery from a stale cluster state");
      CODE_PROBE(!sealed_, "a log fences a recovery from a stale cluster state");
      flow::TraceEvent(flow::SevWarnAlways, "TLogLockFenced")
          .detail("Name", init_.name)
          .detail("Epoch", static_cast<int64_t>(epoch))
          .detail("Recovery", in.request.recovery)
          .detail("LockedBy", static_cast<int64_t>(locked_by_))
          .detail("LockedByRecovery", locked_by_recovery_)
          .detail("Sealed", sealed_)
          .detail("Seal", in.request.seal);
      wire_tlog::TLogLockReplyT reply;
      reply.fenced = true;
      reply.sealed = sealed_;
      reply.locked_by = locked_by_;
      reply.locked_by_recovery = locked_by_recovery_;
      in.reply.send(reply);
      return;
    }
    if (epoch > locked_by_) {
      CODE_PROBE(locked_by_ != 0, "a log is locked again by a newer recovery");
      locked_by_ = epoch;
      locked_by_recovery_ = in.request.recovery;
      for (auto& [prev, held] : waiting_) held.reply.send_error(flow::Error(flow::ErrorCode::stale_epoch));
      waiting_.clear();
      const TLogRecord marker = lock_marker();
      queue_->push(encode_tlog_record(marker));
      queue_->commit();
      // The marker's commit made every version pushed before it durable too.
      if (marker.version > durable_.get()) durable_.set(marker.version);
      if (epoch > durable_lock_.get()) durable_lock_.set(epoch);
      flow::TraceEvent(flow::SevInfo, "TLogLocked")
          .detail("Name", init_.name)
          .detail("Epoch", static_cast<int64_t>(init_.epoch))
          .detail("LockedBy", static_cast<int64_t>(epoch))
          .detail("LockedByRecovery", in.request.recovery)
          .detail("EndVersion", marker.version)
          .detail("KnownCommittedVersion", known_committed_);
    }
    while (durable_lock_.get() < epoch) flow::wait(durable_lock_.on_change());
    if (in.request.seal && !sealed_) {
      // Marked first: a lock arriving while the mark is written is fenced already (the sealer
      // has its answer only once the mark is durable).
      sealed_ = true;
      queue_->push(encode_tlog_record(lock_marker()));
      queue_->commit();
      flow::TraceEvent(flow::SevInfo, "TLogSealed")
          .detail("Name", init_.name)
          .detail("Epoch", static_cast<int64_t>(init_.epoch))
          .detail("SealedBy", static_cast<int64_t>(locked_by_))
          .detail("SealedByRecovery", locked_by_recovery_);
      durable_seal_.set(true);
    }
    if (in.request.seal)
      while (!durable_seal_.get()) flow::wait(durable_seal_.on_change());
    // Locked, nothing joins the chain: version_ no longer moves and is durable.
    wire_tlog::TLogLockReplyT reply;
    reply.end_version = version_;
    reply.known_committed_version = known_committed_;
    reply.locked_by = locked_by_;
    reply.locked_by_recovery = locked_by_recovery_;
    reply.sealed = sealed_;
    in.reply.send(reply);
  }

  void confirm(ReceivedConfirm in) {
    if (!same_epoch(in.request.epoch, in.reply, "TLogConfirm")) return;
    if (locked_by_ != 0) {
      CODE_PROBE(true, "a locked log tells a read version its generation has ended");
      in.reply.send_error(flow::Error(flow::ErrorCode::stale_epoch));
      return;
    }
    in.reply.send({});
  }

  void check_invariants() const {
    ASSERT(phase_ == TLogPhase::kServing);
    if (locked_by_ != 0) ASSERT(waiting_.empty());
    ASSERT_LE(durable_.get(), version_);
    if (!queued_.empty()) ASSERT_EQ(queued_.back().version, version_);
    // The queue's order is checked as each version joins it (index()): a scan of it all here,
    // after every request, cost a quarter of db-bench's CPU.
    for (const auto& [prev, in] : waiting_) ASSERT_GT(prev, version_);
    for (const auto& [tag, versions] : tag_data_) {
      ASSERT(!versions.empty());
      ASSERT_GE(versions.begin()->first, popped_of(tag));
      ASSERT_LE(versions.rbegin()->first, version_);
    }
  }

  flow::ActorCollection& actors() { return actors_; }

 private:
  template <class Reply>
  bool same_epoch(uint64_t epoch, Reply& reply, const char* what) {
    if (epoch == init_.epoch) return true;
    CODE_PROBE(true, "log refuses a request of another epoch");
    flow::TraceEvent(flow::SevWarn, "TLogWrongEpoch")
        .detail("Request", what)
        .detail("Epoch", static_cast<int64_t>(epoch))
        .detail("Expected", static_cast<int64_t>(init_.epoch));
    reply.send_error(flow::Error(flow::ErrorCode::stale_epoch));
    return false;
  }

  // Whether `v` (at most version_) is a version of the log's chain: one it holds, or one at or
  // before the oldest it holds (popped, or before it started).
  bool in_chain(Version v) const {
    if (queued_.empty() || v <= queued_.front().prev_version) return v <= version_;
    const auto it = std::lower_bound(queued_.begin(), queued_.end(), v,
                                     [](const QueuedVersion& q, Version x) { return q.version < x; });
    return it != queued_.end() && it->version == v;
  }

  Version popped_of(Tag tag) const {
    auto it = popped_.find(tag);
    return it == popped_.end() ? 0 : it->second;
  }

  static wire_tlog::TLogCommitReplyT committed_reply(Version v) {
    wire_tlog::TLogCommitReplyT reply;
    reply.version = v;
    return reply;
  }

  // May suspend.
  void wait_durable(Version v) {
    while (durable_.get() < v) flow::wait(durable_.on_change());
  }

  // Appends every waiting commit whose turn has come, in version order.
  void append_ready() {
    for (auto it = waiting_.find(version_); it != waiting_.end(); it = waiting_.find(version_)) {
      ReceivedCommit in = std::move(it->second);
      waiting_.erase(it);
      append(std::move(in));
    }
  }

  void append(ReceivedCommit in) {
    const auto& r = in.request;
    TLogRecord record;
    record.epoch = r.epoch;
    record.version = r.version;
    record.prev_version = r.prev_version;
    record.known_committed_version = r.known_committed_version;
    record.messages.reserve(r.messages.size());
    for (const auto& m : r.messages) {
      std::optional<Mutation> mutation = m && m->mutation ? from_wire(*m->mutation) : std::nullopt;
      if (!mutation) {
        // Dropped whole: a version is appended with all its mutations or not at all. Later
        // commits wait for it, as they must.
        flow::TraceEvent(flow::SevWarnAlways, "TLogMalformedMutation").detail("Version", r.version);
        return;
      }
      std::vector<Tag> tags(m->tags.begin(), m->tags.end());
      std::sort(tags.begin(), tags.end());
      tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
      if (tags.size() > kTLogTagsPerMessageMax) {
        flow::TraceEvent(flow::SevWarnAlways, "TLogTooManyTags")
            .detail("Version", r.version)
            .detail("Tags", static_cast<int64_t>(tags.size()));
        return;
      }
      record.messages.push_back({std::move(tags), std::move(*mutation)});
    }
    std::vector<uint8_t> encoded = encode_tlog_record(record);
    if (encoded.size() > kRecordBytesMax) {
      // No batch of the database's own is this large (a transaction is at most 10 MB, a batch
      // closes at 8 MiB): a hostile or broken peer. Dropped, like any malformed commit.
      flow::TraceEvent(flow::SevWarnAlways, "TLogCommitTooLarge")
          .detail("Version", r.version)
          .detail("Bytes", static_cast<int64_t>(encoded.size()));
      return;
    }
    const uint64_t sequence = queue_->push(encoded);
    index(record, sequence);
    known_committed_ = std::max(known_committed_, r.known_committed_version);
    actors_.add(flow::spawn([this, v = r.version, reply = std::move(in.reply)]() mutable {
      queue_->commit();
      if (v > durable_.get()) durable_.set(v);
      reply.send(committed_reply(v));
    }));
  }

  // Takes `r` (the next version) into the in-memory index.
  void index(const TLogRecord& r, uint64_t sequence) {
    // Versions join the queue here, each after the newest (and leave from the front): checking
    // every one as it joins keeps the whole queue ordered at O(1) a version.
    if (!queued_.empty()) {
      ASSERT_LT(queued_.back().version, r.version);
      ASSERT_LT(queued_.back().sequence, sequence);
    }
    QueuedVersion q{r.version, r.prev_version, sequence, {}};
    for (const TaggedMutation& m : r.messages) {
      for (Tag t : m.tags) {
        if (r.version < popped_of(t)) continue;
        tag_data_[t][r.version].push_back(m.mutation);
        q.tags.push_back(t);
      }
    }
    std::sort(q.tags.begin(), q.tags.end());
    q.tags.erase(std::unique(q.tags.begin(), q.tags.end()), q.tags.end());
    queued_.push_back(std::move(q));
    version_ = r.version;
    known_committed_ = std::max(known_committed_, r.known_committed_version);
  }

  // Pops the queue past every version whose tags have all popped past it. The newest record
  // stays, so that a restarted log knows its version.
  void pop_queue() {
    bool popped_any = false;
    while (queued_.size() > 1 && queued_.front().version <= durable_.get() &&
           std::all_of(queued_.front().tags.begin(), queued_.front().tags.end(),
                       [&](Tag t) { return popped_of(t) > queued_.front().version; })) {
      queued_.pop_front();
      popped_any = true;
    }
    if (popped_any) queue_->pop(queued_.front().sequence);
  }

  wire_tlog::TLogPeekReplyT peek_reply(Tag tag, Version begin) const {
    wire_tlog::TLogPeekReplyT reply;
    reply.popped_version = popped_of(tag);
    reply.end_version = std::max(begin, durable_.get() + 1);
    reply.known_committed_version = std::min(known_committed_, durable_.get());
    const size_t bytes_max = flow::buggify() ? 1 : kPeekReplyBytesMax;
    auto data = tag_data_.find(tag);
    if (data == tag_data_.end()) return reply;
    size_t bytes = 0;
    for (auto it = data->second.lower_bound(begin);
         it != data->second.end() && it->first <= durable_.get(); ++it) {
      if (bytes >= bytes_max) {
        CODE_PROBE(true, "log cuts a peek reply at its size limit");
        reply.end_version = it->first;
        break;
      }
      auto v = std::make_unique<wire_tlog::VersionMutationsT>();
      v->version = it->first;
      for (const Mutation& m : it->second) {
        bytes += m.param1.size() + m.param2.size();
        v->mutations.push_back(std::make_unique<strata::wire::MutationT>(to_wire(m)));
      }
      reply.versions.push_back(std::move(v));
    }
    return reply;
  }

  TLogInit init_;
  TLogPhase phase_ = TLogPhase::kRecovering;
  std::unique_ptr<storage::DiskQueue> queue_;
  Version version_;                          // the newest version appended
  flow::AsyncVar<Version> durable_;          // the newest version durable
  Version known_committed_;                  // the newest known durable on every log of the epoch
  uint64_t locked_by_ = 0;                   // the epoch whose recovery locked the log; 0: none
  uint64_t locked_by_recovery_ = 0;          // and that recovery's id
  bool sealed_ = false;                      // that recovery finished: every lock is fenced
  flow::AsyncVar<bool> durable_seal_{false};  // the seal's marker is durable
  flow::AsyncVar<uint64_t> durable_lock_{0};  // the newest lock whose marker is durable
  std::map<Version, ReceivedCommit> waiting_;  // by prev_version
  std::deque<QueuedVersion> queued_;         // the versions in the queue, oldest first
  std::map<Tag, std::map<Version, std::vector<Mutation>>> tag_data_;
  std::map<Tag, Version> popped_;
  size_t waiting_peeks_ = 0;
  // Last: destroyed first, so no actor outlives what it uses.
  flow::ActorCollection actors_;
};

template <class Stream>
void serve(const Stream& stream, TLog& log) {
  const auto requests = stream.requests();
  for (;;) {
    log.receive(flow::wait_next(requests));
    log.check_invariants();
  }
}

}  // namespace

void run_tlog(TLogInterface interface, TLogInit init) {
  storage::DiskQueueOptions options;
  options.max_record_bytes = kRecordBytesMax;
  options.file_bytes = flow::buggify() ? int64_t{1} << 20 : init.queue_file_bytes;
  TLog log(init, storage::DiskQueue::open(flow::current_process().file_system(), init.name, options));
  log.recover();
  flow::ActorCollection& actors = log.actors();
  actors.add(flow::spawn([&] { serve(interface.commit, log); }));
  actors.add(flow::spawn([&] { serve(interface.pop, log); }));
  actors.add(flow::spawn([&] { serve(interface.confirm, log); }));
  actors.add(flow::spawn([&] {
    const auto requests = interface.lock.requests();
    for (;;) actors.add(flow::spawn([&log](ReceivedLock in) { log.lock(std::move(in)); }, flow::wait_next(requests)));
  }));
  actors.add(flow::spawn([&] {
    const auto requests = interface.peek.requests();
    for (;;) {
      actors.add(flow::spawn([&log](ReceivedPeek in) { log.peek(std::move(in)); },
                             flow::wait_next(requests)));
    }
  }));
  flow::wait(actors.get_result());
}

}  // namespace roles
