// An adversarial review of the change of coordinators (roles/cluster_controller/
// coordinators_change.h), kept as regression tests: a reader that finishes a move a dead mover
// recorded on a minority must not lose a newer write; a finisher that loses on the new set must
// not forward to an empty one; moves back and forth must not fill the coordinators' bounds and
// wedge the cluster; forwards of clusters that never were must not fill them either.
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "flow/flow.h"
#include "roles/cluster_controller/cluster_state.h"
#include "roles/cluster_controller/coordinators_change.h"
#include "roles/cluster_controller/recovery.h"
#include "roles/coordinator/coordinated_state.h"
#include "roles/coordinator/coordinator_interface.h"
#include "tests/roles/coordinators_testing.h"
#include "tests/roles/role_cluster.h"

using namespace std::chrono_literals;
using roles::ClusterDescription;
using roles::ClusterState;
using roles::CoordinatedState;
using roles_testing::outcome;
using roles_testing::RoleCluster;
using roles_testing::at;
using roles_testing::sample_state;
using roles_testing::state_register;

namespace {

void start_coordinator(RoleCluster& c, int p) { c.start(p, "coordinator", [] { roles::run_coordinator(); }); }

// What the coordinators of `d` hold (nullopt: nothing), without raising anything. May suspend.
std::optional<ClusterState> peek_state(const ClusterDescription& d) {
  CoordinatedState s = state_register(d);
  const std::optional<std::string> bytes = s.peek();
  if (!bytes) return std::nullopt;
  const flow::ErrorOr<ClusterState> st = roles::decode_cluster_state(*bytes);
  REQUIRE(st.ok());
  return st.get();
}

// Raw messages of one process to one coordinator (what a mover sends, before it dies).
roles::wire_coord::RegisterReadRequestT raw_read(const std::string& cluster, roles::RegisterGeneration g) {
  roles::wire_coord::RegisterReadRequestT r;
  const std::string key(roles::kClusterStateKey);
  r.key.assign(key.begin(), key.end());
  r.cluster.assign(cluster.begin(), cluster.end());
  r.generation = std::make_unique<roles::wire_coord::Generation>(roles::to_wire(g));
  return r;
}
roles::wire_coord::RegisterWriteRequestT raw_write(const std::string& cluster, roles::RegisterGeneration g,
                                                   const std::string& value) {
  roles::wire_coord::RegisterWriteRequestT r;
  const std::string key(roles::kClusterStateKey);
  r.key.assign(key.begin(), key.end());
  r.cluster.assign(cluster.begin(), cluster.end());
  r.value.assign(value.begin(), value.end());
  r.generation = std::make_unique<roles::wire_coord::Generation>(roles::to_wire(g));
  return r;
}

// Runs `fn` for at most `d`: true if it returned (or threw), false if it still waited.
template <class Fn>
bool ends_within(Fn fn, flow::Duration d) {
  flow::Future<flow::Void> f = flow::spawn([fn] {
    try {
      fn();
    } catch (const flow::Error& e) {
      if (e.code() == flow::ErrorCode::operation_cancelled) throw;
    }
  });
  return flow::wait(flow::timeout(f, d)).has_value();
}

}  // namespace

