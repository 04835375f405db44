#include "roles/coordinator/coordinated_state.h"

#include <algorithm>
#include <chrono>
#include <memory>

#include "flow/actor.h"
#include "flow/assert.h"
#include "flow/code_probe.h"
#include "flow/combinators.h"
#include "flow/deterministic_random.h"
#include "flow/trace_event.h"

namespace roles {

namespace {

using namespace std::chrono_literals;

// Reads again above a newer reader at most this many times before giving up.
constexpr int kReadAttemptsMax = 5;

// Whether a coordinator's error is its final word on a request (a bound it keeps, a forward it
// refuses), not a lost message or a restart.
bool refused_for_good(flow::ErrorCode c) {
  return c == flow::ErrorCode::invalid_option_value || c == flow::ErrorCode::key_too_large ||
         c == flow::ErrorCode::value_too_large || c == flow::ErrorCode::coordinated_state_conflict;
}

// Sends `request` to `stream` until it is answered: another error (a lost connection, a
// coordinator restarting, or unable to answer for a damaged register) is asked again, after a
// pause that grows to a second; a refusal for good is thrown. May suspend.
template <class Stream, class Request>
auto ask_until_answered(Stream stream, Request request) {
  flow::Duration backoff = 20ms;
  for (;;) {
    const auto reply = stream.get_reply(request);
    // Looked at rather than caught: ask_majority cancels the asks it no longer needs, hundreds a
    // simulated minute, and a cancellation that unwinds straight through costs half of one
    // caught and thrown again.
    (void)flow::wait_any(reply);
    if (!reply.is_error()) return reply.get();
    const flow::Error e = reply.get_error();
    if (e.code() == flow::ErrorCode::operation_cancelled || refused_for_good(e.code())) throw e;
    flow::wait(flow::delay(backoff));
    backoff = std::min(backoff * 2, flow::Duration(1s));
  }
}

// Asks `stream` of every coordinator with `request` until `n` have answered; their replies, as
// `convert` makes them. A coordinator that refuses for good does not answer; once too many have
// for `n` to answer, their refusal is thrown. May suspend.
template <class Stream, class Request, class Convert>
auto ask_majority(const std::vector<CoordinatorInterface>& coordinators, Stream CoordinatorInterface::*stream,
                  const Request& request, size_t n, Convert convert) {
  using Reply = decltype(flow::wait((coordinators.front().*stream).get_reply(request)));
  std::vector<flow::Future<Reply>> pending;
  for (const CoordinatorInterface& c : coordinators)
    pending.push_back(flow::spawn([to = c.*stream, request] { return ask_until_answered(to, request); }));
  std::vector<decltype(convert(std::declval<const Reply&>()))> out;
  size_t refused = 0;
  while (out.size() < n) {
    const size_t i = flow::wait_any(pending);
    if (pending[i].is_error()) {
      if (++refused > coordinators.size() - n) {
        CODE_PROBE(true, "too many coordinators refuse a request for a majority to answer");
        throw pending[i].get_error();
      }
    } else {
      out.push_back(convert(pending[i].get()));
    }
    pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(i));
  }
  return out;
}

// A reply with what the coordinator said of a move.
template <class Reply>
struct Forwarded {
  Reply reply;
  std::string forward;  // empty: none
};

Forwarded<GenerationRegister::ReadReply> read_reply(const wire_coord::RegisterReadReplyT& r) {
  GenerationRegister::ReadReply reply;
  if (r.has_value) reply.value = std::string(r.value.begin(), r.value.end());
  if (r.write_generation) reply.write_generation = from_wire(*r.write_generation);
  if (r.read_generation) reply.read_generation = from_wire(*r.read_generation);
  return {reply, std::string(r.forward.begin(), r.forward.end())};
}

Forwarded<GenerationRegister::WriteReply> write_reply(const wire_coord::RegisterWriteReplyT& r) {
  GenerationRegister::WriteReply reply;
  reply.accepted = r.accepted && r.forward.empty();
  if (r.write_generation) reply.write_generation = from_wire(*r.write_generation);
  if (r.read_generation) reply.read_generation = from_wire(*r.read_generation);
  return {reply, std::string(r.forward.begin(), r.forward.end())};
}

// The replies without what they said of a move, which go to `forwards`.
template <class Reply>
std::vector<Reply> split(std::vector<Forwarded<Reply>> in, std::vector<std::string>& forwards) {
  std::vector<Reply> out;
  for (Forwarded<Reply>& f : in) {
    out.push_back(f.reply);
    forwards.push_back(std::move(f.forward));
  }
  return out;
}

}  // namespace

CoordinatedState::CoordinatedState(ClusterDescription cluster, std::string key)
    : cluster_(std::move(cluster)), key_(std::move(key)) {
  ASSERT(!cluster_.coordinators.empty());
  ASSERT(!key_.empty() && key_.size() <= kRegisterKeyBytesMax);
  for (const flow::NetworkAddress& a : cluster_.coordinators) coordinators_.push_back(CoordinatorInterface::remote(a));
}

CoordinatedState::CoordinatedState(std::vector<flow::NetworkAddress> coordinators, std::string key)
    : CoordinatedState(ClusterDescription{"", "", std::move(coordinators)}, std::move(key)) {}

