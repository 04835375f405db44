// The coordinator role (coordinator_interface.h): generation registers in a memory store, one
// request at a time, each register's new state committed before the reply.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "flow/actor.h"
#include "flow/actor_collection.h"
#include "flow/code_probe.h"
#include "flow/combinators.h"
#include "flow/fifo_lock.h"
#include "flow/process.h"
#include "flow/trace_event.h"
#include "roles/common/cluster_description.h"
#include "roles/coordinator/coordinator_interface.h"
#include "storage/key_value_store.h"

namespace roles {

namespace {

using namespace std::chrono_literals;

// net::well_known_token(kCoordinatorTokens + n).
constexpr uint64_t kCoordinatorTokens = 0x434f'0000;

// Registers are stored under "r/<cluster>/<key>", forwards under "f/<cluster>"; nothing else is
// in the store.
constexpr std::string_view kRegisterPrefix = "r/";
constexpr std::string_view kForwardPrefix = "f/";

// The keys that begin with `prefix`, as a range's end.
std::string prefix_end(std::string_view prefix) {
  std::string end(prefix);
  end.back() = static_cast<char>(end.back() + 1);
  return end;
}

template <class Stream>
Stream coordinator_stream(const flow::NetworkAddress* at, uint64_t n) {
  if (at == nullptr) return Stream::well_known(net::well_known_token(kCoordinatorTokens + n));
  return Stream(net::Endpoint{*at, net::well_known_token(kCoordinatorTokens + n)});
}

CoordinatorInterface coordinator_endpoints(const flow::NetworkAddress* at) {
  return {coordinator_stream<RegisterReadStream>(at, 0), coordinator_stream<RegisterWriteStream>(at, 1),
          coordinator_stream<ForwardStream>(at, 2)};
}

std::string as_string(const std::vector<uint8_t>& bytes) { return std::string(bytes.begin(), bytes.end()); }

class Coordinator {
 public:
  explicit Coordinator(storage::IKeyValueStore& store) : store_(store) {}

  // Counts the registers and forwards the store holds. May suspend.
  void start() {
    registers_ = store_.read_range(kRegisterPrefix, prefix_end(kRegisterPrefix)).rows.size();
    for (const auto& row : store_.read_range(kForwardPrefix, prefix_end(kForwardPrefix)).rows) {
      ++forwards_;
      next_forward_ = std::max(next_forward_, forward_order(row.value) + 1);
    }
  }

  // May suspend.
  wire_coord::RegisterReadReplyT read(const wire_coord::RegisterReadRequestT& r) {
    const auto held = lock_.take();
    const std::string cluster = checked_cluster(r.cluster);
    const std::string key = register_key(cluster, as_string(r.key));
    const RegisterGeneration generation = checked(r.generation);
    wire_coord::RegisterReadReplyT reply;
    if (std::optional<std::string> to = forward_of(cluster)) {
      CODE_PROBE(true, "coordinator forwards a read to the coordinators the cluster moved to");
      reply.forward.assign(to->begin(), to->end());
      return reply;
    }
    // A read that raises nothing never stores a register, so it needs no room for one.
    GenerationRegister reg = load(key, /*creating=*/generation > RegisterGeneration{});
    bool changed = false;
    const GenerationRegister::ReadReply answer = reg.read(generation, changed);
    if (changed) save(key, reg);
    reply.has_value = answer.value.has_value();
    if (answer.value) reply.value.assign(answer.value->begin(), answer.value->end());
    reply.write_generation = std::make_unique<wire_coord::Generation>(to_wire(answer.write_generation));
    reply.read_generation = std::make_unique<wire_coord::Generation>(to_wire(answer.read_generation));
    return reply;
  }

  // May suspend.
  wire_coord::RegisterWriteReplyT write(const wire_coord::RegisterWriteRequestT& r) {
    const auto held = lock_.take();
    const std::string cluster = checked_cluster(r.cluster);
    const std::string key = register_key(cluster, as_string(r.key));
    if (r.value.size() > kRegisterValueBytesMax) throw flow::Error(flow::ErrorCode::value_too_large);
    const RegisterGeneration generation = checked(r.generation);
    wire_coord::RegisterWriteReplyT reply;
    if (std::optional<std::string> to = forward_of(cluster)) {
      CODE_PROBE(true, "coordinator forwards a write to the coordinators the cluster moved to");
      reply.forward.assign(to->begin(), to->end());
      return reply;
    }
    GenerationRegister reg = load(key, /*creating=*/true);
    const GenerationRegister::WriteReply answer = reg.write(as_string(r.value), generation);
    if (answer.accepted) save(key, reg);
    CODE_PROBE(!answer.accepted, "coordinator refuses a write of an older generation");
    reply.accepted = answer.accepted;
    reply.read_generation = std::make_unique<wire_coord::Generation>(to_wire(answer.read_generation));
    reply.write_generation = std::make_unique<wire_coord::Generation>(to_wire(answer.write_generation));
    return reply;
  }

