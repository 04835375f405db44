#include "roles/cluster_controller/recovery.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <utility>

#include "flow/actor.h"
#include "flow/buggify.h"
#include "flow/code_probe.h"
#include "flow/combinators.h"
#include "flow/deterministic_random.h"
#include "flow/runtime.h"
#include "flow/trace_event.h"
#include "net/transport.h"
#include "roles/cluster_controller/coordinators_change.h"
#include "roles/storage_server/storage_server_interface.h"
#include "roles/worker/role_endpoints.h"
#include "roles/worker/worker_interface.h"

namespace roles {

namespace {

using namespace std::chrono_literals;

// After the first locked log answers, how long the others get: every log that answers is kept
// in the log system for its generation (more copies of its versions while storage servers
// still need them). Three times as long as the first took (a live log answers about as fast as
// the others), within these bounds: a dead log costs no more than that.
constexpr flow::Duration kLockGraceMin = 20ms;
constexpr flow::Duration kLockGraceMax = 200ms;
// The least time the workers a recovery pings get after half of them answered.
constexpr flow::Duration kPingGraceMin = 20ms;
// Backoff before a request lost with its connection is sent again.
constexpr flow::Duration kAskAgainDelay = 100ms;
// A worker unreachable this long has failed; it is asked how its roles are this often.
constexpr flow::Duration kUnreachableMax = 1s;
constexpr flow::Duration kPingInterval = 250ms;
// How long a worker gets to retire old roles before the controller moves on.
constexpr flow::Duration kRetireWaitMax = 1s;
// While no old log answers its lock, the recovery says so this often.
constexpr flow::Duration kLockWaitReport = 5s;

void trace_state(const char* state, uint64_t epoch, flow::Time began) {
  flow::TraceEvent(flow::SevInfo, "RecoveryState")
      .detail("State", state)
      .detail("Epoch", static_cast<int64_t>(epoch))
      .detail("Seconds", flow::to_seconds(flow::now() - began));
}

// What a recovery asks of each log it locks.
struct LockAsk {
  uint64_t epoch = 0;
  uint64_t recovery = 0;
  std::vector<EpochsOfRecovery> lockers;  // the recoveries the cluster state knows, this one's included
};

// Locks (or, with `seal`, seals) `log` for `ask`, asking again after a lost connection; nullopt
// if the log refuses (it is of a newer epoch than the lock: not one of this generation's). May
// suspend.
std::optional<wire_tlog::TLogLockReplyT> lock_log(const TLogInterface& log, const LockAsk& ask, bool seal = false) {
  wire_tlog::TLogLockRequestT request;
  request.epoch = ask.epoch;
  request.recovery = ask.recovery;
  request.seal = seal;
  for (const EpochsOfRecovery& e : ask.lockers) request.lockers.emplace_back(e.first_epoch, e.last_epoch, e.recovery);
  for (;;) {
    try {
      return flow::wait(log.lock.get_reply(request));
    } catch (const flow::Error& e) {
      if (e.code() == flow::ErrorCode::operation_cancelled) throw;
      if (e.code() == flow::ErrorCode::stale_epoch) {
        flow::TraceEvent(flow::SevWarnAlways, "RecoveryLockRefused")
            .detail("Epoch", static_cast<int64_t>(ask.epoch));
        return std::nullopt;
      }
    }
    flow::wait(flow::delay(kAskAgainDelay));
  }
}

// What locking (or sealing) a generation's logs found.
struct LockAnswers {
  std::vector<std::optional<wire_tlog::TLogLockReplyT>> answers;  // one per log, by index
  std::optional<wire_tlog::TLogLockReplyT> fenced;                // the first `fenced` answer
};

// Locks (or seals) every log of `logs` for `ask`: the answers of those that answered by the end
// of the grace after the first, or, if `every_log`, of all of them; as soon as one answers
// `fenced`, that one. When the answers needed came goes to `*answered_at` (the first one's, or
// with `every_log` the last one's). May suspend.
LockAnswers lock_logs(const std::vector<TLogInterface>& logs, const LockAsk& ask, bool every_log, bool seal,
                      flow::Time* answered_at) {
  const size_t n = logs.size();
  const flow::Time asked = flow::now();
  std::vector<flow::Future<std::optional<wire_tlog::TLogLockReplyT>>> locking;
  for (const TLogInterface& log : logs)
    locking.push_back(flow::spawn([log, &ask, seal] { return lock_log(log, ask, seal); }));
  LockAnswers out;
  out.answers.resize(n);
  std::vector<size_t> pending(n);
  for (size_t i = 0; i < n; ++i)
    pending[i] = i;
  std::optional<flow::Time> deadline;
  bool answered = false;
  while (!pending.empty() && (!deadline || flow::now() < *deadline)) {
    // Futures of one type for wait_any: the pending locks' (as Void), then the timer.
    std::vector<flow::Future<flow::Void>> waiting;
    for (size_t i : pending)
      waiting.push_back(flow::spawn([f = locking[i]] { (void)flow::wait(f); }));
    waiting.push_back(deadline ? flow::delay_until(*deadline) : flow::delay(kLockWaitReport));
    const size_t ready = flow::wait_any(waiting);
    if (ready == pending.size()) {
      if (!deadline) {
        CODE_PROBE(!answered, "recovery waits for an old log to answer its lock");
        CODE_PROBE(answered, "recovery waits for the last of every old log to answer its lock");
        flow::TraceEvent(flow::SevWarnAlways, "RecoveryWaitingForOldLogs")
            .detail("Epoch", static_cast<int64_t>(ask.epoch))
            .detail("Logs", static_cast<int64_t>(n))
            .detail("Pending", static_cast<int64_t>(pending.size()))
            .detail("EveryLog", every_log)
            .detail("Seal", seal);
      }
      continue;
    }
    const size_t i = pending[ready];
    pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(ready));
    out.answers[i] = flow::wait(locking[i]);
    if (!out.answers[i]) continue;
    if (out.answers[i]->fenced) {
      out.fenced = out.answers[i];
      *answered_at = flow::now();
      return out;
    }
    if (every_log) {
      *answered_at = flow::now();
    } else if (!answered) {
      *answered_at = flow::now();
      deadline = *answered_at + std::clamp((*answered_at - asked) * 3, kLockGraceMin, kLockGraceMax);
    }
    answered = true;
  }
  return out;
}

// Stops a recovery that a log fenced: a log of the generation its state names as current is
// sealed, or locked by a recovery the state does not know. A newer state existed and the
// coordinators lost it (a majority of them wiped): recovering from this one would go back in
// time. Unavailable, never wrong.
[[noreturn]] void stop_fenced(uint64_t epoch, const wire_tlog::TLogLockReplyT& fenced, const char* when) {
  CODE_PROBE(true, "a recovery finds its cluster state stale and stops");
  flow::TraceEvent(flow::SevWarnAlways, "RecoveryClusterStateLost")
      .detail("Epoch", static_cast<int64_t>(epoch))
      .detail("When", when)
      .detail("LockedBy", static_cast<int64_t>(fenced.locked_by))
      .detail("LockedByRecovery", fenced.locked_by_recovery)
      .detail("Sealed", fenced.sealed);
  throw flow::Error(flow::ErrorCode::cluster_state_lost);
}

template <class T>
std::unique_ptr<T> boxed(T t) {
  return std::make_unique<T>(std::move(t));
}

}  // namespace

