// The commit proxy role (docs/database.md, "commit proxy"): gathers transactions into batches;
// for each, gets a version from the master, asks every resolver about the ranges in its keys,
// turns versionstamped operations into sets, tags each mutation with the storage servers that
// own its keys, pushes the batch to every log, reports the version committed to the master, and
// only then answers the clients. Clients' transactions are checked against the database's limits
// first: a bad one gets a named error and never reaches a batch.

#include <algorithm>
#include <chrono>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "flow/actor.h"
#include "flow/actor_collection.h"
#include "flow/assert.h"
#include "flow/async_trigger.h"
#include "flow/buggify.h"
#include "flow/code_probe.h"
#include "flow/combinators.h"
#include "flow/deterministic_random.h"
#include "flow/planted_bug.h"
#include "flow/trace_event.h"
#include "roles/common/database_lock.h"
#include "roles/common/limits.h"
#include "roles/common/versionstamp.h"
#include "roles/commit_proxy/commit_proxy_interface.h"

namespace roles {

namespace {

using namespace std::chrono_literals;

// A batch closes as soon as fewer than kBatchesInFlightMax batches are being committed (at once
// when the proxy is idle: no latency is added), else when one of them ends, or this long after
// its first transaction at most; and at these sizes. So batches grow with the load, by as much
// as the pipeline is behind, and a quiet proxy answers at the speed of its log.
constexpr size_t kBatchesInFlightMax = 3;
constexpr flow::Duration kBatchIntervalMax = 10ms;
constexpr size_t kBatchCountMax = 1000;
constexpr size_t kBatchBytesMax = size_t{8} << 20;
// Between attempts of a request whose connection failed (the peer may or may not have it).
constexpr flow::Duration kRetryDelay = 20ms;
// How often the proxy asks its logs whether its epoch still commits: a batch stuck on a role that
// is gone ends with the epoch, and its clients hear commit_unknown_result, not silence.
constexpr flow::Duration kEpochCheckInterval = 500ms;
// How long a log may answer that its role is gone (broken_promise) before the proxy takes its
// generation for ended: a log restarting after a disk error is back within a second; a log a
// recovery locked and then retired is never back, and a proxy that missed the lock (clogged
// meanwhile) would otherwise retry its batch, and hold its clients' commits, for good.
constexpr flow::Duration kLogGoneFor = std::chrono::seconds(5);


using ReceivedCommit = net::ReceivedRequest<wire_proxy::CommitTransactionRequestT,
                                            wire_proxy::CommitTransactionReplyT>;
using ReceivedLocations = net::ReceivedRequest<wire_proxy::GetKeyServerLocationsRequestT,
                                               wire_proxy::GetKeyServerLocationsReplyT>;

std::string as_string(const std::vector<uint8_t>& bytes) {
  return std::string(bytes.begin(), bytes.end());
}
std::vector<uint8_t> as_bytes(std::string_view s) {
  return std::vector<uint8_t>(s.begin(), s.end());
}

// A client's transaction, checked, in memory.
struct Transaction {
  ReceivedCommit in;
  Version read_version = 0;
  std::vector<KeyRange> reads;
  std::vector<KeyRange> writes;
  std::vector<Mutation> mutations;
  bool report_conflicting_keys = false;
  bool lock_aware = false;
  size_t bytes = 0;
};

// Whether `key` may be written by a client's transaction (system keys included; the shard map's
// own keys, the lock's and everything from kKeyspaceEnd on excluded).
bool writable(std::string_view key) {
  return key < kKeyspaceEnd && !key.starts_with(kKeyServersPrefix) &&
         !key.starts_with(kServerKeysPrefix) && key != kDatabaseLockedKey;
}

// The keys under `prefix`: [prefix, prefix with its last byte one higher).
KeyRange prefix_range(std::string_view prefix) {
  std::string end(prefix);
  end.back() = static_cast<char>(end.back() + 1);
  return {std::string(prefix), end};
}

// Whether [begin, end) holds a key of the shard map or the lock's.
bool overlaps_recovery_keys(std::string_view begin, std::string_view end) {
  if (begin <= kDatabaseLockedKey && kDatabaseLockedKey < end) return true;
  for (std::string_view prefix : {kKeyServersPrefix, kServerKeysPrefix}) {
    const KeyRange r = prefix_range(prefix);
    if (begin < r.end && r.begin < end) return true;
  }
  return false;
}

std::optional<flow::Error> check_range(const std::unique_ptr<strata::wire::KeyRangeT>& w,
                                       std::vector<KeyRange>& out, size_t& bytes) {
  if (!w) return flow::Error(flow::ErrorCode::client_invalid_operation);
  KeyRange r{as_string(w->begin), as_string(w->end)};
  if (r.end < r.begin) return flow::Error(flow::ErrorCode::inverted_range);
  if (r.end > kKeyspaceEnd) return flow::Error(flow::ErrorCode::key_outside_legal_range);
  if (r.begin.size() > key_bytes_max || r.end.size() > key_bytes_max + 1)
    return flow::Error(flow::ErrorCode::key_too_large);
  bytes += r.begin.size() + r.end.size() + mutation_overhead_bytes;
  out.push_back(std::move(r));
  return std::nullopt;
}

// Checks `in`'s transaction against the database's limits and rules: the error to answer with,
// or the transaction.
flow::ErrorOr<Transaction> check_transaction(ReceivedCommit& in) {
  const auto& r = in.request;
  Transaction t;
  if (r.read_version < 0) return flow::Error(flow::ErrorCode::version_invalid);
  t.read_version = r.read_version;
  t.report_conflicting_keys = r.report_conflicting_keys;
  t.lock_aware = r.lock_aware;
  for (const auto& w : r.read_conflict_ranges)
    if (auto e = check_range(w, t.reads, t.bytes)) return *e;
  for (const auto& w : r.write_conflict_ranges)
    if (auto e = check_range(w, t.writes, t.bytes)) return *e;
  for (const auto& w : r.mutations) {
    std::optional<Mutation> m = w ? from_wire(*w) : std::nullopt;
    if (!m) return flow::Error(flow::ErrorCode::client_invalid_operation);
    t.bytes += m->param1.size() + m->param2.size() + mutation_overhead_bytes;
    switch (m->type) {
      case MutationType::kClearRange:
        if (m->param2 < m->param1) return flow::Error(flow::ErrorCode::inverted_range);
        if (m->param2 > kKeyspaceEnd) return flow::Error(flow::ErrorCode::key_outside_legal_range);
        if (m->param1 < kKeyspaceEnd && !writable(m->param1))
          return flow::Error(flow::ErrorCode::key_outside_legal_range);
        if (m->param1.size() > key_bytes_max || m->param2.size() > key_bytes_max + 1)
          return flow::Error(flow::ErrorCode::key_too_large);
        // A clear over the shard map's or the lock's keys would change them behind the proxies'
        // backs.
        if (overlaps_recovery_keys(m->param1, m->param2))
          return flow::Error(flow::ErrorCode::key_outside_legal_range);
        break;
      case MutationType::kSetVersionstampedKey: {
        if (!versionstamp_offset(m->param1)) return flow::Error(flow::ErrorCode::client_invalid_operation);
        if (m->param1.size() - 4 > key_bytes_max) return flow::Error(flow::ErrorCode::key_too_large);
        // The stamp's first byte is the version's highest, zero for any version there will be:
        // the key with its placeholder (zeros) is writable exactly when the stamped one is.
        {
          std::string zeros = m->param1.substr(0, m->param1.size() - 4);
          std::fill_n(zeros.begin() + *versionstamp_offset(m->param1), 10, '\0');
          if (!writable(zeros)) return flow::Error(flow::ErrorCode::key_outside_legal_range);
        }
        if (m->param2.size() > value_bytes_max) return flow::Error(flow::ErrorCode::value_too_large);
        break;
      }
      case MutationType::kSetVersionstampedValue:
        if (!writable(m->param1)) return flow::Error(flow::ErrorCode::key_outside_legal_range);
        if (!versionstamp_offset(m->param2)) return flow::Error(flow::ErrorCode::client_invalid_operation);
        if (m->param1.size() > key_bytes_max) return flow::Error(flow::ErrorCode::key_too_large);
        if (m->param2.size() - 4 > value_bytes_max) return flow::Error(flow::ErrorCode::value_too_large);
        break;
      default:
        if (!writable(m->param1)) return flow::Error(flow::ErrorCode::key_outside_legal_range);
        if (m->param1.size() > key_bytes_max) return flow::Error(flow::ErrorCode::key_too_large);
        if (m->param2.size() > value_bytes_max) return flow::Error(flow::ErrorCode::value_too_large);
        break;
    }
    t.mutations.push_back(std::move(*m));
  }
  if (t.bytes > transaction_bytes_max) return flow::Error(flow::ErrorCode::transaction_too_large);
  t.in = std::move(in);
  return t;
}

enum class CommitProxyPhase { kStarting, kAcceptingCommits };

class CommitProxy {
 public:
  explicit CommitProxy(CommitProxyInit init) : init_(std::move(init)) {}

