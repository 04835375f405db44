#include "roles/cluster_controller/worker_registration.h"

#include <utility>

#include "flow/actor.h"
#include "flow/assert.h"
#include "flow/code_probe.h"
#include "flow/combinators.h"
#include "flow/deterministic_random.h"
#include "flow/trace_event.h"
#include "roles/cluster_controller/leader_record.h"
#include "roles/coordinator/coordinated_state.h"

using namespace std::chrono_literals;

namespace roles {

std::string_view class_name(ProcessClass c) {
  switch (c) {
    case ProcessClass::stateless: return "stateless";
    case ProcessClass::log: return "log";
    case ProcessClass::storage: return "storage";
    case ProcessClass::unset: break;
  }
  return "unset";
}

flow::ErrorOr<ProcessClass> parse_process_class(std::string_view text) {
  for (const ProcessClass c : {ProcessClass::unset, ProcessClass::stateless, ProcessClass::log, ProcessClass::storage})
    if (text == class_name(c)) return c;
  return flow::Error(flow::ErrorCode::invalid_option_value);
}

void register_worker(ClusterDescription cluster, WorkerRegistration me) {
  ASSERT_LE(me.machine.size(), kMachineNameBytesMax);
  wire_cc::RegisterWorkerRequestT request;
  request.address = me.address.to_string();
  request.machine = me.machine;
  request.process_class = std::string(class_name(me.process_class));
  std::optional<CoordinatedState> reg;
  for (;;) {
    bool refused = false;
    if (const std::optional<LeaderInfo> leader = look_for_leader(&cluster, &reg, "Worker")) {
      const ClusterControllerInterface controller = cluster_controller_endpoints(&leader->address);
      for (;;) {
        std::optional<wire_cc::RegisterWorkerReplyT> reply;
        try {
          reply = flow::wait(flow::timeout(controller.register_worker.get_reply(request), kRegisterReplyWithin));
        } catch (const flow::Error& e) {
          if (e.code() == flow::ErrorCode::operation_cancelled) throw;
          refused = e.code() == flow::ErrorCode::invalid_option_value;
          if (refused) {
            // The controller's table is full of workers alive: try again a while later.
            flow::TraceEvent(flow::SevWarnAlways, "WorkerRegistrationRefused").detail("Leader", leader->address.to_string());
          }
        }
        if (!reply) break;
        flow::wait(flow::delay(kRegisterInterval));
      }
      CODE_PROBE(true, "a worker looks for the leader again to register");
    }
    if (refused) flow::wait(flow::delay(kRegistrationLease));
    flow::wait(flow::delay(50ms + flow::deterministic_random().random_duration(flow::Duration::zero(), 50ms)));
  }
}

flow::ErrorOr<flow::Void> WorkerRegistry::record(const wire_cc::RegisterWorkerRequestT& r) {
  const flow::Error invalid(flow::ErrorCode::invalid_option_value);
  const flow::ErrorOr<flow::NetworkAddress> address = flow::NetworkAddress::parse(r.address);
  const flow::ErrorOr<ProcessClass> c = parse_process_class(r.process_class);
  if (!address.ok() || !c.ok() || r.machine.size() > kMachineNameBytesMax) return invalid;
  auto it = heard_.find(address.get());
  if (it == heard_.end()) {
    if (heard_.size() >= kRegisteredWorkersMax) {
      // Full: forget those not heard from within the lease (a flood of made-up addresses falls
      // silent), then refuse only if all are alive.
      CODE_PROBE(true, "the registry is full and forgets the workers past their lease");
      std::erase_if(heard_, [](const auto& entry) { return flow::now() - entry.second.at > kRegistrationLease; });
      if (heard_.size() >= kRegisteredWorkersMax) return invalid;
    }
    flow::TraceEvent(flow::SevInfo, "WorkerRegistered")
        .detail("Address", r.address)
        .detail("Machine", r.machine)
        .detail("Class", r.process_class);
    it = heard_.emplace(address.get(), Heard{}).first;
  }
  it->second.worker = {address.get(), r.machine, c.get()};
  it->second.at = flow::now();
  return flow::Void();
}

void WorkerRegistry::serve(const RegisterWorkerStream& stream) {
  for (;;) {
    auto in = flow::wait_next(stream.requests());
    const flow::ErrorOr<flow::Void> recorded = record(in.request);
    if (recorded.ok()) {
      in.reply.send({});
      continue;
    }
    CODE_PROBE(true, "the controller refuses a registration");
    // Traced the first time and every 1024th after: a flood does not flood the trace.
    if (refused_++ % 1024 == 0) {
      flow::TraceEvent(flow::SevWarn, "WorkerRegistrationRefused")
          .detail("Address", in.request.address.substr(0, 64))
          .detail("Registered", static_cast<int64_t>(heard_.size()))
          .detail("Refused", static_cast<int64_t>(refused_));
    }
    in.reply.send_error(recorded.error());
  }
}

std::vector<WorkerRegistration> WorkerRegistry::alive() const {
  std::vector<WorkerRegistration> out;
  for (const auto& [address, heard] : heard_)
    if (flow::now() - heard.at <= kRegistrationLease) out.push_back(heard.worker);
  return out;
}

std::vector<flow::NetworkAddress> WorkerRegistry::known() const {
  std::vector<flow::NetworkAddress> out;
  for (const auto& [address, heard] : heard_) out.push_back(address);
  return out;
}

}  // namespace roles
