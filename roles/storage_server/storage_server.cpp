// The storage server role (docs/database.md, "storage server"; docs/database_disk.md for what it
// keeps in its engine): pulls its tag's mutations from a log, keeps the versions of the read
// window in memory (VersionedData) over its engine, makes older versions durable in one engine
// commit with the version they reach, pops the logs, and serves reads at a version. After a
// recovery it rolls back what it applied past the recovery version and pulls from the new
// generation of logs (LogSystem).

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "flow/actor.h"
#include "flow/actor_collection.h"
#include "flow/assert.h"
#include "flow/async_trigger.h"
#include "flow/async_var.h"
#include "flow/buggify.h"
#include "flow/code_probe.h"
#include "flow/combinators.h"
#include "flow/deterministic_random.h"
#include "flow/planted_bug.h"
#include "flow/process.h"
#include "flow/trace_event.h"
#include "net/message.h"
#include "roles/common/atomic.h"
#include "roles/common/limits.h"
#include "roles/storage_server/read_at_version.h"
#include "roles/storage_server/storage_server_interface.h"
#include "roles/storage_server/versioned_data.h"
#include "storage/key_value_store.h"

namespace roles {

namespace {

using namespace std::chrono_literals;

// Well-known endpoint tokens: kTokenBase + 4 * tag + {0, 1, 2, 3}.
constexpr uint64_t kTokenBase = 0x5353'0000;
constexpr uint64_t kTokensPerServer = 5;  // the interface's streams, by tag
// How long a read at a version the server has not reached waits before future_version.
constexpr flow::Duration kFutureVersionWait = 1s;
// How often versions older than the window are made durable.
constexpr flow::Duration kDurabilityInterval = 250ms;
// Mutations made durable in one engine commit, about (a version goes whole).
constexpr size_t kDurableStepMutations = 250;
// Backoff when a log cannot be reached.
constexpr flow::Duration kPeekRetryDelay = 50ms;
// The server's own records in its engine (docs/database_disk.md); no client key is this high.
constexpr std::string_view kMetaPrefix = "\xff\xff/ss/";
constexpr std::string_view kFormat = "SSF1";

std::string meta_key(std::string_view name) {
  return std::string(kMetaPrefix) + std::string(name);
}

std::string encode_version(Version v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(static_cast<uint64_t>(v) >> (56 - 8 * i));
  return out;
}

std::optional<Version> decode_version(std::string_view s) {
  if (s.size() != 8) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) v = (v << 8) | static_cast<uint8_t>(c);
  return static_cast<Version>(v);
}

std::string as_string(const std::vector<uint8_t>& bytes) {
  return std::string(bytes.begin(), bytes.end());
}

std::vector<uint8_t> as_bytes(std::string_view s) {
  return std::vector<uint8_t>(s.begin(), s.end());
}

using ReceivedGetValue =
    net::ReceivedRequest<wire_storage::GetValueRequestT, wire_storage::GetValueReplyT>;
using ReceivedGetKey = net::ReceivedRequest<wire_storage::GetKeyRequestT, wire_storage::GetKeyReplyT>;
using ReceivedGetKeyValues =
    net::ReceivedRequest<wire_storage::GetKeyValuesRequestT, wire_storage::GetKeyValuesReplyT>;
using ReceivedGetMetrics = net::ReceivedRequest<wire_storage::GetMetricsRequestT, wire_storage::GetMetricsReplyT>;
using ReceivedSetLogSystem =
    net::ReceivedRequest<wire_storage::SetLogSystemRequestT, wire_storage::SetLogSystemReplyT>;

std::string encode_log_system(const LogSystem& logs) {
  wire_storage::SetLogSystemRequestT w;
  w.log_system = std::make_unique<wire_tlog::LogSystemT>(to_wire(logs));
  flatbuffers::FlatBufferBuilder builder;
  net::encode_message(builder, w);
  return std::string(reinterpret_cast<const char*>(builder.GetBufferPointer()), builder.GetSize());
}

std::optional<LogSystem> decode_log_system(std::string_view bytes) {
  const std::vector<uint8_t> aligned(bytes.begin(), bytes.end());
  flow::ErrorOr<wire_storage::SetLogSystemRequestT> w = net::decode_message<wire_storage::SetLogSystemRequestT>(aligned);
  if (!w.ok() || !w.get().log_system) return std::nullopt;
  return from_wire(*w.get().log_system);
}

enum class StorageServerPhase { kOpening, kServing };

class StorageServer {
 public:
  explicit StorageServer(StorageServerInit init)
      : init_(std::move(init)), data_(0), logs_(LogSystem::single(init_.epoch, init_.logs)) {}