std::optional<ClusterState> read_cluster_state(CoordinatedState& cstate) {
  const std::optional<std::string> held = cstate.read();
  if (!held) return std::nullopt;
  flow::ErrorOr<ClusterState> state = decode_cluster_state(*held);
  if (!state.ok()) {
    flow::TraceEvent(flow::SevWarnAlways, "ClusterStateUnreadable").detail("Bytes", static_cast<int64_t>(held->size()));
    throw state.error();
  }
  if (cstate.last_read_partial() && !state.get().unverified) {
    CODE_PROBE(true, "the cluster state is read from a majority some of which held none");
    flow::TraceEvent(flow::SevWarn, "ClusterStateUnverified").detail("Epoch", static_cast<int64_t>(state.get().epoch));
    state.get().unverified = true;
  }
  if (state.get().moving_to) {
    CODE_PROBE(true, "a reader of the cluster state finishes a move of the coordinators");
    finish_move(cstate, std::move(state.get()));
  }
  return std::move(state.get());
}

// Room left in a coordinator's value for a new generation with more logs than the current one.
constexpr size_t kClusterStateSlackBytes = 2048;

std::vector<KeyRange> split_among_resolvers(size_t n) {
  std::vector<std::string> cuts{""};
  const size_t below_system = n >= 2 ? n - 1 : 1;  // ranges below \xff
  for (size_t i = 1; i < below_system; ++i) cuts.emplace_back(1, static_cast<char>(i * 255 / below_system));
  if (n >= 2) cuts.emplace_back("\xff");
  cuts.emplace_back(kKeyspaceEnd);
  std::vector<KeyRange> out;
  for (size_t i = 0; i + 1 < cuts.size(); ++i) out.push_back({cuts[i], cuts[i + 1]});
  return out;
}