  void start() {
    ASSERT(!init_.resolvers.empty());
    ASSERT(!init_.logs.empty());
    phase_ = CommitProxyPhase::kAcceptingCommits;
    flow::TraceEvent(flow::SevInfo, "CommitProxyStarted")
        .detail("Epoch", static_cast<int64_t>(init_.epoch))
        .detail("Proxy", static_cast<int64_t>(init_.proxy_id))
        .detail("Resolvers", static_cast<int64_t>(init_.resolvers.size()))
        .detail("Logs", static_cast<int64_t>(init_.logs.size()));
  }

  // Ends (stale_epoch) once a log says a recovery has locked it, or has answered for kLogGoneFor
  // that its role is gone; asks every so often. May suspend.
  void watch_epoch() const {
    bool gone = false;                // the last answers were broken_promise
    flow::Time gone_since = flow::now();  // the first of them
    for (;;) {
      flow::wait(flow::delay(kEpochCheckInterval));
      wire_tlog::TLogConfirmRequestT confirm;
      confirm.epoch = init_.epoch;
      std::vector<flow::Future<wire_tlog::TLogConfirmReplyT>> confirmed;
      for (const TLogInterface& log : init_.logs) confirmed.push_back(log.confirm.get_reply(confirm));
      std::optional<flow::ErrorCode> failed;
      try {
        flow::wait(flow::quorum(std::move(confirmed), init_.logs.size()));
      } catch (const flow::Error& e) {
        if (e.code() == flow::ErrorCode::operation_cancelled) throw;
        failed = e.code();
      }
      if (failed != flow::ErrorCode::broken_promise) gone = false;
      if (!failed) continue;
      if (*failed == flow::ErrorCode::broken_promise) {
        if (!gone) gone_since = flow::now();
        gone = true;
        if (flow::now() - gone_since < kLogGoneFor) continue;  // restarting, perhaps
        CODE_PROBE(true, "commit proxy takes a log gone for good for its generation's end");
        flow::TraceEvent(flow::SevWarn, "CommitProxyLogGone")
            .detail("Epoch", static_cast<int64_t>(init_.epoch))
            .detail("Proxy", static_cast<int64_t>(init_.proxy_id));
      } else if (*failed != flow::ErrorCode::stale_epoch) {
        continue;  // unreachable: asked again later
      }
      flow::TraceEvent(flow::SevInfo, "CommitProxyEpochEnded")
          .detail("Epoch", static_cast<int64_t>(init_.epoch))
          .detail("Proxy", static_cast<int64_t>(init_.proxy_id));
      throw flow::Error(flow::ErrorCode::stale_epoch);
    }
  }