  // Opens the engine and reads (or, for an empty one, writes) the server's own records. May
  // suspend.
  void open() {
    engine_ = storage::open_key_value_store(init_.engine, flow::current_process().file_system(),
                                            init_.name, init_.engine_options);
    const std::optional<std::string> format = engine_->read_value(meta_key("format"));
    if (!format) {
      if (!engine_->read_range("", "\xff\xff\xff", {.rows = 1}).rows.empty()) {
        flow::TraceEvent(flow::SevWarnAlways, "StorageServerMetadataMissing").detail("Name", init_.name);
        throw flow::Error(flow::ErrorCode::checksum_failed);
      }
      engine_->set(meta_key("format"), kFormat);
      engine_->set(meta_key("tag"), std::string{static_cast<char>(init_.tag >> 8),
                                                static_cast<char>(init_.tag & 0xff)});
      engine_->set(meta_key("durable_version"), encode_version(init_.start_version));
      engine_->commit();
    }
    const std::optional<std::string> tag = engine_->read_value(meta_key("tag"));
    const std::optional<std::string> durable = engine_->read_value(meta_key("durable_version"));
    std::optional<Version> durable_version;
    if (durable) durable_version = decode_version(*durable);
    if (engine_->read_value(meta_key("format")) != std::string(kFormat) || !tag ||
        tag->size() != 2 || !durable_version) {
      flow::TraceEvent(flow::SevWarnAlways, "StorageServerMetadataMissing").detail("Name", init_.name);
      throw flow::Error(flow::ErrorCode::checksum_failed);
    }
    const Tag stored = static_cast<Tag>((static_cast<uint8_t>((*tag)[0]) << 8) |
                                        static_cast<uint8_t>((*tag)[1]));
    if (stored != init_.tag) {
      flow::TraceEvent(flow::SevWarnAlways, "StorageServerWrongTag")
          .detail("Stored", stored)
          .detail("Expected", init_.tag);
      throw flow::Error(flow::ErrorCode::checksum_failed);
    }
    if (const std::optional<std::string> log_system = engine_->read_value(meta_key("log_system"))) {
      std::optional<LogSystem> logs = decode_log_system(*log_system);
      if (!logs) {
        flow::TraceEvent(flow::SevWarnAlways, "StorageServerLogSystemUnreadable").detail("Name", init_.name);
        throw flow::Error(flow::ErrorCode::checksum_failed);
      }
      if (logs->epoch() > logs_.epoch()) {
        CODE_PROBE(true, "storage server restarts with a recovery's log system");
        logs_ = std::move(*logs);
      }
    }
    durable_log_epoch_.set(logs_.epoch());
    data_ = VersionedData(*durable_version);
    oldest_readable_ = *durable_version;
    known_committed_ = *durable_version;
    version_.set(*durable_version);
    phase_ = StorageServerPhase::kServing;
    CODE_PROBE(*durable_version > init_.start_version, "storage server recovers from its engine");
    flow::TraceEvent(flow::SevInfo, "StorageServerStarted")
        .detail("Tag", init_.tag)
        .detail("Engine", init_.engine)
        .detail("DurableVersion", *durable_version);
  }