flow::Duration recruit_within(int timed_out_attempts) {
  flow::Duration d = kRecruitWithin;
  for (int i = 0; i < timed_out_attempts && d < kRecruitWithinMax; ++i) d *= 2;
  return std::min(d, kRecruitWithinMax);
}

Recovered recover(const ClusterState& old, uint64_t epoch, const PlaceGeneration& place, CoordinatedState* cstate,
                  flow::Duration recruit_timeout, double* old_log_wait, uint64_t recovery_id) {
  const flow::Time began = flow::now();
  trace_state("reading_cstate", epoch, began);
  const LogGeneration& current = old.log_system.current();
  // The coordinators must hold the state this recovery starts from: a newer epoch there means
  // another controller has recovered (or begun to) since.
  const auto check_held = [&](uint64_t expected) {
    std::optional<ClusterState> held = read_cluster_state(*cstate);
    const uint64_t held_epoch = held ? held->epoch : 0;
    if (!held || held_epoch != expected) {
      flow::TraceEvent(flow::SevWarnAlways, "RecoveryClusterStateChanged")
          .detail("Epoch", static_cast<int64_t>(epoch))
          .detail("Expected", static_cast<int64_t>(expected))
          .detail("Held", static_cast<int64_t>(held_epoch));
      throw flow::Error(flow::ErrorCode::coordinated_state_conflict);
    }
    return std::move(*held);
  };
  // The recoveries that may have locked the current logs, and whether the state may be stale:
  // the coordinators' word (the caller's copy may lag its own failed attempts' burns).
  ClusterState burned = old;
  burned.epoch = epoch;
  if (cstate) {
    const ClusterState held = check_held(old.epoch);
    burned.lockers = held.lockers;
    burned.unverified = held.unverified || old.unverified;
    // The new state holds up to two generations more (the ended one, the new one): if that
    // could pass what a coordinator keeps, stop now, before anything is locked, rather than
    // after (the old generation may still serve).
    ClusterState probe = old;
    probe.log_system.generations.push_back(current);
    probe.log_system.generations.push_back(current);
    if (encode_cluster_state(probe).size() + kClusterStateSlackBytes > kRegisterValueBytesMax) {
      flow::TraceEvent(flow::SevWarnAlways, "RecoveryClusterStateTooLarge")
          .detail("Epoch", static_cast<int64_t>(epoch))
          .detail("Generations", static_cast<int64_t>(old.log_system.generations.size()));
      throw flow::Error(flow::ErrorCode::value_too_large);
    }
  }

  trace_state("locking_cstate", epoch, began);
  if (!burned.lockers.empty() && burned.lockers.back().recovery == recovery_id &&
      burned.lockers.back().last_epoch < epoch) {
    burned.lockers.back().last_epoch = epoch;
  } else {
    burned.lockers.push_back({epoch, epoch, recovery_id});
  }
  if (cstate) cstate->write(encode_cluster_state(burned));
  if (burned.unverified) {
    CODE_PROBE(true, "a recovery from an unverified cluster state waits for every old log");
    flow::TraceEvent(flow::SevWarnAlways, "RecoveryFromUnverifiedState")
        .detail("Epoch", static_cast<int64_t>(epoch))
        .detail("Logs", static_cast<int64_t>(current.logs.size()));
  }
  const flow::Time locking = flow::now();
  flow::Time first_answer = locking;
  const LockAsk ask{epoch, recovery_id, burned.lockers};
  const LockAnswers locked = lock_logs(current.logs, ask, burned.unverified, false, &first_answer);
  if (old_log_wait != nullptr) *old_log_wait = flow::to_seconds(first_answer - locking);
  if (locked.fenced) stop_fenced(epoch, *locked.fenced, "locking");
  const std::vector<std::optional<wire_tlog::TLogLockReplyT>>& answers = locked.answers;
  // Every acknowledged commit is durable on every log, so at or below every log's end: the
  // nearest end among the answers keeps them all, and every log that answered holds every
  // version up to it. (The furthest end would keep only unacknowledged versions more, and hang
  // the generation on the one log that ran ahead.)
  Version recovery_version = kVersionMax;
  Version known_committed = 0;
  for (const auto& a : answers) {
    if (!a) continue;
    recovery_version = std::min(recovery_version, a->end_version);
    known_committed = std::max(known_committed, a->known_committed_version);
  }
  LogGeneration ended{current.epoch, {}, recovery_version};
  for (size_t i = 0; i < answers.size(); ++i)
    if (answers[i] && answers[i]->end_version >= recovery_version)
      ended.logs.push_back(current.logs[i]);
  CODE_PROBE(ended.logs.size() < current.logs.size(), "recovery keeps only some of the old logs");
  flow::TraceEvent(flow::SevInfo, "RecoveryVersionChosen")
      .detail("Epoch", static_cast<int64_t>(epoch))
      .detail("RecoveryVersion", recovery_version)
      .detail("KnownCommittedVersion", known_committed)
      .detail("FirstLogAnswerSeconds", flow::to_seconds(first_answer - locking))
      .detail("LogsAnswered",
              static_cast<int64_t>(std::count_if(answers.begin(), answers.end(),
                                                 [](const auto& a) { return a.has_value(); })))
      .detail("LogsKept", static_cast<int64_t>(ended.logs.size()));

  trace_state("recruiting", epoch, began);
  const Version start_version = recovery_version + kRecoveryVersionJump;
  GenerationPlan plan = place(epoch, start_version, old.resolver_ranges);
  plan.epoch = epoch;
  plan.start_version = start_version;
  plan.storage_teams.clear();
  plan.shards = old.shards;
  plan.lock_uid = old.lock_uid;
  plan.resend_lost_requests = false;  // a lost one fails this attempt: the next places anew
  if (flow::Runtime::checked_current().knobs().cc_recovery_init_req_allow_drop_in_sim && flow::buggify() &&
      flow::deterministic_random().random_bool(0.2)) {
    // As if a recruitment request were lost for good: the recovery times out and starts again.
    CODE_PROBE(true, "recovery drops a recruitment request (buggify)");
    flow::TraceEvent(flow::SevWarn, "RecoveryRecruitmentDropped").detail("Epoch", static_cast<int64_t>(epoch));
    flow::wait(flow::delay(recruit_timeout));
    throw flow::Error(flow::ErrorCode::timed_out);
  }
  Generation generation = flow::wait(
      flow::timeout_error(flow::spawn([plan] { return start_generation(plan); }), recruit_timeout));

  trace_state("writing_cstate", epoch, began);
  Recovered out;
  out.recovery_version = recovery_version;
  out.state = old;
  out.state.epoch = epoch;
  out.state.lockers.clear();     // the new generation's logs are locked by no one yet
  out.state.unverified = false;  // every old log answered, none locked by a stranger
  out.state.log_system.generations.pop_back();
  // Older generations every storage server has made durable are needed by none.
  while (!out.state.log_system.generations.empty() &&
         out.state.log_system.generations.front().end_version <= old.storage_durable_min) {
    CODE_PROBE(true, "recovery forgets a generation of logs no storage server needs");
    out.state.log_system.generations.erase(out.state.log_system.generations.begin());
  }
  if (!out.state.log_system.generations.empty() &&
      out.state.log_system.generations.back().end_version >= ended.end_version) {
    // The ended generation holds nothing new (no version since the one before it ended): the
    // one before still serves up to its end, and this one adds nothing.
    CODE_PROBE(true, "recovery drops an old generation that committed nothing");
  } else {
    out.state.log_system.generations.push_back(std::move(ended));
  }
  out.state.log_system.generations.push_back({epoch, generation.logs, kVersionMax});
  out.state.resolver_ranges.clear();  // the plan's: a change of their count splits anew
  for (const GenerationPlan::Placed& r : plan.resolvers) out.state.resolver_ranges.push_back(r.keys);
  out.state.running = running_roles(plan);  // a new leader takes this generation over from it
  out.generation = std::move(generation);
  out.plan = std::move(plan);
  if (cstate) {
    check_held(epoch);
    cstate->write(encode_cluster_state(out.state));
  }
  // The new state is on a majority: no read within the atlas names the ended generation as
  // current any more. Seal its logs this recovery locked before the new generation takes a
  // commit: a recovery from a stale state (beyond the atlas) that still names it waits for every
  // one of them, and a sealed one stops it. One sealed log suffices; a fenced answer means another
  // recovery from a stale state got there first (this one stops: its generation never served).
  std::vector<TLogInterface> kept;
  for (size_t i = 0; i < answers.size(); ++i)
    if (answers[i]) kept.push_back(current.logs[i]);
  flow::Time sealed_at = flow::now();
  const LockAnswers sealed = lock_logs(kept, ask, false, true, &sealed_at);
  if (sealed.fenced) stop_fenced(epoch, *sealed.fenced, "sealing");

  trace_state("accepting_commits", epoch, began);
  out.seconds = flow::to_seconds(flow::now() - began);
  flow::TraceEvent(flow::SevInfo, "RecoveryComplete")
      .detail("Epoch", static_cast<int64_t>(epoch))
      .detail("RecoveryVersion", recovery_version)
      .detail("Generations", static_cast<int64_t>(out.state.log_system.generations.size()))
      .detail("Seconds", flow::to_seconds(flow::now() - began));
  return out;
}

