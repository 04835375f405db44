// The worker role (docs/database.md, "worker"): starts the roles it is asked to in its process,
// answers with their interfaces, keeps a record of each log and storage server so that it brings
// them back after a reboot, restarts one that ends with an error of its disk, and reports every
// role it hosts and how each ended.

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <fmt/format.h>

#include "flow/actor.h"
#include "flow/actor_collection.h"
#include "flow/assert.h"
#include "flow/async_trigger.h"
#include "flow/buggify.h"
#include "flow/code_probe.h"
#include "flow/combinators.h"
#include "flow/deterministic_random.h"
#include "flow/process.h"
#include "flow/trace_event.h"
#include "net/message.h"
#include "roles/common/database_lock.h"
#include "roles/common/limits.h"
#include "roles/common/mutation.h"
#include "roles/worker/interface_wire.h"
#include "roles/worker/role_endpoints.h"
#include "roles/worker/role_record.h"
#include "roles/worker/worker_interface.h"

namespace roles {

namespace {

using namespace std::chrono_literals;

constexpr uint64_t kWorkerTokens = 0x5752'0000;
// A log or storage server that ended with an error of its disk starts again after this long.
constexpr flow::Duration kRestartDelayMin = 100ms;
constexpr flow::Duration kRestartDelayMax = 1s;
// The longest wait between attempts to read the worker's records through errors of its disk.
constexpr flow::Duration kDiskRetryDelayMax = 5s;
// GetRoles requests waiting for a change at most; more are answered at once. Each waits 5 s at
// most, so the places of askers that went away come back.
constexpr size_t kRoleWaitersMax = 100;
constexpr flow::Duration kRoleWaitMax = 5s;
// Bounds of what a request may ask for.
constexpr int64_t kQueueFileBytesMin = int64_t{64} << 10;
constexpr int64_t kQueueFileBytesMax = int64_t{16} << 30;
// A start version leaves room for centuries of versions (about 2^62: 146,000 years at a million a
// second) and for the arithmetic on them.
constexpr Version kStartVersionMax = Version{1} << 62;

bool start_version_ok(Version v) { return v >= 0 && v <= kStartVersionMax; }
bool epoch_ok(uint64_t epoch) { return epoch >= 1 && epoch <= kEpochMax; }

template <class T>
std::vector<uint8_t> encoded(const T& message) {
  flatbuffers::FlatBufferBuilder builder;
  net::encode_message(builder, message);
  return {builder.GetBufferPointer(), builder.GetBufferPointer() + builder.GetSize()};
}

bool disk_error(const flow::Error& e) {
  return e.code() == flow::ErrorCode::io_error || e.code() == flow::ErrorCode::io_timeout ||
         e.code() == flow::ErrorCode::disk_full;
}

// A request found good: the role's name, whether it has files (a record is kept), and the body
// that runs it (again, after an error of its disk).
struct RoleStart {
  std::string name;
  std::optional<RoleRecordKind> durable;
  std::function<void()> run;
};

// Why a request is refused, or the role it starts.
using Checked = std::variant<std::string, RoleStart>;

std::optional<std::vector<TLogInterface>> logs_from_wire(
    const std::vector<std::unique_ptr<wire_tlog::TLogInterfaceT>>& w) {
  std::vector<TLogInterface> logs;
  for (const auto& l : w) {
    std::optional<TLogInterface> log = from_wire_ptr(l);
    if (!log) return std::nullopt;
    logs.push_back(std::move(*log));
  }
  if (logs.empty()) return std::nullopt;
  return logs;
}

Checked check(const wire_worker::InitializeMasterRequestT& r) {
  if (!epoch_ok(r.epoch)) return std::string("epoch out of bounds");
  if (!start_version_ok(r.start_version)) return std::string("start_version out of bounds");
  return RoleStart{role_name("master", std::nullopt, r.epoch), std::nullopt,
                   [init = MasterInit{.epoch = r.epoch, .start_version = r.start_version}] {
                     run_master(master_endpoints(nullptr, init.epoch), init);
                   }};
}

Checked check(const wire_worker::InitializeGrvProxyRequestT& r) {
  if (!epoch_ok(r.epoch)) return std::string("epoch out of bounds");
  if (r.index >= kRoleIndexMax) return std::string("index out of bounds");
  std::optional<MasterInterface> master = from_wire_ptr(r.master);
  if (!master) return std::string("master interface not whole");
  std::optional<std::vector<TLogInterface>> logs = logs_from_wire(r.logs);
  if (!logs) return std::string("logs missing or not whole");
  if (!r.lock_uid.empty() && !lock_uid_ok(r.lock_uid)) return std::string("lock uid too long");
  return RoleStart{role_name("grv_proxy", r.index, r.epoch), std::nullopt,
                   [index = r.index,
                    init = GrvProxyInit{.epoch = r.epoch, .master = *master, .logs = *logs, .lock_uid = r.lock_uid}] {
                     run_grv_proxy(grv_proxy_endpoints(nullptr, init.epoch, index), init);
                   }};
}

Checked check(const wire_worker::InitializeResolverRequestT& r) {
  if (!epoch_ok(r.epoch)) return std::string("epoch out of bounds");
  if (r.index >= kRoleIndexMax) return std::string("index out of bounds");
  if (!start_version_ok(r.start_version)) return std::string("start_version out of bounds");
  return RoleStart{role_name("resolver", r.index, r.epoch), std::nullopt,
                   [index = r.index, init = ResolverInit{.epoch = r.epoch, .start_version = r.start_version}] {
                     run_resolver(resolver_endpoints(nullptr, init.epoch, index), init);
                   }};
}

Checked check(const wire_worker::InitializeTLogRequestT& r) {
  if (!epoch_ok(r.epoch)) return std::string("epoch out of bounds");
  if (r.index >= kRoleIndexMax) return std::string("index out of bounds");
  if (!start_version_ok(r.start_version)) return std::string("start_version out of bounds");
  if (r.queue_file_bytes != 0 && (r.queue_file_bytes < kQueueFileBytesMin || r.queue_file_bytes > kQueueFileBytesMax))
    return std::string("queue_file_bytes out of bounds");
  TLogInit init{.epoch = r.epoch, .start_version = r.start_version,
                .name = role_name("tlog", r.index, r.epoch)};
  if (r.queue_file_bytes != 0) init.queue_file_bytes = r.queue_file_bytes;
  return RoleStart{init.name, RoleRecordKind::kTLog,
                   [index = r.index, init] { run_tlog(tlog_endpoints(nullptr, init.epoch, index), init); }};
}

Checked check(const wire_worker::InitializeStorageServerRequestT& r) {
  if (!epoch_ok(r.epoch)) return std::string("epoch out of bounds");
  if (r.tag == 0) return std::string("tag 0");
  if (r.engine != "memory" && r.engine != "ssd") return std::string("unknown engine");
  if (!start_version_ok(r.start_version)) return std::string("start_version out of bounds");
  if (r.log_file_bytes != 0 && (r.log_file_bytes < kQueueFileBytesMin || r.log_file_bytes > kQueueFileBytesMax))
    return std::string("log_file_bytes out of bounds");
  if (r.cache_kib < 0 || r.cache_kib > (int64_t{1} << 30)) return std::string("cache_kib out of bounds");
  StorageServerInit init{.epoch = r.epoch, .tag = r.tag, .shards = {}, .logs = {}, .engine = r.engine,
                         .name = fmt::format("storage{}", r.tag), .engine_options = {},
                         .start_version = r.start_version};
  for (const auto& s : r.shards) {
    if (!s) return std::string("shard missing");
    KeyRange range = from_wire(*s);
    if (range.empty() || range.end > kKeyspaceEnd) return std::string("shard empty or past the keyspace");
    init.shards.push_back(std::move(range));
  }
  if (init.shards.empty()) return std::string("no shard");
  std::optional<std::vector<TLogInterface>> logs = logs_from_wire(r.logs);
  if (!logs) return std::string("logs missing or not whole");
  init.logs = std::move(*logs);
  if (r.log_file_bytes != 0) init.engine_options.log_file_bytes = r.log_file_bytes;
  if (r.cache_kib != 0) init.engine_options.cache_kib = r.cache_kib;
  return RoleStart{init.name, RoleRecordKind::kStorageServer, [init] { run_storage_server(init); }};
}

Checked check(const wire_worker::InitializeCommitProxyRequestT& r) {
  if (!epoch_ok(r.epoch)) return std::string("epoch out of bounds");
  if (r.index >= kRoleIndexMax) return std::string("index out of bounds");
  if (r.proxy_id == 0) return std::string("proxy_id 0");
  std::optional<MasterInterface> master = from_wire_ptr(r.master);
  if (!master) return std::string("master interface not whole");
  std::optional<std::vector<TLogInterface>> logs = logs_from_wire(r.logs);
  if (!logs) return std::string("logs missing or not whole");
  std::optional<ShardMap> shards = from_wire(r.shards);
  if (!shards) return std::string("shard map not sorted, contiguous and covering");
  if (!r.lock_uid.empty() && !lock_uid_ok(r.lock_uid)) return std::string("lock uid too long");
  CommitProxyInit init{.epoch = r.epoch, .proxy_id = r.proxy_id, .master = *master, .resolvers = {},
                       .logs = std::move(*logs), .shards = std::move(*shards), .first_batch_mutations = {},
                       .lock_uid = r.lock_uid};
  std::string covered;  // the resolvers' ranges must tile ["", kKeyspaceEnd)
  for (const auto& a : r.resolvers) {
    if (!a || !a->keys) return std::string("resolver assignment missing");
    std::optional<ResolverInterface> resolver = from_wire_ptr(a->resolver);
    if (!resolver) return std::string("resolver interface not whole");
    KeyRange keys = from_wire(*a->keys);
    if (keys.begin != covered || keys.empty() || keys.end > kKeyspaceEnd)
      return std::string("resolver ranges not sorted, contiguous and covering");
    covered = keys.end;
    init.resolvers.push_back({std::move(keys), std::move(*resolver)});
  }
  if (covered != kKeyspaceEnd) return std::string("resolver ranges not covering");
  // The first batch writes the shard map: plain sets and clears of keys in the keyspace.
  size_t first_batch_bytes = 0;
  for (const auto& m : r.first_batch_mutations) {
    std::optional<Mutation> mutation = m ? from_wire(*m) : std::nullopt;
    if (!mutation) return std::string("first batch mutation malformed");
    const bool set = mutation->type == MutationType::kSet;
    if (!set && mutation->type != MutationType::kClearRange)
      return std::string("first batch mutation neither a set nor a clear");
    if (mutation->param1.size() > key_bytes_max || (set ? mutation->param2.size() > value_bytes_max
                                                        : mutation->param2.size() > key_bytes_max + 1))
      return std::string("first batch mutation too large");
    if (set ? mutation->param1 >= kKeyspaceEnd
            : mutation->param2 < mutation->param1 || mutation->param2 > kKeyspaceEnd)
      return std::string("first batch mutation outside the keyspace");
    first_batch_bytes += mutation->param1.size() + mutation->param2.size() + mutation_overhead_bytes;
    if (first_batch_bytes > transaction_bytes_max) return std::string("first batch too large");
    init.first_batch_mutations.push_back(std::move(*mutation));
  }
  return RoleStart{role_name("commit_proxy", r.index, r.epoch), std::nullopt,
                   [index = r.index, init] {
                     run_commit_proxy(commit_proxy_endpoints(nullptr, init.epoch, index), init);
                   }};
}

// The interface a started role answers with, from the worker's address.
wire_worker::InitializeMasterReplyT reply_for(const wire_worker::InitializeMasterRequestT& r,
                                              const flow::NetworkAddress& self) {
  wire_worker::InitializeMasterReplyT reply;
  reply.interface = std::make_unique<wire_worker::MasterInterfaceT>(to_wire(master_endpoints(&self, r.epoch)));
  return reply;
}
wire_worker::InitializeGrvProxyReplyT reply_for(const wire_worker::InitializeGrvProxyRequestT& r,
                                                const flow::NetworkAddress& self) {
  wire_worker::InitializeGrvProxyReplyT reply;
  reply.interface = std::make_unique<wire_worker::GrvProxyInterfaceT>(to_wire(grv_proxy_endpoints(&self, r.epoch, r.index)));
  return reply;
}
wire_worker::InitializeResolverReplyT reply_for(const wire_worker::InitializeResolverRequestT& r,
                                                const flow::NetworkAddress& self) {
  wire_worker::InitializeResolverReplyT reply;
  reply.interface = std::make_unique<wire_worker::ResolverInterfaceT>(to_wire(resolver_endpoints(&self, r.epoch, r.index)));
  return reply;
}
wire_worker::InitializeTLogReplyT reply_for(const wire_worker::InitializeTLogRequestT& r,
                                            const flow::NetworkAddress& self) {
  wire_worker::InitializeTLogReplyT reply;
  reply.interface = std::make_unique<wire_tlog::TLogInterfaceT>(to_wire(tlog_endpoints(&self, r.epoch, r.index)));
  return reply;
}
wire_worker::InitializeStorageServerReplyT reply_for(const wire_worker::InitializeStorageServerRequestT& r,
                                                     const flow::NetworkAddress& self) {
  wire_worker::InitializeStorageServerReplyT reply;
  reply.interface =
      std::make_unique<wire_worker::StorageServerInterfaceT>(to_wire(StorageServerInterface::remote(self, r.tag)));
  return reply;
}
wire_worker::InitializeCommitProxyReplyT reply_for(const wire_worker::InitializeCommitProxyRequestT& r,
                                                   const flow::NetworkAddress& self) {
  wire_worker::InitializeCommitProxyReplyT reply;
  reply.interface =
      std::make_unique<wire_worker::CommitProxyInterfaceT>(to_wire(commit_proxy_endpoints(&self, r.epoch, r.index)));
  return reply;
}

// Runs `fn` until it ends without an error of the disk, waiting longer after each. May suspend.
template <class Fn>
auto despite_disk_errors(Fn fn) {
  flow::Duration backoff = kRestartDelayMin;
  for (;;) {
    try {
      return fn();
    } catch (const flow::Error& e) {
      if (!disk_error(e)) throw;
      CODE_PROBE(true, "worker waits out an error of its disk while it recovers");
      flow::TraceEvent(flow::SevWarnAlways, "WorkerDiskErrorRetrying").detail("Error", e);
    }
    flow::wait(flow::delay(backoff));
    backoff = std::min(backoff * 2, kDiskRetryDelayMax);
  }
}

enum class WorkerPhase { kRecovering, kServing };

// The epoch in a role's name ("tlog2.e3": 3); none for a role of no epoch (a storage server).
std::optional<uint64_t> epoch_of(const std::string& name) {
  const size_t at = name.rfind(".e");
  if (at == std::string::npos || at + 2 >= name.size()) return std::nullopt;
  uint64_t epoch = 0;
  for (size_t i = at + 2; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9' || epoch > kEpochMax) return std::nullopt;
    epoch = epoch * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  return epoch;
}

struct HostedRole {
  std::vector<uint8_t> request;  // what started it, encoded: a repeat is compared with it
  bool running = true;
  int32_t ended_with = 0;
  uint32_t restarts = 0;
  flow::Future<flow::Void> actor;
};

class Worker {
 public:
  explicit Worker(flow::IFileSystem& fs) : fs_(fs) {}

  // Brings back the logs and storage servers whose records the process's disk holds. An error
  // of the disk is waited out (the worker is what brings the roles back: it must not end with
  // it). May suspend.
  void recover() {
    const std::vector<std::string> files = despite_disk_errors([this] { return flow::wait(fs_.list("")); });
    for (const std::string& file : files) {
      if (file.ends_with(std::string(kRoleRecordSuffix) + ".tmp")) {
        CODE_PROBE(true, "worker removes a role record it did not finish writing");
        despite_disk_errors([&] { return flow::wait(fs_.remove(file)); });
        continue;
      }
      if (!file.ends_with(kRoleRecordSuffix)) continue;
      const std::string name = file.substr(0, file.size() - kRoleRecordSuffix.size());
      flow::ErrorOr<RoleRecord> record = despite_disk_errors([&]() -> flow::ErrorOr<RoleRecord> {
        try {
          return read_role_record(fs_, file);
        } catch (const flow::Error& e) {
          if (e.code() == flow::ErrorCode::operation_cancelled || disk_error(e)) throw;
          return e;  // gone, or not a file: reported below
        }
      });
      std::optional<Checked> checked;
      if (record.ok()) {
        if (record.get().kind == RoleRecordKind::kTLog) {
          flow::ErrorOr<wire_worker::InitializeTLogRequestT> r =
              net::decode_message<wire_worker::InitializeTLogRequestT>(record.get().request);
          if (r.ok()) checked = check(r.get());
        } else {
          flow::ErrorOr<wire_worker::InitializeStorageServerRequestT> r =
              net::decode_message<wire_worker::InitializeStorageServerRequestT>(record.get().request);
          if (r.ok()) checked = check(r.get());
        }
      }
      RoleStart* start = checked ? std::get_if<RoleStart>(&*checked) : nullptr;
      if (start == nullptr || start->name != name) {
        // Its files stay: the role is reported ended, for an operator (or step 3's recovery).
        flow::TraceEvent(flow::SevWarnAlways, "WorkerRoleRecordCorrupt").detail("File", file);
        roles_[name] = HostedRole{{}, false, static_cast<int32_t>(flow::ErrorCode::checksum_failed), 0, {}};
        changed();
        continue;
      }
      CODE_PROBE(true, "worker brings back a durable role after a reboot");
      flow::TraceEvent(flow::SevInfo, "WorkerRoleRecovered").detail("Role", name);
      host(std::move(*start), std::move(record.get().request));
    }
    phase_ = WorkerPhase::kServing;
  }

  // Answers `in` with the role it asks for, started unless it runs already. May suspend.
  template <class Req, class Rep>
  void initialize(net::ReceivedRequest<Req, Rep>& in) {
    Checked checked = check(in.request);
    if (const std::string* why = std::get_if<std::string>(&checked)) {
      flow::TraceEvent(flow::SevWarnAlways, "WorkerRequestRefused").detail("Why", *why);
      in.reply.send_error(flow::Error(flow::ErrorCode::invalid_role_request));
      return;
    }
    RoleStart start = std::get<RoleStart>(std::move(checked));
    std::vector<uint8_t> request = encoded(in.request);
    if (auto it = roles_.find(start.name); it != roles_.end() && it->second.running) {
      if (it->second.request != request) {
        flow::TraceEvent(flow::SevWarnAlways, "WorkerRoleAlreadyRunning").detail("Role", start.name);
        in.reply.send_error(flow::Error(flow::ErrorCode::role_already_running));
        return;
      }
      CODE_PROBE(true, "worker answers a repeated request for a role it runs");
      in.reply.send(reply_for(in.request, self_));
      return;
    }
    if (start.durable) {
      if (flow::buggify()) flow::wait(flow::delay(flow::deterministic_random().random_duration(0ms, 500ms)));
      try {
        write_role_record(fs_, start.name, {*start.durable, request});
      } catch (const flow::Error& e) {
        if (e.code() == flow::ErrorCode::operation_cancelled) throw;
        flow::TraceEvent(flow::SevWarnAlways, "WorkerRoleRecordNotWritten").detail("Role", start.name).detail("Error", e);
        in.reply.send_error(e);
        return;
      }
    }
    host(std::move(start), std::move(request));
    in.reply.send(reply_for(in.request, self_));
    check_invariants();
  }

  // Answers `in` once the report has changed past what it knows. May suspend.
  void report_when_changed(net::ReceivedRequest<wire_worker::GetRolesRequestT, wire_worker::GetRolesReplyT> in) {
    if (in.request.incarnation == incarnation_) {
      const flow::Time deadline = flow::now() + kRoleWaitMax;
      while (change_ <= in.request.after_change && flow::now() < deadline)
        flow::wait_any(changed_.on_trigger(), flow::delay_until(deadline));
    } else {
      CODE_PROBE(in.request.after_change != 0, "worker answers a report asked of another incarnation at once");
    }
    wire_worker::GetRolesReplyT reply;
    reply.incarnation = incarnation_;
    reply.change = change_;
    for (const auto& [name, role] : roles_) {
      auto r = std::make_unique<wire_worker::RoleReportT>();
      r->name = name;
      r->running = role.running;
      r->ended_with = role.ended_with;
      r->restarts = role.restarts;
      reply.roles.push_back(std::move(r));
    }
    in.reply.send(reply);
  }

  void check_invariants() const {
    ASSERT(phase_ == WorkerPhase::kServing);
    ASSERT_GE(change_, 1u);
    for (const auto& [name, role] : roles_)
      if (role.running) ASSERT_EQ(role.ended_with, 0);
  }

  // Ends the roles of epochs below `current` not in `keep`, with their files. May suspend.
  void retire(net::ReceivedRequest<wire_worker::RetireRolesRequestT, wire_worker::RetireRolesReplyT> in) {
    const auto& r = in.request;
    wire_worker::RetireRolesReplyT reply;
    std::vector<std::string> names;
    for (const auto& [name, role] : roles_) {
      const std::optional<uint64_t> epoch = epoch_of(name);
      if (!epoch || *epoch >= r.current || std::find(r.keep.begin(), r.keep.end(), *epoch) != r.keep.end()) continue;
      names.push_back(name);
    }
    for (const std::string& name : names) {
      auto it = roles_.find(name);
      if (it == roles_.end()) continue;
      const bool durable = name.starts_with("tlog");  // the only role of an epoch with files
      roles_.erase(it);  // its actor with it: the role ends
      changed();
      CODE_PROBE(true, "worker retires a role of an old epoch");
      flow::TraceEvent(flow::SevInfo, "WorkerRoleRetired").detail("Role", name);
      if (durable) {
        // The record first: a reboot meanwhile must not bring back a log without its files.
        for (const std::string& file : {name + std::string(kRoleRecordSuffix), name + ".0", name + ".1"}) {
          try {
            if (flow::wait(fs_.exists(file))) flow::wait(fs_.remove(file));
          } catch (const flow::Error& e) {
            if (e.code() == flow::ErrorCode::operation_cancelled) throw;
            flow::TraceEvent(flow::SevWarn, "WorkerRetiredFileNotRemoved").detail("File", file).detail("Error", e);
          }
        }
      }
      reply.retired.push_back(name);
    }
    in.reply.send(reply);
  }

  const flow::NetworkAddress& self() const { return self_; }

 private:
  void host(RoleStart start, std::vector<uint8_t> request) {
    const std::string name = start.name;
    flow::TraceEvent(flow::SevInfo, "WorkerRoleStarted").detail("Role", name);
    HostedRole& role = roles_[name];
    role = HostedRole{std::move(request), true, 0, 0, {}};
    changed();
    role.actor = flow::spawn([this, name, start = std::move(start)] { supervise(name, start); });
  }

  // Runs the role; again after an error of its disk if it has files; then reports its end.
  // May suspend.
  void supervise(const std::string& name, const RoleStart& start) {
    for (;;) {
      std::optional<flow::Error> failed;
      try {
        start.run();
      } catch (const flow::Error& e) {
        if (e.code() == flow::ErrorCode::operation_cancelled) throw;
        failed = e;
      }
      HostedRole& role = roles_.at(name);
      if (failed && start.durable && disk_error(*failed)) {
        CODE_PROBE(true, "worker restarts a role after an error of its disk");
        flow::TraceEvent(flow::SevWarn, "WorkerRoleRestarting").detail("Role", name).detail("Error", *failed);
        ++role.restarts;
        changed();
        flow::wait(flow::delay(flow::deterministic_random().random_duration(kRestartDelayMin, kRestartDelayMax)));
        continue;
      }
      role.running = false;
      role.ended_with = failed ? failed->number() : static_cast<int32_t>(flow::ErrorCode::success);
      flow::TraceEvent(failed ? flow::SevWarn : flow::SevInfo, "WorkerRoleEnded")
          .detail("Role", name)
          .detail("Error", failed ? failed->name() : "none");
      changed();
      return;
    }
  }

  void changed() {
    ++change_;
    changed_.trigger();
  }

  flow::IFileSystem& fs_;
  flow::NetworkAddress self_ = flow::current_process().address();
  WorkerPhase phase_ = WorkerPhase::kRecovering;
  std::map<std::string, HostedRole> roles_;  // by name: reported in order
  // Drawn at start (never 0): an asker's report from before a reboot names another.
  const uint64_t incarnation_ = flow::deterministic_random().random_uint64() | 1;
  uint64_t change_ = 1;
  flow::AsyncTrigger changed_;
};

template <class Req, class Rep>
void serve_initialize(Worker& worker, const net::RequestStream<Req, Rep>& stream) {
  const auto requests = stream.requests();
  for (;;) {
    net::ReceivedRequest<Req, Rep> in = flow::wait_next(requests);
    worker.initialize(in);
  }
}

void serve_roles(Worker& worker, const GetRolesStream& stream) {
  const auto requests = stream.requests();
  flow::ActorCollection waiters;
  size_t waiting = 0;
  for (;;) {
    auto in = flow::wait_next(requests);
    if (waiting >= kRoleWaitersMax) {
      CODE_PROBE(true, "worker answers a role report at once: too many wait");
      in.request.after_change = 0;
    }
    ++waiting;
    waiters.add(flow::spawn([&worker, &waiting, in = std::move(in)]() mutable {
      worker.report_when_changed(std::move(in));
      --waiting;
    }));
  }
}

template <class Stream>
Stream worker_stream(const flow::NetworkAddress* at, uint64_t n) {
  if (at == nullptr) return Stream::well_known(net::well_known_token(kWorkerTokens + n));
  return Stream(net::Endpoint{*at, net::well_known_token(kWorkerTokens + n)});
}

WorkerInterface worker_endpoints(const flow::NetworkAddress* at) {
  return {worker_stream<InitializeMasterStream>(at, 0),      worker_stream<InitializeGrvProxyStream>(at, 1),
          worker_stream<InitializeCommitProxyStream>(at, 2), worker_stream<InitializeResolverStream>(at, 3),
          worker_stream<InitializeTLogStream>(at, 4),        worker_stream<InitializeStorageServerStream>(at, 5),
          worker_stream<GetRolesStream>(at, 6),           worker_stream<RetireRolesStream>(at, 7),
          worker_stream<RebootStream>(at, 8)};
}

}  // namespace

WorkerInterface WorkerInterface::remote(flow::NetworkAddress address) { return worker_endpoints(&address); }

void run_worker() {
  const WorkerInterface interface = worker_endpoints(nullptr);
  Worker worker(flow::current_process().file_system());
  flow::TraceEvent(flow::SevInfo, "WorkerStarted").detail("Address", worker.self().to_string());
  worker.recover();
  flow::ActorCollection actors;
  actors.add(flow::spawn([&] { serve_initialize(worker, interface.initialize_master); }));
  actors.add(flow::spawn([&] { serve_initialize(worker, interface.initialize_grv_proxy); }));
  actors.add(flow::spawn([&] { serve_initialize(worker, interface.initialize_commit_proxy); }));
  actors.add(flow::spawn([&] { serve_initialize(worker, interface.initialize_resolver); }));
  actors.add(flow::spawn([&] { serve_initialize(worker, interface.initialize_tlog); }));
  actors.add(flow::spawn([&] { serve_initialize(worker, interface.initialize_storage_server); }));
  actors.add(flow::spawn([&] { serve_roles(worker, interface.get_roles); }));
  actors.add(flow::spawn([&] {
    const auto requests = interface.retire_roles.requests();
    for (;;) {
      worker.retire(flow::wait_next(requests));
      worker.check_invariants();
    }
  }));
  actors.add(flow::spawn([&] {
    auto in = flow::wait_next(interface.reboot.requests());
    flow::TraceEvent(flow::SevWarnAlways, "WorkerRebootRequested").detail("Address", worker.self().to_string());
    in.reply.send({});
    flow::wait(flow::delay(std::chrono::milliseconds(100)));  // the answer leaves first
    flow::fail_stop("a reboot was requested (strata-cli kill)");
  }));
  flow::wait(actors.get_result());
}

}  // namespace roles