  // Pulls the tag's versions from the logs and applies them, for ever; takes up a recovery's
  // log system between peeks. May suspend.
  void pull() {
    size_t log = init_.tag;  // which of a generation's logs to peek; the next after a failure
    for (;;) {
      adopt_pending();
      const Version begin = version_.get() + 1;
      const LogGeneration& generation = logs_.generation_of(begin);
      const bool current = &generation == &logs_.current();
      const Version end = generation.end_version;
      wire_tlog::TLogPeekRequestT request;
      request.epoch = generation.epoch;
      request.tag = init_.tag;
      request.begin_version = begin;
      flow::Future<wire_tlog::TLogPeekReplyT> peeked =
          generation.logs[log % generation.logs.size()].peek.get_reply(request);
      const size_t generation_logs = generation.logs.size();
      if (flow::wait_any(peeked, log_system_changed_.on_trigger()) == 1) {
        CODE_PROBE(true, "storage server drops a peek for a recovery's log system");
        continue;
      }
      std::optional<wire_tlog::TLogPeekReplyT> reply;
      std::optional<flow::Error> failed;
      try {
        reply = flow::wait(peeked);
      } catch (const flow::Error& e) {
        if (e.code() == flow::ErrorCode::operation_cancelled) throw;
        failed = e;
      }
      if (failed) {
        if (failed->code() == flow::ErrorCode::stale_epoch) throw *failed;
        CODE_PROBE(true, "storage server peeks another log after a failed peek");
        log = (log + 1) % generation_logs;
        flow::wait(flow::delay(kPeekRetryDelay));
        continue;
      }
      if (!current) {
        // An older generation: only its versions up to its end count (a log that was not locked
        // may hold more, which the recovery discarded), and all of them are committed.
        CODE_PROBE(true, "storage server pulls from an older generation of logs");
        std::erase_if(reply->versions, [end](const auto& v) { return v && v->version > end; });
        reply->end_version = std::min(reply->end_version, end + 1);
        reply->known_committed_version = std::min(end, reply->end_version - 1);
      }
      // Never past what the reply covers: a wrong peer must not make uncommitted versions durable.
      known_committed_ = std::max(known_committed_, std::min(reply->known_committed_version, reply->end_version - 1));
      apply(request.begin_version, *reply);
    }
  }

  // Takes `in`'s log system up (between two peeks) and answers once it is durable. May suspend.
  // What it holds, for status. May suspend (the engine counts its files).
  void get_metrics(ReceivedGetMetrics in) {
    if (!engine_) {
      in.reply.send_error(flow::Error(flow::ErrorCode::future_version));  // still opening
      return;
    }
    const storage::StorageBytes bytes = engine_->storage_bytes();
    wire_storage::GetMetricsReplyT reply;
    reply.live_bytes = bytes.live_bytes;
    reply.disk_bytes = bytes.disk_bytes;
    reply.version = version_.get();
    reply.durable_version = data_.durable();
    in.reply.send(reply);
  }

  void set_log_system(ReceivedSetLogSystem in) {
    std::optional<LogSystem> next = in.request.log_system ? from_wire(*in.request.log_system) : std::nullopt;
    if (!next) {
      flow::TraceEvent(flow::SevWarnAlways, "StorageServerLogSystemMalformed").detail("Tag", init_.tag);
      return in.reply.send_error(flow::Error(flow::ErrorCode::invalid_role_request));
    }
    const uint64_t epoch = next->epoch();
    if (epoch > logs_.epoch() && (!pending_ || epoch > pending_->epoch())) {
      pending_ = std::move(*next);
      log_system_changed_.trigger();
    }
    while (durable_log_epoch_.get() < epoch && logs_.epoch() <= epoch) flow::wait(durable_log_epoch_.on_change());
    wire_storage::SetLogSystemReplyT reply;
    reply.durable_version = data_.durable();
    in.reply.send(reply);
  }