// finish_move (a reader's) never writes the old set: a `moving_to` a dead mover left
// on a minority is finished by a reader whose read majority saw it, while a writer whose read
// majority did not see it (and that read after the finisher) writes a newer state on the old
// set, accepted. The finisher then copies the older state to the new set and forwards: an
// accepted write is lost (here: recovery's epoch 2 is lost, the new set holds epoch 1).
TEST_CASE("coordinators change review: a finisher that only read the old set loses a newer accepted write") {
  RoleCluster c(101, 7);
  for (int p = 1; p <= 3; ++p) start_coordinator(c, p);
  c.client([&] {
    const ClusterDescription old_set = at(c, "old", {1, 2, 3}), new_set = at(c, "new", {4, 5, 6});
    {
      CoordinatedState s = state_register(old_set);
      s.read();
      s.write(roles::encode_cluster_state(sample_state(c, 1)));
    }
    // A mover read (generation g) from all three, and its step-1 write reached only coordinator 1.
    const roles::RegisterGeneration g{5, 42};
    ClusterState recorded = sample_state(c, 1);
    recorded.moving_to = new_set;
    for (int p = 1; p <= 3; ++p)
      flow::wait(roles::CoordinatorInterface::remote(c.sim.process(p).address).read.get_reply(raw_read("old", g)));
    const auto w = flow::wait(roles::CoordinatorInterface::remote(c.sim.process(1).address)
                                  .write.get_reply(raw_write("old", g, roles::encode_cluster_state(recorded))));
    REQUIRE(w.accepted);

    // Reader R (coordinator 3 down) reads {1, 2}: sees moving_to, starts finishing; the new
    // coordinators are not up yet, so it waits in step 2.
    c.sim.kill_process(c.sim.process(3));
    CoordinatedState r = state_register(old_set);
    flow::Future<flow::Void> finishing = flow::spawn([&] { roles::read_cluster_state(r); });
    flow::wait(flow::delay(2s));
    REQUIRE_FALSE(finishing.is_ready());

    // Writer W (coordinator 1 down, 3 back) reads {2, 3}, after R: no moving_to; writes epoch 2.
    c.sim.reboot_process(c.sim.process(3));
    c.sim.kill_process(c.sim.process(1));
    flow::wait(flow::delay(1s));
    CoordinatedState writer = state_register(old_set);
    flow::ErrorCode wrote = flow::ErrorCode::operation_failed;  // not written
    flow::Future<flow::Void> writing = flow::spawn([&] {
      try {
        const std::optional<ClusterState> seen = roles::read_cluster_state(writer);
        if (!seen || seen->moving_to) return;
        ClusterState next = *seen;
        next.epoch = 2;
        wrote = outcome(flow::spawn([&] { writer.write(roles::encode_cluster_state(next)); }));
      } catch (const flow::Error& e) {
        if (e.code() == flow::ErrorCode::operation_cancelled) throw;
      }
    });
    flow::wait(flow::timeout(writing, 5s));

    // Everyone back; R finishes.
    c.sim.reboot_process(c.sim.process(1));
    for (int p = 4; p <= 6; ++p) start_coordinator(c, p);
    const flow::ErrorCode finished = outcome(finishing);
    flow::wait(writing);
    MESSAGE("writer's write of epoch 2: " << flow::Error(wrote).name() << "; finisher: " << flow::Error(finished).name());
    const std::optional<ClusterState> moved = peek_state(new_set);
    REQUIRE(moved.has_value());
    // Either the write of epoch 2 was refused, or the state that moved is it.
    CHECK((wrote != flow::ErrorCode::success || moved->epoch == 2));
    CoordinatedState late = state_register(old_set);
    CHECK(outcome(flow::spawn([&] { late.peek(); })) == flow::ErrorCode::coordinators_changed);
    return 0;
  });
}

// finish_move takes coordinated_state_conflict from the new set (a read that lost five
// times, or a write refused because another reader of the new set got ahead) as "another
// finisher wrote the state there" and forwards the old set anyway. If the one that got ahead was
// a finisher that then died (or any reader), the old set forwards to a new set that holds
// nothing: the cluster state is gone.
TEST_CASE("coordinators change review: a finisher whose write on the new set loses forwards to an empty new set") {
  RoleCluster c(102, 10);
  for (int p = 1; p <= 6; ++p) start_coordinator(c, p);
  c.client([&] {
    const ClusterDescription old_set = at(c, "old", {1, 2, 3}), new_set = at(c, "new", {4, 5, 6});
    ClusterState recorded = sample_state(c, 9);
    recorded.moving_to = new_set;
    {
      CoordinatedState s = state_register(old_set);
      s.read();
      s.write(roles::encode_cluster_state(recorded));  // step 1; the mover died
    }
    // Other finishers of the same move: each reads the new set (step 2's read) and dies before
    // writing.
    bool stop = false;
    int reads = 0;
    std::vector<flow::Future<flow::Void>> dying_finishers;
    for (int p = 7; p <= 9; ++p) {
      dying_finishers.push_back(flow::spawn_in(*c.sim.process(p).process, [&stop, &reads, new_set] {
        CoordinatedState other = state_register(new_set);
        while (!stop) {
          try {
            other.read();
            ++reads;
          } catch (const flow::Error& e) {
            if (e.code() == flow::ErrorCode::operation_cancelled) throw;
          }
          flow::wait(flow::delay(10us));
        }
      }));
    }
    flow::wait(flow::delay(5ms));
    CoordinatedState a = state_register(old_set);
    const flow::ErrorCode finished = outcome(flow::spawn([&] { roles::read_cluster_state(a); }));
    stop = true;
    for (auto& f : dying_finishers) flow::wait(f);
    MESSAGE("reads by the other finishers: " << reads);
    MESSAGE("finisher ended with " << flow::Error(finished).name());
    if (finished == flow::ErrorCode::coordinators_changed) {
      // The old set forwards to new_set: new_set must hold the state.
      CoordinatedState late = state_register(old_set);
      CHECK(outcome(flow::spawn([&] { late.peek(); })) == flow::ErrorCode::coordinators_changed);
      const std::optional<ClusterState> moved = peek_state(new_set);
      CHECK(moved.has_value());
    }
    return 0;
  });
}

