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
  if (!read_version_) {
    roles::wire_grv::GetReadVersionRequestT request;
    const roles::Version v = flow::wait(db_->grv_proxy().get_read_version.get_reply(request)).version;
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

std::optional<std::string> Transaction::read_stored(std::string_view key) {
  const roles::Version version = get_read_version();
  roles::wire_storage::GetValueRequestT request;
  request.key.assign(key.begin(), key.end());
  request.version = version;
  for (;;) {
    const ShardLocation& shard = db_->location_of(key);
    const roles::StorageServerInterface server =
        shard.servers[static_cast<size_t>(flow::deterministic_random().random_int(
            0, static_cast<int64_t>(shard.servers.size())))];
    std::optional<Error> failed;
    try {
      const auto reply = flow::wait(server.get_value.get_reply(request));
      if (!reply.present) return std::nullopt;
      return std::string(reply.value.begin(), reply.value.end());
    } catch (const Error& e) {
      if (e.code() == ErrorCode::operation_cancelled) throw;
      failed = e;
    }
    switch (failed->code()) {
      case ErrorCode::wrong_shard_server:
        CODE_PROBE(true, "client reads again after wrong_shard_server");
        db_->invalidate(key);
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

std::optional<std::string> Transaction::get(std::string_view key, bool snapshot) {
  check_usable();
  if (key.size() > roles::key_bytes_max) throw Error(ErrorCode::key_too_large);
  if (key >= roles::kKeyspaceEnd || (!access_system_keys_ && key >= "\xff"))
    throw Error(ErrorCode::key_outside_legal_range);
  if (!snapshot) reads_.push_back({std::string(key), std::string(key) + '\0'});
  const auto w = written_.find(key);
  if (w != written_.end() && w->second.known) return w->second.value;
  if (w == written_.end() &&
      std::any_of(cleared_.begin(), cleared_.end(), [&](const roles::KeyRange& r) { return covers(r, key); }))
    return std::nullopt;
  std::optional<std::string> value = read_stored(key);
  if (w != written_.end()) {
    // Read-your-writes over atomic operations on a value not read before.
    for (const roles::Mutation& m : w->second.atomics)
      value = roles::apply_atomic(m.type, value, m.param2, roles::value_bytes_max);
  }
  return value;
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
  Database* db = db_;
  *this = Transaction(*db);
  backoff_ = backoff;
  access_system_keys_ = system;
}

}  // namespace client