  // Makes versions older than the window durable, every so often, for ever. May suspend.
  void make_durable() {
    for (;;) {
      flow::wait(flow::delay(flow::buggify() ? flow::deterministic_random().random_duration(0ms, 1s)
                                             : kDurabilityInterval));
      const Version window = flow::buggify() ? 1'000'000 : kMaxReadTransactionLifeVersions;
      // Only committed versions: a recovery may roll back the others, and the engine cannot.
      const Version target = std::min(std::min(version_.get(), data_.latest()) - window, known_committed_);
      CODE_PROBE(target == known_committed_ && target > data_.durable(),
                 "storage server's durability waits for the logs' known committed version");
      // In steps of about kDurableStepMutations, so that a busy interval's versions do not hold
      // the process's one thread for long (reads and commits wait behind it).
      while (target > data_.durable() || durable_log_epoch_.get() < logs_.epoch()) {
        const size_t most = flow::buggify() ? static_cast<size_t>(flow::deterministic_random().random_int(1, 10))
                                            : kDurableStepMutations;
        const Version desired = std::max(data_.durable(), data_.step_towards(std::max(target, data_.durable()), most));
        CODE_PROBE(desired < target, "storage server makes versions durable in more than one step");
        // Reads below `desired` could see the engine as it takes these versions: they are too
        // old from now on.
        oldest_readable_ = std::max(oldest_readable_, desired);
        for (const VersionedMutation& m : data_.mutations_through(desired)) {
          if (m.mutation.type == MutationType::kSet) engine_->set(m.mutation.param1, m.mutation.param2);
          else engine_->clear(m.mutation.param1, m.mutation.param2);
        }
        engine_->set(meta_key("durable_version"), encode_version(desired));
        durable_in_flight_ = desired;  // a rollback meanwhile must not go below it
        const uint64_t log_epoch = logs_.epoch();
        if (durable_log_epoch_.get() < log_epoch) engine_->set(meta_key("log_system"), encode_log_system(logs_));
        engine_->commit();
        durable_in_flight_ = 0;
        data_.forget_through(desired);
        if (durable_log_epoch_.get() < log_epoch) durable_log_epoch_.set(log_epoch);
        CODE_PROBE(true, "storage server makes versions durable");
        for (const LogGeneration& g : logs_.generations) {
          for (const TLogInterface& log : g.logs) {
            wire_tlog::TLogPopRequestT pop;
            pop.epoch = g.epoch;
            pop.tag = init_.tag;
            pop.version = desired + 1;
            log.pop.send(pop);  // one-way: a lost pop is sent again with the next
          }
        }
        check_invariants();
        flow::yield();
      }
    }
  }

  // `version`, unless the stale-read bug is planted (flow/planted_bug.h): then now and then a
  // version below it, still readable.
  Version planted_stale(Version version) {
    if (!flow::planted(flow::PlantedBug::kStaleRead)) return version;
    auto& rng = flow::deterministic_random();
    if (rng.random01() >= 0.02) return version;
    return std::max(oldest_readable_, version - rng.random_int(1, 1'000'000));
  }

  // May suspend.
  void get_value(ReceivedGetValue in) {
    const std::string key = as_string(in.request.key);
    const std::optional<flow::Error> refused = check_read(key, key, in.request.version);
    if (refused) return in.reply.send_error(*refused);
    std::optional<std::string> value;
    const Version version = planted_stale(in.request.version);
    if (!too_old_if_overtaken([&] { value = read_value_at(*engine_, data_, key, version); }) ||
        in.request.version < oldest_readable_)
      return in.reply.send_error(too_old());
    wire_storage::GetValueReplyT reply;
    reply.present = value.has_value();
    if (value) reply.value = as_bytes(*value);
    in.reply.send(reply);
  }

  // May suspend.
  void get_key_values(ReceivedGetKeyValues in) {
    const auto& r = in.request;
    const std::string begin = as_string(r.begin), end = as_string(r.end);
    if (begin > end) return in.reply.send_error(flow::Error(flow::ErrorCode::inverted_range));
    if (r.limit_rows <= 0 || r.limit_bytes <= 0)
      return in.reply.send_error(flow::Error(flow::ErrorCode::client_invalid_operation));
    const std::optional<flow::Error> refused = check_read(begin, end, r.version);
    if (refused) return in.reply.send_error(*refused);
    storage::RangeResult rows;
    if (!too_old_if_overtaken([&] {
          rows = read_range_at(*engine_, data_, begin, end, planted_stale(r.version),
                               {.rows = r.limit_rows, .bytes = r.limit_bytes, .reverse = r.reverse});
        }) ||
        r.version < oldest_readable_)
      return in.reply.send_error(too_old());
    wire_storage::GetKeyValuesReplyT reply;
    reply.more = rows.more;
    reply.rows.reserve(rows.rows.size());
    for (const storage::KeyValue& kv : rows.rows) {
      auto row = std::make_unique<wire_storage::KeyValueT>();
      row->key = as_bytes(kv.key);
      row->value = as_bytes(kv.value);
      reply.rows.push_back(std::move(row));
    }
    in.reply.send(reply);
  }