Version publish_log_system(const ClusterState& state, flow::Time recovery_began) {
  std::set<std::pair<flow::NetworkAddress, Tag>> servers;
  for (const Shard& s : state.shards.shards())
    for (const StorageServerRef& r : s.servers)
      servers.insert({r.address, r.tag});
  wire_storage::SetLogSystemRequestT request;
  request.log_system = boxed(to_wire(state.log_system));
  std::vector<flow::Future<Version>> answers;
  for (const auto& [address, tag] : servers) {
    answers.push_back(flow::spawn([&request, ss = StorageServerInterface::remote(address, tag)] {
      for (;;) {
        try {
          return flow::wait(ss.set_log_system.get_reply(request)).durable_version;
        } catch (const flow::Error& e) {
          if (e.code() == flow::ErrorCode::operation_cancelled) throw;
        }
        flow::wait(flow::delay(kAskAgainDelay));
      }
    }));
  }
  Version durable_min = kVersionMax;
  for (auto& a : answers)
    durable_min = std::min(durable_min, flow::wait(a));
  trace_state("fully_recovered", state.log_system.epoch(), recovery_began);
  return durable_min;
}

void retire_old_roles(const std::vector<flow::NetworkAddress>& workers, const ClusterState& state) {
  wire_worker::RetireRolesRequestT request;
  request.current = state.log_system.epoch();
  for (const LogGeneration& g : state.log_system.generations) request.keep.push_back(g.epoch);
  std::vector<flow::Future<std::optional<wire_worker::RetireRolesReplyT>>> asked;
  for (const flow::NetworkAddress& a : workers)
    asked.push_back(flow::timeout(WorkerInterface::remote(a).retire_roles.get_reply(request), kRetireWaitMax));
  for (auto& f : asked) {
    try {
      flow::wait(f);
    } catch (const flow::Error& e) {
      if (e.code() == flow::ErrorCode::operation_cancelled) throw;
    }
  }
}

