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

// Sends `request` to `stream` until it is answered: an error (a lost connection, a coordinator
// restarting, or unable to answer for a damaged register) is asked again, after a pause that
// grows to a second. May suspend.
template <class Stream, class Request>
auto ask_until_answered(Stream stream, Request request) {
  flow::Duration backoff = 20ms;
  for (;;) {
    try {
      return flow::wait(stream.get_reply(request));
    } catch (const flow::Error& e) {
      if (e.code() == flow::ErrorCode::operation_cancelled) throw;
    }
    flow::wait(flow::delay(backoff));
    backoff = std::min(backoff * 2, flow::Duration(1s));
  }
}

// The first `n` of `futures` to be ready (pointing into them), once they are. May suspend.
template <class T>
std::vector<const T*> first_answers(const std::vector<flow::Future<T>>& futures, size_t n) {
  flow::wait(flow::quorum(futures, n));
  std::vector<const T*> out;
  for (const auto& f : futures)
    if (f.is_ready() && out.size() < n) out.push_back(&f.get());
  return out;
}

}  // namespace

CoordinatedState::CoordinatedState(std::vector<flow::NetworkAddress> coordinators, std::string key)
    : key_(std::move(key)) {
  ASSERT(!coordinators.empty());
  ASSERT(!key_.empty() && key_.size() <= kRegisterKeyBytesMax);
  for (const flow::NetworkAddress& a : coordinators) coordinators_.push_back(CoordinatorInterface::remote(a));
}

std::optional<std::string> CoordinatedState::read() {
  for (int attempt = 0;; ++attempt) {
    // Counts stay far below the largest int64: coordinators refuse any past
    // kRegisterGenerationCountMax, so one above every count seen always exists.
    generation_ = {std::min(seen_count_, kRegisterGenerationCountMax - 1) + 1,
                   flow::deterministic_random().random_uint64()};
    seen_count_ = generation_.count;
    wire_coord::RegisterReadRequestT request;
    request.key.assign(key_.begin(), key_.end());
    request.generation = std::make_unique<wire_coord::Generation>(to_wire(generation_));
    std::vector<flow::Future<wire_coord::RegisterReadReplyT>> asked;
    for (const CoordinatorInterface& c : coordinators_)
      asked.push_back(flow::spawn([stream = c.read, request] { return ask_until_answered(stream, request); }));
    std::vector<GenerationRegister::ReadReply> replies;
    for (const auto* r : first_answers(asked, majority())) {
      GenerationRegister::ReadReply reply;
      if (r->has_value) reply.value = std::string(r->value.begin(), r->value.end());
      if (r->write_generation) reply.write_generation = from_wire(*r->write_generation);
      if (r->read_generation) reply.read_generation = from_wire(*r->read_generation);
      seen_count_ = std::max({seen_count_, reply.write_generation.count, reply.read_generation.count});
      replies.push_back(std::move(reply));
    }
    const QuorumRead combined = combine_reads(generation_, replies);
    if (!combined.lost) {
      may_write_ = true;
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
  wire_coord::RegisterReadRequestT request;
  request.key.assign(key_.begin(), key_.end());
  request.generation = std::make_unique<wire_coord::Generation>(to_wire(RegisterGeneration{}));
  std::vector<flow::Future<wire_coord::RegisterReadReplyT>> asked;
  for (const CoordinatorInterface& c : coordinators_)
    asked.push_back(flow::spawn([stream = c.read, request] { return ask_until_answered(stream, request); }));
  std::optional<std::string> newest;
  RegisterGeneration newest_write;
  for (const auto* r : first_answers(asked, majority())) {
    const RegisterGeneration written = r->write_generation ? from_wire(*r->write_generation) : RegisterGeneration{};
    const RegisterGeneration read = r->read_generation ? from_wire(*r->read_generation) : RegisterGeneration{};
    seen_count_ = std::max({seen_count_, std::min(written.count, kRegisterGenerationCountMax),
                            std::min(read.count, kRegisterGenerationCountMax)});
    if (r->has_value && (!newest || written > newest_write)) {
      newest = std::string(r->value.begin(), r->value.end());
      newest_write = written;
    }
  }
  return newest;
}

void CoordinatedState::write(std::string value) {
  ASSERT(may_write_);
  if (value.size() > kRegisterValueBytesMax) throw flow::Error(flow::ErrorCode::invalid_option_value);
  may_write_ = false;
  wire_coord::RegisterWriteRequestT request;
  request.key.assign(key_.begin(), key_.end());
  request.value.assign(value.begin(), value.end());
  request.generation = std::make_unique<wire_coord::Generation>(to_wire(generation_));
  std::vector<flow::Future<wire_coord::RegisterWriteReplyT>> asked;
  for (const CoordinatorInterface& c : coordinators_)
    asked.push_back(flow::spawn([stream = c.write, request] { return ask_until_answered(stream, request); }));
  std::vector<GenerationRegister::WriteReply> replies;
  for (const auto* r : first_answers(asked, majority())) {
    GenerationRegister::WriteReply reply;
    reply.accepted = r->accepted;
    if (r->write_generation) reply.write_generation = from_wire(*r->write_generation);
    if (r->read_generation) reply.read_generation = from_wire(*r->read_generation);
    seen_count_ = std::max({seen_count_, reply.write_generation.count, reply.read_generation.count});
    replies.push_back(reply);
  }
  bool lost = false;
  if (!write_won(generation_, replies, coordinators_.size(), lost)) {
    CODE_PROBE(true, "coordinated state write loses to a newer writer");
    flow::TraceEvent(flow::SevWarn, "CoordinatedStateWriteLost").detail("Key", key_);
    throw flow::Error(flow::ErrorCode::coordinated_state_conflict);
  }
}

}  // namespace roles