  // Gathers transactions into batches and starts committing each as it closes. May suspend.
  void gather(const CommitTransactionStream& stream, flow::ActorCollection& batches) {
    const auto requests = stream.requests();
    const auto launch = [&](std::vector<Transaction> batch) {
      const uint64_t number = ++requests_made_;
      ++batches_in_flight_;
      batches.add(flow::spawn([this, number, b = std::move(batch)]() mutable {
        struct Done {
          CommitProxy& proxy;
          ~Done() {
            --proxy.batches_in_flight_;
            proxy.batch_done_.trigger();
          }
        } done{*this};
        commit_batch(number, std::move(b));
        check_invariants();
      }));
    };
    // The mutations a generation starts with (the shard map) go at once, in a batch of no
    // transaction: they are in the database before any client's commit through this proxy.
    if (!init_.first_batch_mutations.empty()) launch({});
    // A transaction that would have taken a batch past its bytes starts the next one.
    std::optional<Transaction> carried;
    for (;;) {
      std::vector<Transaction> batch;
      size_t bytes = 0;
      const auto add = [&](Transaction t) {
        bytes += t.bytes;
        batch.push_back(std::move(t));
      };
      const auto take = [&](ReceivedCommit in) {
        flow::ErrorOr<Transaction> t = check_transaction(in);
        if (!t.ok()) {
          CODE_PROBE(true, "commit proxy refuses a transaction that breaks a limit or a rule");
          in.reply.send_error(t.error());
          return;
        }
        if (!init_.lock_uid.empty() && !t.get().lock_aware) {
          CODE_PROBE(true, "commit proxy refuses a transaction of a locked database");
          t.get().in.reply.send_error(flow::Error(flow::ErrorCode::database_locked));
          return;
        }
        if (!batch.empty() && bytes + t.get().bytes > kBatchBytesMax) {
          CODE_PROBE(true, "commit proxy carries a transaction over to the next batch");
          carried = std::move(t.get());
          return;
        }
        add(std::move(t.get()));
      };
      if (carried) {
        add(std::move(*carried));
        carried.reset();
      } else {
        take(flow::wait_next(requests));
      }
      if (batch.empty()) continue;  // its first transaction was refused
      const size_t count_max = flow::buggify() ? static_cast<size_t>(flow::deterministic_random().random_int(1, 5))
                                               : kBatchCountMax;
      // The batch stays open while the pipeline is full, then takes what came, up to its bounds
      // (the rest starts the next batch).
      if (flow::buggify()) {
        flow::wait(flow::delay(flow::deterministic_random().random_duration(0ms, 20ms)));
      } else {
        const flow::Time deadline = flow::now() + kBatchIntervalMax;
        while (batches_in_flight_ >= kBatchesInFlightMax && flow::now() < deadline)
          flow::wait_any(batch_done_.on_trigger(), flow::delay_until(deadline));
        CODE_PROBE(batches_in_flight_ >= kBatchesInFlightMax, "commit proxy closes a batch at its longest interval");
        flow::yield();  // what already arrived joins
      }
      while (batch.size() < count_max && !carried && requests.is_ready())
        take(flow::wait_next(requests));
      if (batch.empty()) continue;
      CODE_PROBE(batch.size() > 1, "commit proxy commits several transactions in one batch");
      launch(std::move(batch));
    }
  }