  // May suspend.
  wire_coord::ForwardReplyT forward(const wire_coord::ForwardRequestT& r) {
    const auto held = lock_.take();
    const std::string cluster = checked_cluster(r.cluster);
    const std::string to = as_string(r.to);
    const flow::ErrorOr<ClusterDescription> target = parse_cluster_description(to);
    if (!target.ok() || target.get().id == cluster || target.get().to_string() != to) {
      flow::TraceEvent(flow::SevWarn, "CoordinatorForwardRefused").detail("Cluster", cluster).detail("To", to);
      throw flow::Error(flow::ErrorCode::invalid_option_value);
    }
    if (std::optional<std::string> held_to = forward_of(cluster)) {
      if (*held_to == to) return {};  // a resent forward
      CODE_PROBE(true, "coordinator refuses to forward a cluster to a second place");
      throw flow::Error(flow::ErrorCode::coordinated_state_conflict);
    }
    // Only a cluster whose registers this coordinator keeps moves from it: a peer cannot fill
    // the forwards with clusters that never were.
    const std::string registers = std::string(kRegisterPrefix) + cluster + "/";
    const std::vector<storage::KeyValue> rows = store_.read_range(registers, prefix_end(registers)).rows;
    if (rows.empty()) {
      CODE_PROBE(true, "coordinator refuses to forward a cluster it keeps no register of");
      throw flow::Error(flow::ErrorCode::invalid_option_value);
    }
    // The cluster's registers are answered by the forward from now on: they go. The oldest
    // forward goes too when the forwards are at their bound (whoever knows only that old a set
    // of coordinators has to be told the cluster anew).
    store_.clear(registers, prefix_end(registers));
    if (forwards_ >= kCoordinatorForwardsMax) evict_oldest_forward();
    char order[17];
    std::snprintf(order, sizeof order, "%016llx", static_cast<unsigned long long>(next_forward_++));
    store_.set(std::string(kForwardPrefix) + cluster, std::string(order) + to);
    store_.commit();
    registers_ -= rows.size();
    ++forwards_;
    flow::TraceEvent(flow::SevInfo, "CoordinatorForwarding").detail("Cluster", cluster).detail("To", to);
    return {};
  }

 private:
  // A forward's record: the order it was made in (16 hex digits), then the description.
  static uint64_t forward_order(std::string_view record) {
    uint64_t n = 0;
    for (char c : record.substr(0, 16)) n = n * 16 + static_cast<uint64_t>(c <= '9' ? c - '0' : c - 'a' + 10);
    return n;
  }

  // Where `cluster` moved, if this coordinator forwards it. May suspend.
  std::optional<std::string> forward_of(const std::string& cluster) {
    std::optional<std::string> record = store_.read_value(std::string(kForwardPrefix) + cluster);
    if (!record) return std::nullopt;
    return record->size() > 16 ? record->substr(16) : std::string();
  }

  // Forgets the oldest forward (not yet committed). May suspend.
  void evict_oldest_forward() {
    const std::vector<storage::KeyValue> rows = store_.read_range(kForwardPrefix, prefix_end(kForwardPrefix)).rows;
    auto oldest = std::min_element(rows.begin(), rows.end(), [](const storage::KeyValue& a, const storage::KeyValue& b) {
      return forward_order(a.value) < forward_order(b.value);
    });
    if (oldest == rows.end()) return;
    CODE_PROBE(true, "coordinator forgets its oldest forward to make room");
    flow::TraceEvent(flow::SevInfo, "CoordinatorForwardForgotten").detail("Key", oldest->key);
    store_.clear(oldest->key, oldest->key + '\0');
    --forwards_;
  }

  // A request's cluster id: what a description's id may be (empty for registers kept outside any
  // description, as tests do), else invalid_option_value.
  static std::string checked_cluster(const std::vector<uint8_t>& bytes) {
    std::string cluster = as_string(bytes);
    const bool ok = cluster.size() <= kClusterWordBytesMax && std::all_of(cluster.begin(), cluster.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    });
    if (!ok) throw flow::Error(flow::ErrorCode::invalid_option_value);
    return cluster;
  }

  // Where register `key` of `cluster` is stored, below kRegisterPrefix; throws for a key out of
  // bounds.
  static std::string register_key(const std::string& cluster, const std::string& key) {
    check_key(key);
    return cluster + "/" + key;
  }

  // A request's generation ((0, 0) if it has none). Throws invalid_option_value for a count
  // past kRegisterGenerationCountMax.
  static RegisterGeneration checked(const std::unique_ptr<wire_coord::Generation>& g) {
    const RegisterGeneration generation = from_wire(g ? *g : wire_coord::Generation());
    if (generation.count > kRegisterGenerationCountMax) {
      CODE_PROBE(true, "coordinator refuses a generation count past its bound");
      throw flow::Error(flow::ErrorCode::invalid_option_value);
    }
    return generation;
  }

