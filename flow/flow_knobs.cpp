#include "flow/flow_knobs.h"

#include "flow/deterministic_random.h"
#include "flow/knobs.h"

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
}

}  // namespace flow