  void locations(ReceivedLocations in) {
    const auto& r = in.request;
    std::string begin = as_string(r.begin), end = as_string(r.end);
    if (end < begin) return in.reply.send_error(flow::Error(flow::ErrorCode::inverted_range));
    if (r.limit <= 0) return in.reply.send_error(flow::Error(flow::ErrorCode::client_invalid_operation));
    if (begin >= kKeyspaceEnd) return in.reply.send_error(flow::Error(flow::ErrorCode::key_outside_legal_range));
    if (end > kKeyspaceEnd) end = std::string(kKeyspaceEnd);
    if (begin == end) end = begin + '\0';
    wire_proxy::GetKeyServerLocationsReplyT reply;
    std::vector<size_t> overlapping = init_.shards.shards_overlapping(begin, end);
    if (r.reverse) std::reverse(overlapping.begin(), overlapping.end());
    for (size_t i : overlapping) {
      if (static_cast<int32_t>(reply.shards.size()) >= r.limit) break;
      reply.shards.push_back(std::make_unique<wire_proxy::ShardLocationT>(to_wire(init_.shards.shards()[i])));
    }
    in.reply.send(reply);
  }

  void check_invariants() const {
    ASSERT(phase_ == CommitProxyPhase::kAcceptingCommits);
    ASSERT_LE(most_recent_processed_, requests_made_);
    for (uint64_t n : processed_out_of_order_) ASSERT_GT(n, most_recent_processed_ + 1);
    ASSERT_LE(known_committed_, last_version_);
  }