  static void check_key(const std::string& key) {
    if (key.empty()) throw flow::Error(flow::ErrorCode::invalid_option_value);
    if (key.size() > kRegisterKeyBytesMax) throw flow::Error(flow::ErrorCode::key_too_large);
  }

  // The register `key`, empty if the store has none; a new one counts against the bound when
  // `creating`. May suspend.
  GenerationRegister load(const std::string& key, bool creating) {
    const std::optional<std::string> record = store_.read_value(std::string(kRegisterPrefix) + key);
    if (!record) {
      if (creating && registers_ >= kCoordinatorRegistersMax) {
        CODE_PROBE(true, "coordinator refuses a register past its bound");
        throw flow::Error(flow::ErrorCode::invalid_option_value);
      }
      return {};
    }
    flow::ErrorOr<GenerationRegister> reg = decode_generation_register(
        std::span(reinterpret_cast<const uint8_t*>(record->data()), record->size()));
    if (!reg.ok()) {
      flow::TraceEvent(flow::SevWarnAlways, "CoordinatorRegisterCorrupt").detail("Key", key);
      throw reg.error();
    }
    return reg.get();
  }

  // Makes `reg` durable as register `key`. May suspend.
  void save(const std::string& key, const GenerationRegister& reg) {
    const std::string full = std::string(kRegisterPrefix) + key;
    const bool is_new = !store_.read_value(full).has_value();
    const std::vector<uint8_t> record = encode_generation_register(reg);
    store_.set(full, std::string(record.begin(), record.end()));
    store_.commit();
    if (is_new) ++registers_;
  }

  storage::IKeyValueStore& store_;
  flow::FifoLock lock_;
  size_t registers_ = 0;
  size_t forwards_ = 0;
  uint64_t next_forward_ = 0;  // the order of the next forward made
};

bool disk_error(flow::ErrorCode c) {
  return c == flow::ErrorCode::io_error || c == flow::ErrorCode::io_timeout || c == flow::ErrorCode::disk_full;
}

// Answers `stream`'s requests with `answer`, each in an actor of its own added to `answering`
// (they queue on the coordinator's lock); an error of the disk ends that actor, and so fails
// `answering`. May suspend.
template <class Stream, class Answer>
void serve(const Stream& stream, Answer answer, flow::ActorCollection& answering) {
  const auto requests = stream.requests();
  for (;;) {
    auto in = flow::wait_next(requests);
    answering.add(flow::spawn([answer, in = std::move(in)]() mutable {
      try {
        in.reply.send(answer(in.request));
      } catch (const flow::Error& e) {
        if (e.code() == flow::ErrorCode::operation_cancelled) throw;
        in.reply.send_error(e);
        if (disk_error(e.code())) throw;  // the store failed: reopen it
      }
    }));
  }
}

}  // namespace

CoordinatorInterface CoordinatorInterface::remote(flow::NetworkAddress address) {
  return coordinator_endpoints(&address);
}

wire_coord::Generation to_wire(const RegisterGeneration& g) { return wire_coord::Generation(g.count, g.uid); }

RegisterGeneration from_wire(const wire_coord::Generation& g) { return {g.count(), g.uid()}; }

void run_coordinator(CoordinatorInit init) {
  const CoordinatorInterface interface = coordinator_endpoints(nullptr);
  for (;;) {
    try {
      storage::KeyValueStoreOptions options;
      options.log_file_bytes = int64_t{1} << 20;
      std::unique_ptr<storage::IKeyValueStore> store =
          storage::open_key_value_store("memory", flow::current_process().file_system(), init.name, options);
      Coordinator coordinator(*store);
      coordinator.start();
      flow::TraceEvent(flow::SevInfo, "CoordinatorStarted").detail("Name", init.name);
      flow::ActorCollection actors;
      actors.add(flow::spawn([&] {
        serve(interface.read, [&](const auto& r) { return coordinator.read(r); }, actors);
      }));
      actors.add(flow::spawn([&] {
        serve(interface.write, [&](const auto& r) { return coordinator.write(r); }, actors);
      }));
      actors.add(flow::spawn([&] {
        serve(interface.forward, [&](const auto& r) { return coordinator.forward(r); }, actors);
      }));
      flow::wait(actors.get_result());
      return;
    } catch (const flow::Error& e) {
      if (e.code() == flow::ErrorCode::operation_cancelled) throw;  // its process ends
      if (!disk_error(e.code())) {
        flow::TraceEvent(flow::SevWarnAlways, "CoordinatorEnded").detail("Error", e);
        throw;
      }
      CODE_PROBE(true, "coordinator reopens its store after a disk error");
      flow::TraceEvent(flow::SevWarn, "CoordinatorDiskError").detail("Error", e);
    }
    flow::wait(flow::delay(1s));
  }
}

}  // namespace roles