  // May suspend.
  void get_key(ReceivedGetKey in) {
    const auto& r = in.request;
    if (!r.selector) return in.reply.send_error(flow::Error(flow::ErrorCode::client_invalid_operation));
    const std::string key = as_string(r.selector->key);
    const int32_t offset = r.selector->offset;
    const bool forward = offset > 0;
    // The base is the last key < key (<= key with or_equal), so the keys that count lie at or
    // after `split` going forward, before it going back; offset 1 is the first key at or after it.
    const std::string split = r.selector->or_equal ? key + '\0' : key;
    // The shard to read: the one holding keys on the selector's side of `split`, or else the one
    // whose edge `split` is (nothing of it counts: the answer is to go on past that edge).
    const KeyRange* shard = nullptr;
    for (const KeyRange& s : init_.shards) {
      if (forward ? (s.begin <= split && split < s.end) : (s.begin < split && split <= s.end)) {
        shard = &s;
        break;
      }
    }
    if (!shard) {
      for (const KeyRange& s : init_.shards)
        if (forward ? s.end == split : s.begin == split) shard = &s;
    }
    if (!shard) return in.reply.send_error(flow::Error(flow::ErrorCode::wrong_shard_server));
    const std::optional<flow::Error> refused = check_read(shard->begin, shard->begin, r.version);
    if (refused) return in.reply.send_error(*refused);
    // Forward: the offset-th key at or after `split`; backward: the (1 - offset)-th before it.
    const int64_t want = forward ? offset : 1 - static_cast<int64_t>(offset);
    const std::string& lo = forward ? std::max(split, shard->begin) : shard->begin;
    const std::string& hi = forward ? shard->end : std::min(split, shard->end);
    storage::RangeResult rows;
    if (!too_old_if_overtaken([&] {
          rows = read_range_at(*engine_, data_, lo, hi, r.version, {.rows = want, .reverse = !forward});
        }) ||
        r.version < oldest_readable_)
      return in.reply.send_error(too_old());
    wire_storage::GetKeyReplyT reply;
    if (static_cast<int64_t>(rows.rows.size()) == want) {
      reply.resolved = true;
      reply.key = as_bytes(rows.rows.back().key);
    } else {
      CODE_PROBE(true, "storage server's key selector runs off its shard");
      const auto found = static_cast<int32_t>(rows.rows.size());
      reply.resolved = false;
      reply.key = as_bytes(forward ? shard->end : shard->begin);
      reply.offset = forward ? offset - found : offset + found;
    }
    in.reply.send(reply);
  }

  void check_invariants() const {
    ASSERT(phase_ == StorageServerPhase::kServing);
    ASSERT_LE(data_.durable(), oldest_readable_);
    ASSERT_LE(data_.durable(), data_.latest());
    // Mid-version (an atomic operation waits on the engine) the data is ahead of the version
    // reads may use; between versions they agree.
    if (applying_) ASSERT_GE(data_.latest(), version_.get());
    else ASSERT_EQ(data_.latest(), version_.get());
  }

 private:
  // Runs the read `f`; false if a flush overtook it (transaction_too_old), any other error
  // thrown on. May suspend.
  template <class F>
  static bool too_old_if_overtaken(F f) {
    try {
      f();
      return true;
    } catch (const flow::Error& e) {
      if (e.code() != flow::ErrorCode::transaction_too_old) throw;
      CODE_PROBE(true, "storage server's read is overtaken by a flush");
      return false;
    }
  }

  static flow::Error too_old() {
    CODE_PROBE(true, "storage server refuses a read too old for its window");
    return flow::Error(flow::ErrorCode::transaction_too_old);
  }

  // Waits (bounded) for the server to reach `version`; then whether it may serve [begin, end]
  // at it: the error to answer with if not. May suspend.
  std::optional<flow::Error> check_read(std::string_view begin, std::string_view end, Version version) {
    if (!owns(begin, end)) {
      CODE_PROBE(true, "storage server refuses keys it does not own");
      return flow::Error(flow::ErrorCode::wrong_shard_server);
    }
    if (version < oldest_readable_) return too_old();
    if (version_.get() < version) {
      const flow::Time deadline = flow::now() + kFutureVersionWait;
      while (version_.get() < version) {
        if (flow::wait_any(version_.on_change(), flow::delay_until(deadline)) == 1) {
          CODE_PROBE(true, "storage server answers future_version");
          return flow::Error(flow::ErrorCode::future_version);
        }
      }
    }
    if (version < oldest_readable_) return too_old();
    return std::nullopt;
  }