 private:
  // Sends `request` on `stream` until an answer comes: a failed connection (the peer may or may
  // not have it) means sending it again, and so does a dropped request where `restarts` (a log
  // restarts in place after a disk error and drops what it held); any other error is thrown.
  // May suspend.
  template <class Stream, class Request>
  static auto ask(const Stream& stream, const Request& request, bool restarts = false) {
    for (;;) {
      std::optional<flow::Error> failed;
      try {
        return flow::wait(stream.get_reply(request));
      } catch (const flow::Error& e) {
        const bool again = e.code() == flow::ErrorCode::request_maybe_delivered ||
                           (restarts && e.code() == flow::ErrorCode::broken_promise);
        if (!again) throw;
        failed = e;
      }
      CODE_PROBE(true, "commit proxy sends a request again after a failed connection");
      flow::wait(flow::delay(kRetryDelay));
    }
  }

  // Commits the batch numbered `number` and answers its transactions. May suspend.
  void commit_batch(uint64_t number, std::vector<Transaction> batch) {
    // 1. A version, and the one before it.
    wire_master::GetCommitVersionRequestT ask_version;
    ask_version.epoch = init_.epoch;
    ask_version.proxy_id = init_.proxy_id;
    ask_version.request_number = number;
    ask_version.most_recent_processed = most_recent_processed_;
    const wire_master::GetCommitVersionReplyT v = ask(init_.master.get_commit_version, ask_version);
    processed(number);
    if (v.request_number != number || v.version <= v.prev_version) {
      flow::TraceEvent(flow::SevError, "CommitProxyBadCommitVersion")
          .detail("RequestNumber", static_cast<int64_t>(number))
          .detail("Version", v.version)
          .detail("PrevVersion", v.prev_version);
      throw flow::Error(flow::ErrorCode::internal_error);
    }
    last_version_ = std::max(last_version_, v.version);

    // 2. Every resolver, with the ranges in its keys; the reads' original indices kept.
    std::vector<std::vector<std::vector<uint32_t>>> read_index(init_.resolvers.size());
    std::vector<flow::Future<wire_resolver::ResolveBatchReplyT>> answers;
    for (size_t r = 0; r < init_.resolvers.size(); ++r) {
      const KeyRange& keys = init_.resolvers[r].keys;
      wire_resolver::ResolveBatchRequestT request;
      request.epoch = init_.epoch;
      request.prev_version = v.prev_version;
      request.version = v.version;
      read_index[r].resize(batch.size());
      for (size_t t = 0; t < batch.size(); ++t) {
        auto ranges = std::make_unique<wire_resolver::TransactionRangesT>();
        ranges->read_version = batch[t].read_version;
        ranges->report_conflicting_reads = batch[t].report_conflicting_keys;
        const auto cut = [&keys](const KeyRange& k) -> std::unique_ptr<wire_resolver::KeyRangeT> {
          const std::string& b = std::max(k.begin, keys.begin);
          const std::string& e = std::min(k.end, keys.end);
          if (!(b < e)) return nullptr;
          auto w = std::make_unique<wire_resolver::KeyRangeT>();
          w->begin = as_bytes(b);
          w->end = as_bytes(e);
          return w;
        };
        for (size_t i = 0; i < batch[t].reads.size(); ++i) {
          if (auto w = cut(batch[t].reads[i])) {
            ranges->reads.push_back(std::move(w));
            read_index[r][t].push_back(static_cast<uint32_t>(i));
          }
        }
        for (const KeyRange& k : batch[t].writes)
          if (auto w = cut(k)) ranges->writes.push_back(std::move(w));
        request.transactions.push_back(std::move(ranges));
      }
      answers.push_back(flow::spawn([stream = init_.resolvers[r].resolver.resolve, request = std::move(request)] {
        return ask(stream, request);
      }));
    }
    std::vector<wire_resolver::ResolveBatchReplyT> verdicts;
    for (auto& a : answers) verdicts.push_back(flow::wait(a));
    for (const auto& reply : verdicts) {
      if (reply.verdicts.size() != batch.size()) {
        flow::TraceEvent(flow::SevError, "CommitProxyResolverAnswerMalformed")
            .detail("Verdicts", static_cast<int64_t>(reply.verdicts.size()))
            .detail("Transactions", static_cast<int64_t>(batch.size()));
        throw flow::Error(flow::ErrorCode::internal_error);
      }
    }

    // 3. Each transaction's fate; the committed ones' mutations, tagged.
    enum class Fate { kCommitted, kConflict, kTooOld };
    std::vector<Fate> fate(batch.size(), Fate::kCommitted);
    std::vector<std::vector<uint32_t>> conflicting(batch.size());
    auto tlog_commit = std::make_unique<wire_tlog::TLogCommitRequestT>();
    tlog_commit->epoch = init_.epoch;
    tlog_commit->prev_version = v.prev_version;
    tlog_commit->version = v.version;
    tlog_commit->known_committed_version = known_committed_;
    if (number == 1) {
      CODE_PROBE(!init_.first_batch_mutations.empty(), "commit proxy writes the bring-up's mutations with its first batch");
      for (const Mutation& m : init_.first_batch_mutations) {
        auto tagged = std::make_unique<strata::wire::TaggedMutationT>();
        tagged->tags = init_.shards.tags_for(m);
        tagged->mutation = std::make_unique<strata::wire::MutationT>(to_wire(m));
        if (flow::planted(flow::PlantedBug::kLostWrite) && flow::deterministic_random().random01() < 0.002)
          continue;  // the planted lost write (flow/planted_bug.h)
        tlog_commit->messages.push_back(std::move(tagged));
      }
    }
    for (size_t t = 0; t < batch.size(); ++t) {
      for (size_t r = 0; r < verdicts.size(); ++r) {
        const auto verdict = verdicts[r].verdicts[t];
        if (verdict == wire_resolver::Verdict::TooOld) fate[t] = Fate::kTooOld;
        if (verdict == wire_resolver::Verdict::Conflict) {
          if (fate[t] == Fate::kCommitted) fate[t] = Fate::kConflict;
          if (t < verdicts[r].conflicting_reads.size() && verdicts[r].conflicting_reads[t]) {
            for (uint32_t i : verdicts[r].conflicting_reads[t]->indices)
              if (i < read_index[r][t].size()) conflicting[t].push_back(read_index[r][t][i]);
          }
        }
      }
      if (fate[t] != Fate::kCommitted) continue;
      const Versionstamp stamp = make_versionstamp(v.version, static_cast<uint16_t>(t));
      for (Mutation m : batch[t].mutations) {
        if (m.type == MutationType::kSetVersionstampedKey) {
          m = {MutationType::kSet, place_versionstamp(m.param1, stamp), std::move(m.param2)};
          if (!writable(m.param1)) {
            // Checked with the placeholder before the batch: cannot happen.
            flow::TraceEvent(flow::SevError, "CommitProxyStampedKeyNotWritable").detail("Version", v.version);
            continue;
          }
        } else if (m.type == MutationType::kSetVersionstampedValue) {
          m = {MutationType::kSet, std::move(m.param1), place_versionstamp(m.param2, stamp)};
        }
        auto tagged = std::make_unique<strata::wire::TaggedMutationT>();
        tagged->tags = init_.shards.tags_for(m);
        tagged->mutation = std::make_unique<strata::wire::MutationT>(to_wire(m));
        if (flow::planted(flow::PlantedBug::kLostWrite) && flow::deterministic_random().random01() < 0.002)
          continue;  // the planted lost write (flow/planted_bug.h)
        tlog_commit->messages.push_back(std::move(tagged));
      }
    }

    // 4. Every log, even for an empty batch: they chain prev_version -> version.
    std::vector<flow::Future<wire_tlog::TLogCommitReplyT>> pushed;
    for (const TLogInterface& log : init_.logs) {
      pushed.push_back(flow::spawn([stream = log.commit, &request = *tlog_commit] {
        return ask(stream, request, /*restarts=*/true);
      }));
    }
    // Every log must take it; one that refuses (a recovery locked it: stale_epoch) ends the
    // proxy at once, even while another cannot be reached.
    flow::wait(flow::quorum(std::move(pushed), init_.logs.size()));

    // 5. The master hears the version is committed; then the clients.
    wire_master::ReportCommittedRequestT report;
    report.epoch = init_.epoch;
    report.version = v.version;
    ask(init_.master.report_committed, report);
    known_committed_ = std::max(known_committed_, v.version);
    for (size_t t = 0; t < batch.size(); ++t) {
      ReceivedCommit& in = batch[t].in;
      if (fate[t] == Fate::kTooOld) {
        CODE_PROBE(true, "commit proxy answers transaction_too_old");
        in.reply.send_error(flow::Error(flow::ErrorCode::transaction_too_old));
        continue;
      }
      wire_proxy::CommitTransactionReplyT reply;
      if (fate[t] == Fate::kConflict) {
        CODE_PROBE(true, "commit proxy answers a conflict");
        reply.outcome = wire_proxy::CommitOutcome::Conflict;
        std::sort(conflicting[t].begin(), conflicting[t].end());
        conflicting[t].erase(std::unique(conflicting[t].begin(), conflicting[t].end()), conflicting[t].end());
        reply.conflicting_read_ranges = std::move(conflicting[t]);
      } else {
        reply.outcome = wire_proxy::CommitOutcome::Committed;
        reply.version = v.version;
        reply.batch_index = static_cast<uint16_t>(t);
      }
      in.reply.send(reply);
    }
  }