std::vector<HostedRoles> hosted_roles(const GenerationPlan& plan) {
  std::map<flow::NetworkAddress, std::vector<std::string>> by_address;
  by_address[plan.master].push_back(role_name("master", std::nullopt, plan.epoch));
  for (uint32_t i = 0; i < plan.grv_proxies.size(); ++i)
    by_address[plan.grv_proxies[i]].push_back(role_name("grv_proxy", i, plan.epoch));
  for (uint32_t i = 0; i < plan.commit_proxies.size(); ++i)
    by_address[plan.commit_proxies[i]].push_back(role_name("commit_proxy", i, plan.epoch));
  for (uint32_t i = 0; i < plan.resolvers.size(); ++i)
    by_address[plan.resolvers[i].at].push_back(role_name("resolver", i, plan.epoch));
  for (uint32_t i = 0; i < plan.logs.size(); ++i)
    by_address[plan.logs[i]].push_back(role_name("tlog", i, plan.epoch));
  std::vector<HostedRoles> out;
  for (auto& [address, roles] : by_address)
    out.push_back({address, std::move(roles)});
  return out;
}

std::vector<flow::NetworkAddress> responsive_workers(
    const std::vector<flow::NetworkAddress>& candidates, flow::Duration within) {
  if (candidates.empty()) return {};
  const flow::Time asked = flow::now();
  // The pings count their answers: the first half answered, and all ended, wake the wait below.
  struct Tally {
    size_t answered = 0, ended = 0;
    flow::Promise<flow::Void> half_answered, all_ended;
  };
  const auto tally = std::make_shared<Tally>();
  const size_t n = candidates.size();
  // The caller's own worker answers at once, whatever the network does: it does not count
  // toward the half that sets the pace for the others.
  const flow::NetworkAddress self = net::Transport::current().address();
  const auto others = static_cast<size_t>(std::count_if(candidates.begin(), candidates.end(),
                                                        [&self](const flow::NetworkAddress& a) { return a != self; }));
  std::vector<flow::Future<bool>> pings;  // true: answered
  for (const flow::NetworkAddress& a : candidates) {
    pings.push_back(flow::spawn([worker = WorkerInterface::remote(a), tally, n, others, is_self = a == self] {
      bool ok = false;
      try {
        (void)flow::wait(worker.get_roles.get_reply(wire_worker::GetRolesRequestT{}));
        ok = true;
      } catch (const flow::Error& e) {
        if (e.code() == flow::ErrorCode::operation_cancelled) throw;
      }
      if (ok && !is_self && ++tally->answered * 2 >= others && tally->half_answered.can_be_set())
        tally->half_answered.send();
      if (++tally->ended == n) tally->all_ended.send();
      return ok;
    }));
  }
  const flow::Time deadline = asked + within;
  const flow::Future<flow::Void> all_ended = tally->all_ended.get_future();
  if (flow::wait_any(all_ended, tally->half_answered.get_future(), flow::delay_until(deadline)) == 1) {
    // Half have answered: the rest get three times as long as that took (a live worker answers
    // about as fast as its peers), so a dead one costs little.
    const flow::Time rest = std::min(deadline, flow::now() + std::max((flow::now() - asked) * 3, kPingGraceMin));
    flow::wait_any(all_ended, flow::delay_until(rest));
  }
  std::vector<flow::NetworkAddress> out;
  for (size_t i = 0; i < n; ++i)
    if (pings[i].is_ready() && !pings[i].is_error() && pings[i].get()) out.push_back(candidates[i]);
  return out;
}