// Registers of a cluster the coordinator forwards are never dropped and the forward is
// one more record, all against kCoordinatorRegistersMax (64): a coordinator that takes part in
// about 32 moves is full. The next move onto it records step 1, then waits for ever in step 2
// (ask_until_answered retries invalid_option_value), and every later reader of the old set
// enters the same wait: the cluster is wedged with every coordinator alive.
TEST_CASE("coordinators change review: moves back and forth fill the coordinators' record bound and wedge the cluster") {
  RoleCluster c(103, 7);
  for (int p = 1; p <= 6; ++p) start_coordinator(c, p);
  c.client([&] {
    ClusterDescription current = at(c, "c0", {1, 2, 3});
    {
      CoordinatedState s = state_register(current);
      s.read();
      s.write(roles::encode_cluster_state(sample_state(c, 1)));
    }
    int moves = 0;
    bool stuck = false;
    for (int i = 1; i <= 80 && !stuck; ++i) {
      const ClusterDescription to = at(c, "c" + std::to_string(i), i % 2 ? std::vector<int>{4, 5, 6} : std::vector<int>{1, 2, 3});
      const ClusterDescription from = current;
      auto ended = std::make_shared<flow::ErrorCode>(flow::ErrorCode::success);
      stuck = !ends_within(
          [from, to, ended] {
            CoordinatedState s = state_register(from);
            const std::optional<ClusterState> held = roles::read_cluster_state(s);
            if (held) *ended = outcome(flow::spawn([&] { roles::move_cluster_state(s, *held, to); }));
          },
          60s);
      if (stuck) break;
      if (*ended != flow::ErrorCode::coordinators_changed) {
        MESSAGE("move " << i << " refused: " << flow::Error(*ended).name());
        break;
      }
      ++moves, current = to;
    }
    MESSAGE("moves completed: " << moves);
    CHECK(moves == 80);
    CHECK_FALSE(stuck);
    {
      // The cluster can still be read (a refused move must leave it usable).
      CHECK(ends_within([current] {
        CoordinatedState s = state_register(current);
        roles::read_cluster_state(s);
      }, 60s));
    }
    return 0;
  });
}

// Any peer can fill a coordinator's record bound with Forward requests for made-up
// cluster ids (each accepted and stored). A move onto two such coordinators then wedges the
// cluster as in finding 3.
TEST_CASE("coordinators change review: forwards of made-up clusters fill the bound; a move onto those coordinators wedges") {
  RoleCluster c(104, 7);
  for (int p = 1; p <= 6; ++p) start_coordinator(c, p);
  c.client([&] {
    const ClusterDescription old_set = at(c, "old", {1, 2, 3}), new_set = at(c, "new", {4, 5, 6});
    {
      CoordinatedState s = state_register(old_set);
      s.read();
      s.write(roles::encode_cluster_state(sample_state(c, 1)));
    }
    int accepted = 0;
    for (int p = 4; p <= 5; ++p) {
      const roles::CoordinatorInterface co = roles::CoordinatorInterface::remote(c.sim.process(p).address);
      for (int i = 0; i < 64; ++i) {
        roles::wire_coord::ForwardRequestT r;
        const std::string id = "junk" + std::to_string(i), to = "evil:elsewhere@10.9.9.9:1";
        r.cluster.assign(id.begin(), id.end());
        r.to.assign(to.begin(), to.end());
        if (outcome(flow::spawn([co, r] { flow::wait(co.forward.get_reply(r)); })) == flow::ErrorCode::success) ++accepted;
      }
    }
    MESSAGE("junk forwards accepted: " << accepted);
    const bool moved = ends_within(
        [old_set, new_set] {
          CoordinatedState s = state_register(old_set);
          const std::optional<ClusterState> held = roles::read_cluster_state(s);
          if (held) roles::move_cluster_state(s, *held, new_set);
        },
        60s);
    CHECK(moved);  // refused at once or done, never a wait for ever
    // The old cluster must still be readable (or forward).
    CHECK(ends_within([old_set] {
      CoordinatedState s = state_register(old_set);
      roles::read_cluster_state(s);
    }, 60s));
    return 0;
  });
}
