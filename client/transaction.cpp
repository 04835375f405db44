#include "client/transaction.h"

#include <algorithm>
#include <chrono>

#include "client/database.h"
#include "flow/code_probe.h"
#include "flow/combinators.h"
#include "flow/deterministic_random.h"
#include "roles/common/atomic.h"
#include "roles/common/limits.h"
#include "roles/common/shard_map.h"

namespace client {

namespace {

using namespace std::chrono_literals;
using flow::Error;
using flow::ErrorCode;

constexpr flow::Duration kBackoffMin = 10ms;
constexpr flow::Duration kBackoffMax = 1s;
// A read of a server that cannot be reached is tried again this much later.
constexpr flow::Duration kReadRetryDelay = 20ms;
// A range read asks a server for at most this much at a time.
constexpr int64_t kChunkRows = 1000;
constexpr int32_t kChunkBytes = 1 << 20;

bool retryable(ErrorCode code) {
  switch (code) {
    case ErrorCode::not_committed:
    case ErrorCode::transaction_too_old:
    case ErrorCode::future_version:
    case ErrorCode::commit_unknown_result:
    case ErrorCode::wrong_shard_server:
    case ErrorCode::request_maybe_delivered:
    case ErrorCode::broken_promise:
    case ErrorCode::endpoint_queue_full:
    case ErrorCode::stale_epoch:  // a recovery ended the generation that was asked
    case ErrorCode::database_locked:  // until the holder unlocks it
      return true;
    default:
      return false;
  }
}

bool covers(const roles::KeyRange& r, std::string_view key) {
  return r.begin <= key && key < r.end;
}

}  // namespace

void Transaction::check_usable() {
  check_not_cancelled(generation_);
  if (committing_) throw Error(ErrorCode::used_during_commit);
  if (committed_) throw Error(ErrorCode::client_invalid_operation);
}

void Transaction::check_writable(std::string_view key) const {
  if (key.size() > roles::key_bytes_max) throw Error(ErrorCode::key_too_large);
  if (key >= roles::kKeyspaceEnd || (!access_system_keys_ && key >= "\xff"))
    throw Error(ErrorCode::key_outside_legal_range);
}

roles::Version Transaction::get_read_version() {
  check_usable();
  return read_version(generation_);
}

roles::Version Transaction::read_version(uint64_t started) {
  if (!read_version_) {
    roles::wire_grv::GetReadVersionRequestT request;
    request.lock_aware = lock_aware_;
    const roles::Version v = flow::wait(db_->grv_proxy().get_read_version.get_reply(request)).version;
    check_not_cancelled(started);
    if (!read_version_) read_version_ = v;  // another read may have set it while this waited
  }
  return *read_version_;
}

void Transaction::set_read_version(roles::Version v) {
  check_usable();
  if (read_version_) throw Error(ErrorCode::read_version_already_set);
  if (v < 0) throw Error(ErrorCode::version_invalid);
  read_version_ = v;
}

void Transaction::check_not_cancelled(uint64_t started) const {
  if (cancelled_ || generation_ != started) throw Error(ErrorCode::transaction_cancelled);
}

std::string_view Transaction::max_read_key() const {
  return access_system_keys_ ? roles::kKeyspaceEnd : std::string_view("\xff");
}

void Transaction::add_read_conflict(std::string_view begin, std::string_view end) {
  if (begin < end) reads_.push_back({std::string(begin), std::string(end)});
}

template <class Ask>
auto Transaction::ask_shard(uint64_t started, std::string_view key, bool before, Ask ask) {
  for (;;) {
    // A copy: the cache may change while this waits.
    const ShardLocation shard = before ? db_->location_before(key) : db_->location_of(key);
    check_not_cancelled(started);
    const roles::StorageServerInterface& server =
        shard.servers[static_cast<size_t>(flow::deterministic_random().random_int(
            0, static_cast<int64_t>(shard.servers.size())))];
    std::optional<Error> failed;
    try {
      auto reply = flow::wait(ask(shard, server));
      check_not_cancelled(started);
      return reply;
    } catch (const Error& e) {
      if (e.code() == ErrorCode::operation_cancelled || e.code() == ErrorCode::transaction_cancelled) throw;
      failed = e;
    }
    check_not_cancelled(started);
    switch (failed->code()) {
      case ErrorCode::wrong_shard_server:
        CODE_PROBE(true, "client reads again after wrong_shard_server");
        db_->invalidate(before ? shard.begin : std::string(key));
        break;
      case ErrorCode::request_maybe_delivered:
      case ErrorCode::broken_promise:
      case ErrorCode::endpoint_queue_full:
        // A read may be sent again: the server may be rebooting.
        CODE_PROBE(true, "client reads again after a server could not be reached");
        flow::wait(flow::delay(kReadRetryDelay));
        break;
      default:
        throw *failed;
    }
  }
}

std::optional<std::string> Transaction::read_stored(uint64_t started, std::string_view key) {
  roles::wire_storage::GetValueRequestT request;
  request.key.assign(key.begin(), key.end());
  request.version = read_version(started);
  const auto reply = ask_shard(started, key, false, [&](const ShardLocation&, const roles::StorageServerInterface& server) {
    return server.get_value.get_reply(request);
  });
  if (!reply.present) return std::nullopt;
  return std::string(reply.value.begin(), reply.value.end());
}

Transaction::StoredChunk Transaction::read_stored_chunk(uint64_t started, std::string_view lo, std::string_view hi,
                                                        int64_t rows, bool reverse) {
  const roles::Version version = read_version(started);
  std::string sub_lo, sub_hi;
  const auto reply = ask_shard(started, reverse ? hi : lo, reverse,
                               [&](const ShardLocation& shard, const roles::StorageServerInterface& server) {
                                 sub_lo = std::max(std::string(lo), shard.begin);
                                 sub_hi = std::min(std::string(hi), shard.end);
                                 roles::wire_storage::GetKeyValuesRequestT request;
                                 request.begin.assign(sub_lo.begin(), sub_lo.end());
                                 request.end.assign(sub_hi.begin(), sub_hi.end());
                                 request.version = version;
                                 request.limit_rows = static_cast<int32_t>(std::min<int64_t>(rows, kChunkRows));
                                 request.limit_bytes = kChunkBytes;
                                 request.reverse = reverse;
                                 return server.get_key_values.get_reply(request);
                               });
  StoredChunk chunk;
  chunk.rows.reserve(reply.rows.size());
  for (const auto& row : reply.rows) {
    if (!row) continue;
    chunk.rows.push_back({std::string(row->key.begin(), row->key.end()),
                          std::string(row->value.begin(), row->value.end())});
  }
  // Checked, not trusted: rows outside the range asked for or out of order would corrupt what
  // the transaction sees.
  for (size_t i = 0; i < chunk.rows.size(); ++i) {
    const std::string& k = chunk.rows[i].key;
    const bool ordered = i == 0 || (reverse ? k < chunk.rows[i - 1].key : chunk.rows[i - 1].key < k);
    if (k < sub_lo || k >= sub_hi || !ordered) throw Error(ErrorCode::operation_failed);
  }
  if (reply.more && !chunk.rows.empty())
    chunk.bound = reverse ? chunk.rows.back().key : chunk.rows.back().key + '\0';
  else
    chunk.bound = reverse ? sub_lo : sub_hi;
  return chunk;
}

std::optional<std::string> Transaction::seen_value(const std::string& key, std::optional<std::string> stored) const {
  const auto w = written_.find(key);
  if (w != written_.end()) {
    if (w->second.known) return w->second.value;
    // Read-your-writes over atomic operations on a value not read before.
    for (const roles::Mutation& m : w->second.atomics)
      stored = roles::apply_atomic(m.type, stored, m.param2, roles::value_bytes_max);
    return stored;
  }
  if (std::any_of(cleared_.begin(), cleared_.end(), [&](const roles::KeyRange& r) { return covers(r, key); }))
    return std::nullopt;
  return stored;
}

std::optional<std::string> Transaction::get(std::string_view key, bool snapshot) {
  check_usable();
  if (key.size() > roles::key_bytes_max) throw Error(ErrorCode::key_too_large);
  if (key >= roles::kKeyspaceEnd || (!access_system_keys_ && key >= "\xff"))
    throw Error(ErrorCode::key_outside_legal_range);
  const std::string k(key);
  const auto w = written_.find(k);
  const bool known = w != written_.end() && w->second.known;
  const bool cleared = w == written_.end() && std::any_of(cleared_.begin(), cleared_.end(),
                                                           [&](const roles::KeyRange& r) { return covers(r, k); });
  // When this transaction's writes decide the value alone, nothing is read and the answer
  // depends on no other transaction.
  if (known || cleared) return seen_value(k, std::nullopt);
  if (!snapshot) add_read_conflict(key, k + '\0');
  return seen_value(k, read_stored(generation_, key));
}

RangeResult Transaction::read_seen(uint64_t started, std::string_view lo, std::string_view hi, RangeLimits limits) {
  RangeResult out;
  int64_t bytes = 0;
  const auto full = [&] {
    return (limits.rows > 0 && static_cast<int64_t>(out.rows.size()) >= limits.rows) ||
           (limits.bytes > 0 && bytes >= limits.bytes);
  };
  std::string cursor(limits.reverse ? hi : lo);  // forward: [cursor, hi) left; reverse: [lo, cursor)
  while (limits.reverse ? std::string_view(cursor) > lo : std::string_view(cursor) < hi) {
    const int64_t want = limits.rows > 0 ? limits.rows - static_cast<int64_t>(out.rows.size()) : kChunkRows;
    StoredChunk chunk = limits.reverse ? read_stored_chunk(started, lo, cursor, want, true)
                                       : read_stored_chunk(started, cursor, hi, want, false);
    // This transaction's writes to keys in the chunk's span, merged with the stored rows in order.
    const std::string span_lo = limits.reverse ? chunk.bound : cursor;
    const std::string span_hi = limits.reverse ? cursor : chunk.bound;
    std::vector<std::string> written;
    for (auto it = written_.lower_bound(span_lo); it != written_.end() && it->first < span_hi; ++it)
      written.push_back(it->first);
    if (limits.reverse) std::reverse(written.begin(), written.end());
    size_t si = 0, wi = 0;
    const auto before = [&](const std::string& a, const std::string& b) { return limits.reverse ? b < a : a < b; };
    while ((si < chunk.rows.size() || wi < written.size()) && !full()) {
      std::string key;
      std::optional<std::string> stored;
      if (wi == written.size() || (si < chunk.rows.size() && before(chunk.rows[si].key, written[wi]))) {
        key = chunk.rows[si].key;
        stored = std::move(chunk.rows[si].value);
        ++si;
      } else {
        key = written[wi];
        if (si < chunk.rows.size() && chunk.rows[si].key == key) stored = std::move(chunk.rows[si++].value);
        ++wi;
      }
      std::optional<std::string> value = seen_value(key, std::move(stored));
      if (!value) continue;
      bytes += static_cast<int64_t>(key.size() + value->size());
      out.rows.push_back({std::move(key), std::move(*value)});
    }
    if (full()) {
      out.more = true;
      return out;
    }
    cursor = chunk.bound;
  }
  return out;
}

std::string Transaction::resolve_seen(uint64_t started, const KeySelector& selector) {
  const std::string_view max = max_read_key();
  const std::string split = selector.or_equal ? selector.key + '\0' : selector.key;
  if (selector.offset > 0) {
    // The offset-th key at or after `split`.
    if (split >= max) return std::string(max);
    const RangeResult r = read_seen(started, split, max, {.rows = selector.offset});
    return static_cast<int64_t>(r.rows.size()) == selector.offset ? r.rows.back().key : std::string(max);
  }
  // The (1 - offset)-th key before `split`.
  const int64_t want = 1 - static_cast<int64_t>(selector.offset);
  const RangeResult r = read_seen(started, "", std::min(std::string_view(split), max), {.rows = want, .reverse = true});
  return static_cast<int64_t>(r.rows.size()) == want ? r.rows.back().key : std::string();
}

std::string Transaction::resolve_stored(uint64_t started, KeySelector selector) {
  const std::string_view max = max_read_key();
  const roles::Version version = read_version(started);
  for (;;) {
    const bool forward = selector.offset > 0;
    if (!forward && (selector.or_equal ? selector.key + '\0' : selector.key) > max) {
      // Going back from past the readable keys: from their end, so that an unreadable key there
      // (\xff itself without system keys) does not count.
      selector = {std::string(max), false, selector.offset};
    }
    const std::string split = selector.or_equal ? selector.key + '\0' : selector.key;
    if (forward && split >= max) return std::string(max);
    if (!forward && split.empty()) return std::string();
    roles::wire_storage::GetKeyRequestT request;
    request.selector = std::make_unique<roles::wire_storage::KeySelectorT>();
    request.selector->key.assign(selector.key.begin(), selector.key.end());
    request.selector->or_equal = selector.or_equal;
    request.selector->offset = selector.offset;
    request.version = version;
    const auto reply = ask_shard(started, split, !forward,
                                 [&](const ShardLocation&, const roles::StorageServerInterface& server) {
                                   return server.get_key.get_reply(request);
                                 });
    std::string key(reply.key.begin(), reply.key.end());
    if (reply.resolved) return std::min(key, std::string(max));
    // Ran off the shard: go on from its edge with what is left of the offset. Checked, not
    // trusted: the edge must lie on the selector's side, and the offset must shrink.
    const bool progress = forward ? (key > split || (key == split && reply.offset < selector.offset))
                                  : (key < split || (key == split && reply.offset > selector.offset));
    const bool same_direction = forward ? reply.offset > 0 : reply.offset <= 0;
    if (!progress || !same_direction) {
      CODE_PROBE(true, "client refuses a storage server's key selector answer");
      throw Error(ErrorCode::operation_failed);
    }
    selector = {std::move(key), false, reply.offset};
  }
}

std::string Transaction::resolve(uint64_t started, const KeySelector& selector) {
  const std::string_view max = max_read_key();
  if (selector.key.size() > roles::key_bytes_max + 1) throw Error(ErrorCode::key_too_large);
  if (selector.key > max) throw Error(ErrorCode::key_outside_legal_range);
  // Without writes of its own the transaction sees what is stored: servers resolve the selector
  // (fewer rows travel); with writes, it is resolved over the merged view.
  return has_writes() ? resolve_seen(started, selector) : resolve_stored(started, selector);
}

roles::KeyRange Transaction::selector_span(const KeySelector& selector, const std::string& key) const {
  // The answer depends on the keys between the selector's anchor and the answer.
  const std::string_view max = max_read_key();
  const std::string split = selector.or_equal ? selector.key + '\0' : selector.key;
  if (selector.offset > 0) return {split, key == max ? std::string(max) : key + '\0'};
  return {key, std::string(std::min(std::string_view(split), max))};
}

std::string Transaction::get_key(const KeySelector& selector, bool snapshot) {
  check_usable();
  std::string key = resolve(generation_, selector);
  if (!snapshot) {
    const roles::KeyRange depends = selector_span(selector, key);
    add_read_conflict(depends.begin, depends.end);
  }
  return key;
}

RangeResult Transaction::read_range(uint64_t started, const std::string& b, const std::string& e, RangeLimits limits,
                                    bool snapshot) {
  if (b >= e) return {};
  RangeResult r = read_seen(started, b, e, limits);
  if (!snapshot) {
    // What a read stopped by a limit saw ends at its last row.
    std::string lo = b, hi = e;
    if (r.more && !r.rows.empty()) {
      if (limits.reverse) lo = r.rows.back().key;
      else hi = r.rows.back().key + '\0';
    }
    add_read_conflict_except_cleared(lo, hi);
  }
  return r;
}

void Transaction::add_read_conflict_except_cleared(const std::string& lo, const std::string& hi) {
  // Keys this transaction cleared read as its own writes decide (a key it wrote after the clear
  // is known too): no other transaction's write there changes what it saw.
  std::vector<roles::KeyRange> cleared;
  for (const roles::KeyRange& c : cleared_)
    if (c.begin < hi && lo < c.end) cleared.push_back(c);
  std::sort(cleared.begin(), cleared.end(),
            [](const roles::KeyRange& x, const roles::KeyRange& y) { return x.begin < y.begin; });
  std::string from = lo;
  for (const roles::KeyRange& c : cleared) {
    if (c.begin > from) add_read_conflict(from, std::min(c.begin, hi));
    from = std::max(from, c.end);
    if (from >= hi) return;
  }
  add_read_conflict(from, hi);
}

RangeResult Transaction::get_range(const KeySelector& begin, const KeySelector& end, RangeLimits limits,
                                   bool snapshot) {
  check_usable();
  if (limits.rows < 0 || limits.bytes < 0) throw Error(ErrorCode::client_invalid_operation);
  const uint64_t started = generation_;
  const std::string b = resolve(started, begin);
  const std::string e = resolve(started, end);
  RangeResult r = read_range(started, b, e, limits, snapshot);
  if (!snapshot) {
    // What the ends' selectors depended on. A begin going forward stops short of its answer:
    // the read covers that key when it reads anything, and nothing depends on it when the range
    // is empty. A read that a limit stopped depends on the far end's selector only if moving
    // that end could reach the rows it returned.
    const bool stopped = r.more && !r.rows.empty();
    const std::string& last = stopped ? r.rows.back().key : b;
    const std::string begin_split = begin.or_equal ? begin.key + '\0' : begin.key;
    const std::string end_split = end.or_equal ? end.key + '\0' : end.key;
    if (!(stopped && limits.reverse && begin.offset <= 0 && begin_split <= last)) {
      roles::KeyRange from = selector_span(begin, b);
      if (begin.offset > 0 && from.end > b) from.end = b;
      add_read_conflict(from.begin, from.end);
    }
    if (!(stopped && !limits.reverse && end.offset > 0 && end_split > last)) {
      const roles::KeyRange to = selector_span(end, e);
      add_read_conflict(to.begin, to.end);
    }
  }
  return r;
}

RangeResult Transaction::get_range(std::string_view begin, std::string_view end, RangeLimits limits, bool snapshot) {
  check_usable();
  if (limits.rows < 0 || limits.bytes < 0) throw Error(ErrorCode::client_invalid_operation);
  if (end < begin) throw Error(ErrorCode::inverted_range);
  if (begin.size() > roles::key_bytes_max + 1 || end.size() > roles::key_bytes_max + 1)
    throw Error(ErrorCode::key_too_large);
  if (end > max_read_key()) throw Error(ErrorCode::key_outside_legal_range);
  // Keys, not selectors: the rows of [begin, end) depend on those keys alone.
  return read_range(generation_, std::string(begin), std::string(end), limits, snapshot);
}

void Transaction::add_mutation(roles::Mutation m) {
  bytes_ += m.param1.size() + m.param2.size() + roles::mutation_overhead_bytes;
  mutations_.push_back(std::move(m));
}

void Transaction::set(std::string_view key, std::string_view value) {
  check_usable();
  check_writable(key);
  if (value.size() > roles::value_bytes_max) throw Error(ErrorCode::value_too_large);
  writes_.push_back({std::string(key), std::string(key) + '\0'});
  written_[std::string(key)] = KeyWrite{true, std::string(value), {}};
  add_mutation({roles::MutationType::kSet, std::string(key), std::string(value)});
}

void Transaction::clear(std::string_view key) {
  check_usable();
  check_writable(key);
  clear_range(key, std::string(key) + '\0');
}

void Transaction::clear_range(std::string_view begin, std::string_view end) {
  check_usable();
  if (end < begin) throw Error(ErrorCode::inverted_range);
  if (begin.size() > roles::key_bytes_max || end.size() > roles::key_bytes_max + 1)
    throw Error(ErrorCode::key_too_large);
  if (end > roles::kKeyspaceEnd || (!access_system_keys_ && end > "\xff"))
    throw Error(ErrorCode::key_outside_legal_range);
  if (begin == end) return;
  writes_.push_back({std::string(begin), std::string(end)});
  for (auto it = written_.lower_bound(begin); it != written_.end() && it->first < end; ++it)
    it->second = KeyWrite{true, std::nullopt, {}};
  cleared_.push_back({std::string(begin), std::string(end)});
  add_mutation({roles::MutationType::kClearRange, std::string(begin), std::string(end)});
}

void Transaction::atomic_op(roles::MutationType type, std::string_view key, std::string_view operand) {
  check_usable();
  if (type == roles::MutationType::kSetVersionstampedKey) {
    const std::optional<uint32_t> at = roles::versionstamp_offset(key);
    if (!at) throw Error(ErrorCode::client_invalid_operation);
    check_writable(key.substr(0, key.size() - 4));
    if (operand.size() > roles::value_bytes_max) throw Error(ErrorCode::value_too_large);
    add_mutation({type, std::string(key), std::string(operand)});
    return;
  }
  check_writable(key);
  if (type == roles::MutationType::kSetVersionstampedValue) {
    if (!roles::versionstamp_offset(operand)) throw Error(ErrorCode::client_invalid_operation);
    if (operand.size() - 4 > roles::value_bytes_max) throw Error(ErrorCode::value_too_large);
    writes_.push_back({std::string(key), std::string(key) + '\0'});
    // What the key will hold is not known before the commit: reading it is undefined here, so
    // the key is forgotten from the write map (a later get reads the stored value).
    written_.erase(std::string(key));
    add_mutation({type, std::string(key), std::string(operand)});
    return;
  }
  if (!roles::is_atomic_operation(type)) throw Error(ErrorCode::client_invalid_operation);
  if (operand.size() > roles::value_bytes_max) throw Error(ErrorCode::value_too_large);
  writes_.push_back({std::string(key), std::string(key) + '\0'});
  KeyWrite& w = written_[std::string(key)];
  const bool cleared = std::any_of(cleared_.begin(), cleared_.end(),
                                   [&](const roles::KeyRange& r) { return covers(r, key); });
  if (!w.known && w.atomics.empty() && cleared) w = KeyWrite{true, std::nullopt, {}};
  if (w.known) w.value = roles::apply_atomic(type, w.value, operand, roles::value_bytes_max);
  else w.atomics.push_back({type, std::string(key), std::string(operand)});
  add_mutation({type, std::string(key), std::string(operand)});
}

void Transaction::add_read_conflict_range(std::string_view begin, std::string_view end) {
  check_usable();
  if (end < begin) throw Error(ErrorCode::inverted_range);
  if (end > roles::kKeyspaceEnd) throw Error(ErrorCode::key_outside_legal_range);
  if (begin < end) reads_.push_back({std::string(begin), std::string(end)});
}

void Transaction::add_write_conflict_range(std::string_view begin, std::string_view end) {
  check_usable();
  if (end < begin) throw Error(ErrorCode::inverted_range);
  if (end > roles::kKeyspaceEnd) throw Error(ErrorCode::key_outside_legal_range);
  if (begin < end) writes_.push_back({std::string(begin), std::string(end)});
}

void Transaction::commit() {
  check_usable();
  if (mutations_.empty() && writes_.empty()) {
    committed_ = true;  // read-only: nothing to commit
    committed_version_ = -1;
    return;
  }
  for (const auto& r : reads_) bytes_ += r.begin.size() + r.end.size() + roles::mutation_overhead_bytes;
  for (const auto& r : writes_) bytes_ += r.begin.size() + r.end.size() + roles::mutation_overhead_bytes;
  if (bytes_ > roles::transaction_bytes_max) throw Error(ErrorCode::transaction_too_large);
  const roles::Version rv = get_read_version();
  roles::wire_proxy::CommitTransactionRequestT request;
  request.read_version = rv;
  request.report_conflicting_keys = report_conflicting_keys_;
  request.lock_aware = lock_aware_;
  const auto wire_range = [](const roles::KeyRange& r) {
    auto w = std::make_unique<strata::wire::KeyRangeT>();
    w->begin.assign(r.begin.begin(), r.begin.end());
    w->end.assign(r.end.begin(), r.end.end());
    return w;
  };
  for (const auto& r : reads_) request.read_conflict_ranges.push_back(wire_range(r));
  for (const auto& r : writes_) request.write_conflict_ranges.push_back(wire_range(r));
  for (const auto& m : mutations_)
    request.mutations.push_back(std::make_unique<strata::wire::MutationT>(roles::to_wire(m)));
  committing_ = true;
  std::optional<Error> failed;
  std::optional<roles::wire_proxy::CommitTransactionReplyT> reply;
  try {
    reply = flow::wait(db_->commit_proxy().commit.get_reply(request));
  } catch (const Error& e) {
    if (e.code() == ErrorCode::operation_cancelled) throw;
    failed = e;
  }
  committing_ = false;
  if (failed) {
    // The proxy may have committed it before the connection or the proxy went.
    if (failed->code() == ErrorCode::request_maybe_delivered ||
        failed->code() == ErrorCode::broken_promise) {
      CODE_PROBE(true, "client's commit outcome is unknown");
      throw Error(ErrorCode::commit_unknown_result);
    }
    throw *failed;
  }
  if (reply->outcome != roles::wire_proxy::CommitOutcome::Committed) {
    CODE_PROBE(true, "client's commit conflicts");
    conflicting_.clear();
    for (uint32_t i : reply->conflicting_read_ranges)
      if (i < reads_.size()) conflicting_.push_back(reads_[i]);  // a bad index from the wire is dropped
    throw Error(ErrorCode::not_committed);
  }
  committed_ = true;
  committed_version_ = reply->version;
  batch_index_ = reply->batch_index;
}

roles::Version Transaction::get_committed_version() const {
  return committed_ ? committed_version_ : -1;
}

roles::Versionstamp Transaction::get_versionstamp() const {
  if (!committed_ || committed_version_ < 0) throw Error(ErrorCode::transaction_invalid_version);
  return roles::make_versionstamp(committed_version_, batch_index_);
}

void Transaction::on_error(Error e) {
  if (!retryable(e.code())) throw e;
  CODE_PROBE(true, "client retries a transaction");
  const flow::Duration wait_for = flow::deterministic_random().random_duration(flow::Duration(0), backoff_);
  backoff_ = std::min(backoff_ * 2, kBackoffMax);
  flow::wait(flow::delay(wait_for));
  reset();
}

void Transaction::reset() {
  const flow::Duration backoff = backoff_;
  const bool system = access_system_keys_;
  const bool report = report_conflicting_keys_;
  const bool lock_aware = lock_aware_;
  const uint64_t generation = generation_ + 1;  // what was waiting ends with transaction_cancelled
  Database* db = db_;
  *this = Transaction(*db);
  backoff_ = backoff;
  access_system_keys_ = system;
  report_conflicting_keys_ = report;
  lock_aware_ = lock_aware;
  generation_ = generation;
}

}  // namespace client