  // The master's reply to request `n` has been used.
  void processed(uint64_t n) {
    processed_out_of_order_.insert(n);
    while (processed_out_of_order_.contains(most_recent_processed_ + 1)) {
      processed_out_of_order_.erase(most_recent_processed_ + 1);
      ++most_recent_processed_;
    }
  }

  CommitProxyInit init_;
  CommitProxyPhase phase_ = CommitProxyPhase::kStarting;
  uint64_t requests_made_ = 0;           // commit version requests numbered so far
  size_t batches_in_flight_ = 0;         // batches between their close and their end
  flow::AsyncTrigger batch_done_;        // a batch ended
  uint64_t most_recent_processed_ = 0;   // every reply up to this one has been used
  std::set<uint64_t> processed_out_of_order_;
  Version last_version_ = 0;             // the newest version the master gave this proxy
  Version known_committed_ = 0;          // the newest version this proxy reported committed
};

}  // namespace

void run_commit_proxy(CommitProxyInterface interface, CommitProxyInit init) {
  CommitProxy proxy(std::move(init));
  proxy.start();
  flow::ActorCollection actors;
  actors.add(flow::spawn([&] { proxy.gather(interface.commit, actors); }));
  actors.add(flow::spawn([&] { proxy.watch_epoch(); }));
  actors.add(flow::spawn([&] {
    const auto requests = interface.get_key_server_locations.requests();
    for (;;) {
      proxy.locations(flow::wait_next(requests));
      proxy.check_invariants();
    }
  }));
  flow::wait(actors.get_result());
}

wire_proxy::ShardLocationT to_wire(const Shard& s) {
  wire_proxy::ShardLocationT location;
  location.begin = as_bytes(s.range.begin);
  location.end = as_bytes(s.range.end);
  for (const StorageServerRef& server : s.servers) {
    auto a = std::make_unique<wire_proxy::StorageServerAddressT>();
    a->ip = server.address.ip;
    a->port = server.address.port;
    a->tag = server.tag;
    location.servers.push_back(std::move(a));
  }
  return location;
}

}  // namespace roles
