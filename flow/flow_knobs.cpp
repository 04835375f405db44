#include "flow/flow_knobs.h"

#include "flow/deterministic_random.h"
#include "flow/knobs.h"

#include <fmt/format.h>

namespace flow {

void FlowKnobs::declare(KnobSet& set) {
  set.declare<int64_t>("fiber_stack_bytes", &fiber_stack_bytes);
  set.declare<int64_t>("fiber_stack_pool_max", &fiber_stack_pool_max,
                       [](DeterministicRandom& r, int64_t& v) {
                         if (r.random_bool(0.25)) v = r.random_int(0, 8);
                       });
  set.declare<int64_t>("reactor_poll_interval", &reactor_poll_interval,
                       [](DeterministicRandom& r, int64_t& v) {
                         if (r.random_bool(0.25)) v = r.random_int(1, 8);
                       });
  set.declare<int64_t>("max_message_bytes", &max_message_bytes);
  set.declare<Duration>("initial_reconnect_seconds", &initial_reconnect,
                        [](DeterministicRandom& r, Duration& v) {
                          if (r.random_bool(0.25)) v = from_seconds(0.001 + r.random01() * 0.5);
                        });
  set.declare<Duration>("max_reconnect_seconds", &max_reconnect);
  set.declare<Duration>("connection_idle_seconds", &connection_idle,
                        [](DeterministicRandom& r, Duration& v) {
                          if (r.random_bool(0.25)) v = from_seconds(0.5 + r.random01() * 4.5);
                        });
  set.declare<Duration>("connection_idle_timeout_seconds", &connection_idle_timeout,
                        [](DeterministicRandom& r, Duration& v) {
                          if (r.random_bool(0.25)) v = from_seconds(1.0 + r.random01() * 14.0);
                        });
  set.declare<int64_t>("endpoint_queue_max", &endpoint_queue_max);
  set.declare<int64_t>("endpoint_queue_bytes_max", &endpoint_queue_bytes_max);
  set.declare<int64_t>("connection_send_queue_bytes_max", &connection_send_queue_bytes_max);
  set.declare<bool>("cc_recovery_init_req_allow_drop_in_sim", &cc_recovery_init_req_allow_drop_in_sim);
  // What a --knob may set: values the runtime works with (a stack needs its guard page and room,
  // a message room for the roles' largest, a queue room for one request).
  set.bound("fiber_stack_bytes", 64 * 1024, 64 << 20);
  set.bound("fiber_stack_pool_max", 0, 1'000'000);
  set.bound("reactor_poll_interval", 1, 1'000'000);
  set.bound("max_message_bytes", 1024, 1 << 30);
  set.bound("initial_reconnect_seconds", 0.001, 3600);
  set.bound("max_reconnect_seconds", 0.001, 3600);
  set.bound("connection_idle_seconds", 0.01, 3600);
  set.bound("connection_idle_timeout_seconds", 0.01, 86400);
  set.bound("endpoint_queue_max", 1, 1e9);
  set.bound("endpoint_queue_bytes_max", 1024, 1e12);
  set.bound("connection_send_queue_bytes_max", 1024, 1e12);
}

std::string knob_refusal(std::string_view assignment) {
  FlowKnobs knobs;
  KnobSet set;
  knobs.declare(set);
  const size_t eq = assignment.find('=');
  if (eq == std::string_view::npos) return fmt::format("'{}' is not name=value", assignment);
  const std::string_view name = assignment.substr(0, eq);
  const ErrorOr<Void> r = set.set(name, assignment.substr(eq + 1));
  if (r.ok()) return "";
  if (r.error().code() == ErrorCode::unknown_knob) return fmt::format("no knob is named '{}'", name);
  if (const std::optional<std::pair<double, double>> b = set.bounds(name))
    return fmt::format("'{}': {} must be in [{}, {}]", assignment, name, b->first, b->second);
  return fmt::format("'{}' is not a value of {}", assignment, name);
}

}  // namespace flow