void wait_for_failure(const std::vector<HostedRoles>& hosts) {
  std::vector<flow::Future<flow::Void>> watching;
  for (const HostedRoles& host : hosts) {
    watching.push_back(flow::spawn([host] {
      const WorkerInterface worker = WorkerInterface::remote(host.address);
      uint64_t incarnation = 0;
      flow::Time answered = flow::now();
      for (;;) {
        // Asked as of no incarnation: the worker answers at once.
        wire_worker::GetRolesRequestT request;
        std::optional<wire_worker::GetRolesReplyT> reply;
        try {
          reply =
              flow::wait(flow::timeout_error(worker.get_roles.get_reply(request), kUnreachableMax));
        } catch (const flow::Error& e) {
          if (e.code() == flow::ErrorCode::operation_cancelled) throw;
        }
        if (!reply) {
          if (flow::now() - answered >= kUnreachableMax) {
            flow::TraceEvent(flow::SevWarn, "RecoveryRoleHostUnreachable")
                .detail("Address", host.address.to_string());
            return;
          }
          flow::wait(flow::delay(kAskAgainDelay));
          continue;
        }
        answered = flow::now();
        if (incarnation != 0 && reply->incarnation != incarnation) {
          flow::TraceEvent(flow::SevWarn, "RecoveryRoleHostRestarted")
              .detail("Address", host.address.to_string());
          return;
        }
        incarnation = reply->incarnation;
        for (const std::string& name : host.roles) {
          const auto it = std::find_if(reply->roles.begin(), reply->roles.end(),
                                       [&](const auto& r) { return r && r->name == name; });
          if (it == reply->roles.end() || !(*it)->running) {
            flow::TraceEvent(flow::SevWarn, "RecoveryRoleFailed")
                .detail("Address", host.address.to_string())
                .detail("Role", name);
            return;
          }
        }
        flow::wait(flow::delay(kPingInterval));
      }
    }));
  }
  flow::wait_any(watching);
}

}  // namespace roles