  // Whether one shard holds [begin, end) (a point read passes begin == end).
  bool owns(std::string_view begin, std::string_view end) const {
    for (const KeyRange& s : init_.shards) {
      if (s.begin <= begin && begin < s.end && end <= s.end) return true;
      if (begin == end && s.begin <= begin && begin < s.end) return true;
    }
    return false;
  }

  // Applies a peek reply for versions from `begin`. May suspend (atomic operations read).
  void apply(Version begin, const wire_tlog::TLogPeekReplyT& reply) {
    applying_ = true;
    struct Done {
      bool& flag;
      ~Done() { flag = false; }
    } done{applying_};
    if (reply.popped_version > begin) {
      // The log no longer has versions this server has not applied: its data would have a gap.
      flow::TraceEvent(flow::SevError, "StorageServerDataPopped")
          .detail("Tag", init_.tag)
          .detail("Begin", begin)
          .detail("Popped", reply.popped_version);
      throw flow::Error(flow::ErrorCode::internal_error);
    }
    for (const auto& v : reply.versions) {
      if (!v || v->version < begin || v->version >= reply.end_version || v->version <= data_.latest()) {
        flow::TraceEvent(flow::SevError, "StorageServerPeekOutOfOrder")
            .detail("Version", v ? v->version : -1)
            .detail("Begin", begin)
            .detail("End", reply.end_version);
        throw flow::Error(flow::ErrorCode::internal_error);
      }
      for (const auto& wm : v->mutations) {
        std::optional<Mutation> m = wm ? from_wire(*wm) : std::nullopt;
        if (!m) {
          flow::TraceEvent(flow::SevError, "StorageServerMalformedMutation").detail("Version", v->version);
          continue;
        }
        apply(v->version, *m);
      }
      data_.advance(v->version);
    }
    if (reply.end_version - 1 > data_.latest()) data_.advance(reply.end_version - 1);
    version_.set(data_.latest());
  }

  void apply(Version v, const Mutation& m) {
    switch (m.type) {
      case MutationType::kSet:
        data_.set(v, m.param1, m.param2);
        return;
      case MutationType::kClearRange:
        data_.clear(v, m.param1, m.param2);
        return;
      case MutationType::kSetVersionstampedKey:
      case MutationType::kSetVersionstampedValue:
        // The commit proxy turns these into sets: one here is a bug upstream.
        flow::TraceEvent(flow::SevError, "StorageServerUnresolvedVersionstamp").detail("Version", v);
        return;
      default: {
        const std::optional<std::string> existing = read_value_at(*engine_, data_, m.param1, data_.latest());
        const std::optional<std::string> result =
            apply_atomic(m.type, existing, m.param2, value_bytes_max);
        if (result) data_.set(v, m.param1, *result);
        else data_.clear(v, m.param1, m.param1 + '\0');
        return;
      }
    }
  }

  // Takes up the log system a recovery sent, if any: rolls back what was applied past the end
  // the recovery gave the generation this server pulled from, and pulls from there on.
  void adopt_pending() {
    if (!pending_) return;
    LogSystem next = std::move(*pending_);
    pending_.reset();
    if (next.epoch() <= logs_.epoch()) return;
    // The end of the newest generation this server knew, as the recovery decided it; none if the
    // recovery forgot it (every server made it durable): then what is in memory is suspect.
    Version end = data_.durable();
    for (const LogGeneration& g : next.generations)
      if (g.epoch <= logs_.epoch() && g.end_version != kVersionMax) end = g.end_version;
    // What the engine holds, or is taking now, is committed: a recovery version below it is a
    // wrong peer's or a bug, never rolled back to (nor asserted on).
    const Version durable = std::max(data_.durable(), durable_in_flight_);
    if (end < durable) {
      flow::TraceEvent(flow::SevError, "StorageServerDurablePastRecoveryVersion")
          .detail("Tag", init_.tag)
          .detail("Durable", durable)
          .detail("RecoveryVersion", end);
      end = durable;
    }
    const Version before = data_.latest();
    if (end < before) {
      CODE_PROBE(true, "storage server rolls back versions a recovery discarded");
      data_.rollback(end);
      version_.set(end);
    }
    known_committed_ = std::min(known_committed_, std::max(end, data_.durable()));
    flow::TraceEvent(flow::SevInfo, "StorageServerNewLogSystem")
        .detail("Tag", init_.tag)
        .detail("Epoch", static_cast<int64_t>(next.epoch()))
        .detail("Generations", static_cast<int64_t>(next.generations.size()))
        .detail("RolledBackFrom", before)
        .detail("Version", data_.latest());
    logs_ = std::move(next);
  }