void CoordinatedState::learn_forward(ClusterDescription to) {
  if (!forwarded_) {
    flow::TraceEvent(flow::SevInfo, "CoordinatedStateMoved").detail("From", cluster_.to_string()).detail("To", to.to_string());
  }
  forwarded_ = std::move(to);
  throw flow::Error(flow::ErrorCode::coordinators_changed);
}

void CoordinatedState::check_forwards(const std::vector<std::string>& forwards) {
  for (const std::string& f : forwards) {
    if (f.empty()) continue;
    flow::ErrorOr<ClusterDescription> to = parse_cluster_description(f);
    if (!to.ok()) {
      flow::TraceEvent(flow::SevWarnAlways, "CoordinatorForwardMalformed").detail("Cluster", cluster_.id).detail("To", f);
      throw flow::Error(flow::ErrorCode::malformed_message);
    }
    learn_forward(std::move(to.get()));
  }
}

std::vector<GenerationRegister::ReadReply> CoordinatedState::read_majority(RegisterGeneration generation) {
  if (forwarded_) throw flow::Error(flow::ErrorCode::coordinators_changed);
  wire_coord::RegisterReadRequestT request;
  request.key.assign(key_.begin(), key_.end());
  request.cluster.assign(cluster_.id.begin(), cluster_.id.end());
  request.generation = std::make_unique<wire_coord::Generation>(to_wire(generation));
  std::vector<std::string> forwards;
  std::vector<GenerationRegister::ReadReply> replies =
      split(ask_majority(coordinators_, &CoordinatorInterface::read, request, majority(), read_reply), forwards);
  check_forwards(forwards);
  for (const GenerationRegister::ReadReply& r : replies) see(r.write_generation, r.read_generation);
  return replies;
}

void CoordinatedState::see(RegisterGeneration written, RegisterGeneration read) {
  seen_count_ = std::max({seen_count_, std::min(written.count, kRegisterGenerationCountMax),
                          std::min(read.count, kRegisterGenerationCountMax)});
}

std::optional<std::string> CoordinatedState::read() {
  for (int attempt = 0;; ++attempt) {
    // Counts stay far below the largest int64: coordinators refuse any past
    // kRegisterGenerationCountMax, so one above every count seen always exists.
    generation_ = {std::min(seen_count_, kRegisterGenerationCountMax - 1) + 1,
                   flow::deterministic_random().random_uint64()};
    seen_count_ = generation_.count;
    const QuorumRead combined = combine_reads(generation_, read_majority(generation_));
    if (!combined.lost) {
      may_write_ = true;
      last_read_partial_ = combined.partial;
      return combined.value;
    }
    CODE_PROBE(true, "coordinated state reads again above a newer reader");
    if (attempt + 1 >= kReadAttemptsMax) {
      flow::TraceEvent(flow::SevWarn, "CoordinatedStateReadLost").detail("Key", key_).detail("Attempts", attempt + 1);
      throw flow::Error(flow::ErrorCode::coordinated_state_conflict);
    }
  }
}

std::optional<std::string> CoordinatedState::peek() {
  // Read generation (0, 0) raises nothing; the newest write among the answers wins.
  const QuorumRead combined = combine_reads(RegisterGeneration{}, read_majority(RegisterGeneration{}));
  return combined.value;
}

void CoordinatedState::write(std::string value) {
  ASSERT(may_write_);
  if (value.size() > kRegisterValueBytesMax) throw flow::Error(flow::ErrorCode::invalid_option_value);
  may_write_ = false;
  if (forwarded_) throw flow::Error(flow::ErrorCode::coordinators_changed);
  wire_coord::RegisterWriteRequestT request;
  request.key.assign(key_.begin(), key_.end());
  request.cluster.assign(cluster_.id.begin(), cluster_.id.end());
  request.value.assign(value.begin(), value.end());
  request.generation = std::make_unique<wire_coord::Generation>(to_wire(generation_));
  std::vector<std::string> forwards;
  const std::vector<GenerationRegister::WriteReply> replies =
      split(ask_majority(coordinators_, &CoordinatorInterface::write, request, majority(), write_reply), forwards);
  check_forwards(forwards);
  for (const GenerationRegister::WriteReply& r : replies) see(r.write_generation, r.read_generation);
  bool lost = false;
  if (!write_won(generation_, replies, coordinators_.size(), lost)) {
    CODE_PROBE(true, "coordinated state write loses to a newer writer");
    flow::TraceEvent(flow::SevWarn, "CoordinatedStateWriteLost").detail("Key", key_);
    throw flow::Error(flow::ErrorCode::coordinated_state_conflict);
  }
}

void forward_cluster(const ClusterDescription& from, const ClusterDescription& to) {
  ASSERT(from.id != to.id);
  wire_coord::ForwardRequestT request;
  request.cluster.assign(from.id.begin(), from.id.end());
  const std::string text = to.to_string();
  request.to.assign(text.begin(), text.end());
  std::vector<CoordinatorInterface> coordinators;
  for (const flow::NetworkAddress& a : from.coordinators) coordinators.push_back(CoordinatorInterface::remote(a));
  // A coordinator that keeps no register of the cluster (it missed every write) refuses; the
  // majority that took the move's first step does not.
  ask_majority(coordinators, &CoordinatorInterface::forward, request, majority_of(coordinators.size()),
               [](const wire_coord::ForwardReplyT&) { return true; });
}

}  // namespace roles