  StorageServerInit init_;
  StorageServerPhase phase_ = StorageServerPhase::kOpening;
  std::unique_ptr<storage::IKeyValueStore> engine_;
  VersionedData data_;
  flow::AsyncVar<Version> version_{0};  // the newest version applied
  LogSystem logs_;                       // where the versions come from
  std::optional<LogSystem> pending_;     // a recovery's, taken up by pull() between peeks
  flow::AsyncTrigger log_system_changed_;
  flow::AsyncVar<uint64_t> durable_log_epoch_{0};  // the epoch of the log system in the engine
  Version known_committed_ = 0;          // nothing newer may go to the engine
  Version durable_in_flight_ = 0;        // the version an engine commit under way reaches; 0: none
  Version oldest_readable_ = 0;
  bool applying_ = false;  // apply() of a peek reply is under way (it may wait on the engine)
};

template <class Received, class Fn>
void serve(const flow::FutureStream<Received>& requests, flow::ActorCollection& actors, Fn handle) {
  for (;;) actors.add(flow::spawn(handle, flow::wait_next(requests)));
}

}  // namespace

StorageServerInterface StorageServerInterface::remote(flow::NetworkAddress address, Tag tag) {
  const uint64_t base = kTokenBase + kTokensPerServer * static_cast<uint64_t>(tag);
  return {GetValueStream(net::Endpoint{address, net::well_known_token(base)}),
          GetKeyStream(net::Endpoint{address, net::well_known_token(base + 1)}),
          GetKeyValuesStream(net::Endpoint{address, net::well_known_token(base + 2)}),
          SetLogSystemStream(net::Endpoint{address, net::well_known_token(base + 3)}),
          GetMetricsStream(net::Endpoint{address, net::well_known_token(base + 4)})};
}

void run_storage_server(StorageServerInit init) {
  const uint64_t base = kTokenBase + kTokensPerServer * static_cast<uint64_t>(init.tag);
  const StorageServerInterface interface{
      GetValueStream::well_known(net::well_known_token(base)),
      GetKeyStream::well_known(net::well_known_token(base + 1)),
      GetKeyValuesStream::well_known(net::well_known_token(base + 2)),
      SetLogSystemStream::well_known(net::well_known_token(base + 3)),
      GetMetricsStream::well_known(net::well_known_token(base + 4))};
  StorageServer server(std::move(init));
  server.open();
  flow::ActorCollection actors;
  actors.add(flow::spawn([&] { server.pull(); }));
  actors.add(flow::spawn([&] { server.make_durable(); }));
  actors.add(flow::spawn([&] {
    serve(interface.set_log_system.requests(), actors,
          [&server](ReceivedSetLogSystem in) { server.set_log_system(std::move(in)); });
  }));
  actors.add(flow::spawn([&] {
    serve(interface.get_value.requests(), actors,
          [&server](ReceivedGetValue in) {
            server.get_value(std::move(in));
            server.check_invariants();
          });
  }));
  actors.add(flow::spawn([&] {
    serve(interface.get_key.requests(), actors,
          [&server](ReceivedGetKey in) {
            server.get_key(std::move(in));
            server.check_invariants();
          });
  }));
  actors.add(flow::spawn([&] {
    serve(interface.get_metrics.requests(), actors,
          [&server](ReceivedGetMetrics in) { server.get_metrics(std::move(in)); });
  }));
  actors.add(flow::spawn([&] {
    serve(interface.get_key_values.requests(), actors,
          [&server](ReceivedGetKeyValues in) {
            server.get_key_values(std::move(in));
            server.check_invariants();
          });
  }));
  flow::wait(actors.get_result());
}

}  // namespace roles
