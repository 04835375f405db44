// Changing the coordinators (roles/cluster_controller/coordinators_change.h): the cluster state
// moves to the new set and the old one forwards every request for the cluster there; a mover
// that dies after recording the move leaves it for the next reader to finish; a writer that read
// before the move cannot write after it; two finishers agree; coordinators refuse a forward to a
// second place or to no description; candidates for leader follow the move; and the choice of
// coordinators ('auto', 'random') keeps a set while it answers, one per machine, odd in number.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "flow/flow.h"
#include "roles/cluster_controller/cluster_state.h"
#include "roles/cluster_controller/coordinators_change.h"
#include "roles/cluster_controller/leader_election.h"
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

// Coordinators on processes 1..n.
void start_coordinators(RoleCluster& c, int n) {
  for (int p = 1; p <= n; ++p) c.start(p, "coordinator", [] { roles::run_coordinator(); });
}

// The state `d`'s coordinators hold, decoded (fails the test if none or malformed). May suspend.
ClusterState held_by(const ClusterDescription& d) {
  CoordinatedState s = state_register(d);
  const std::optional<std::string> bytes = s.peek();
  REQUIRE(bytes.has_value());
  const flow::ErrorOr<ClusterState> state = roles::decode_cluster_state(*bytes);
  REQUIRE(state.ok());
  return state.get();
}

// What `fn` (a call on `s`) ends with, and where `s` learned the state went.
template <class Fn>
std::optional<ClusterDescription> forwarded_by(CoordinatedState& s, Fn fn) {
  CHECK(outcome(flow::spawn([&] { fn(s); })) == flow::ErrorCode::coordinators_changed);
  return s.forwarded();
}

}  // namespace

TEST_CASE("coordinators change: the state moves; the old set forwards every request for the cluster, and only for it") {
  RoleCluster c(71, 6);
  start_coordinators(c, 5);
  c.client([&] {
    const ClusterDescription old_set = at(c, "old", {1, 2, 3}), new_set = at(c, "new", {3, 4, 5});
    const ClusterDescription other = at(c, "other", {1, 2, 3});
    CoordinatedState s = state_register(old_set);
    s.read();
    s.write(roles::encode_cluster_state(sample_state(c, 4)));
    CoordinatedState unrelated(other, "cluster_state");
    unrelated.read();
    unrelated.write("kept");

    CoordinatedState mover = state_register(old_set);
    std::optional<ClusterState> read = roles::read_cluster_state(mover);
    REQUIRE(read.has_value());
    CHECK(outcome(flow::spawn([&] { roles::move_cluster_state(mover, *read, new_set); })) ==
          flow::ErrorCode::coordinators_changed);
    CHECK(mover.forwarded() == new_set);

    const ClusterState moved = held_by(new_set);
    CHECK(moved.epoch == 4);
    CHECK_FALSE(moved.moving_to.has_value());
    // Every register of the old cluster forwards, for reads, peeks and writes.
    CoordinatedState late = state_register(old_set);
    CHECK(forwarded_by(late, [](CoordinatedState& x) { x.peek(); }) == new_set);
    CoordinatedState leader(old_set, std::string(roles::kLeaderKey));
    CHECK(forwarded_by(leader, [](CoordinatedState& x) { x.read(); }) == new_set);
    // Another cluster kept on the same coordinators (and the one in both sets) is untouched.
    CoordinatedState again(other, "cluster_state");
    CHECK(again.read() == std::optional<std::string>("kept"));
    again.write("still");
    CHECK(CoordinatedState(other, "cluster_state").peek() == std::optional<std::string>("still"));
    return 0;
  });
}

TEST_CASE("coordinators change: a mover that dies after recording the move leaves it for the next reader to finish") {
  RoleCluster c(72, 6);
  start_coordinators(c, 5);
  c.client([&] {
    const ClusterDescription old_set = at(c, "old", {1, 2, 3}), new_set = at(c, "new", {4, 5});
    ClusterState recorded = sample_state(c, 9);
    recorded.moving_to = new_set;
    CoordinatedState s = state_register(old_set);
    s.read();
    s.write(roles::encode_cluster_state(recorded));  // step 1 only: then the mover died

    // Two readers at once both finish it; both learn where the state went; it is there once.
    // (Each writes the record back under its own read first: the one that loses that race is
    // told coordinated_state_conflict, and reads again.)
    CoordinatedState a = state_register(old_set), b = state_register(old_set);
    const auto finish = [&old_set](CoordinatedState& reader) {
      for (;;) {
        const flow::ErrorCode e = outcome(flow::spawn([&reader] { roles::read_cluster_state(reader); }));
        if (e != flow::ErrorCode::coordinated_state_conflict) return e;
        reader = state_register(old_set);
      }
    };
    auto fa = flow::spawn([&] { return finish(a); });
    auto fb = flow::spawn([&] { return finish(b); });
    CHECK(flow::wait(fa) == flow::ErrorCode::coordinators_changed);
    CHECK(flow::wait(fb) == flow::ErrorCode::coordinators_changed);
    CHECK(a.forwarded() == new_set);
    CHECK(b.forwarded() == new_set);
    const ClusterState moved = held_by(new_set);
    CHECK(moved.epoch == 9);
    CHECK_FALSE(moved.moving_to.has_value());
    CoordinatedState late = state_register(old_set);
    CHECK(forwarded_by(late, [](CoordinatedState& x) { x.peek(); }) == new_set);
    return 0;
  });
}

TEST_CASE("coordinators change: a writer that read before the move cannot write after it, and the new set keeps the moved state") {
  RoleCluster c(73, 6);
  start_coordinators(c, 5);
  c.client([&] {
    const ClusterDescription old_set = at(c, "old", {1, 2, 3}), new_set = at(c, "new", {2, 4, 5});
    CoordinatedState s = state_register(old_set);
    s.read();
    s.write(roles::encode_cluster_state(sample_state(c, 2)));

    CoordinatedState stale = state_register(old_set);
    REQUIRE(roles::read_cluster_state(stale).has_value());
    CoordinatedState mover = state_register(old_set);
    const std::optional<ClusterState> read = roles::read_cluster_state(mover);
    REQUIRE(read.has_value());
    CHECK(outcome(flow::spawn([&] { roles::move_cluster_state(mover, *read, new_set); })) ==
          flow::ErrorCode::coordinators_changed);
    const flow::ErrorCode late = outcome(flow::spawn([&] { stale.write(roles::encode_cluster_state(sample_state(c, 3))); }));
    CHECK(late == flow::ErrorCode::coordinators_changed);
    CHECK(held_by(new_set).epoch == 2);

    // A mover that read before another writer wrote moves nothing.
    CoordinatedState slow = state_register(new_set);
    const std::optional<ClusterState> seen = roles::read_cluster_state(slow);
    REQUIRE(seen.has_value());
    CoordinatedState writer = state_register(new_set);
    writer.read();
    writer.write(roles::encode_cluster_state(sample_state(c, 5)));
    const ClusterDescription third = at(c, "third", {1, 3, 5});
    CHECK(outcome(flow::spawn([&] { roles::move_cluster_state(slow, *seen, third); })) ==
          flow::ErrorCode::coordinated_state_conflict);
    CHECK(held_by(new_set).epoch == 5);
    CoordinatedState probe = state_register(third);
    CHECK_FALSE(probe.peek().has_value());
    return 0;
  });
}

TEST_CASE("coordinator: a forward to a second place, to its own cluster, to no description or of an unknown cluster is refused") {
  RoleCluster c(74, 3);
  start_coordinators(c, 1);
  c.client([&] {
    const roles::CoordinatorInterface co = roles::CoordinatorInterface::remote(c.sim.process(1).address);
    const auto forward = [&](std::string cluster, std::string to) {
      roles::wire_coord::ForwardRequestT r;
      r.cluster.assign(cluster.begin(), cluster.end());
      r.to.assign(to.begin(), to.end());
      return outcome(flow::spawn([&co, r] { flow::wait(co.forward.get_reply(r)); }));
    };
    const std::string target = "test:b@10.0.0.9:1";
    // Only a cluster the coordinator keeps a register of can move from it.
    CHECK(forward("a", target) == flow::ErrorCode::invalid_option_value);
    CoordinatedState kept({"test", "a", {c.sim.process(1).address}}, "k");
    kept.read();
    kept.write("v");
    CHECK(forward("a", target) == flow::ErrorCode::success);
    CHECK(forward("a", target) == flow::ErrorCode::success);  // resent
    CHECK(forward("a", "test:c@10.0.0.9:1") == flow::ErrorCode::coordinated_state_conflict);
    CHECK(forward("d", "test:d@10.0.0.9:1") == flow::ErrorCode::invalid_option_value);
    CHECK(forward("d", "not a description") == flow::ErrorCode::invalid_option_value);
    CHECK(forward("d/x", target) == flow::ErrorCode::invalid_option_value);
    CHECK(forward(std::string(roles::kClusterWordBytesMax + 1, 'e'), target) == flow::ErrorCode::invalid_option_value);
    // Forwarded survives a reboot.
    c.sim.kill_process(c.sim.process(1));
    c.sim.reboot_process(c.sim.process(1));
    CoordinatedState s({"test", "a", {c.sim.process(1).address}}, "k");
    std::optional<ClusterDescription> to;
    for (;;) {  // the rebooted coordinator takes a moment to answer
      const flow::ErrorCode e = outcome(flow::spawn([&] { s.peek(); }));
      if (e == flow::ErrorCode::coordinators_changed) break;
      flow::wait(flow::delay(100ms));
    }
    REQUIRE(s.forwarded().has_value());
    CHECK(s.forwarded()->to_string() == target);
    return 0;
  });
}

TEST_CASE("coordinators change: candidates for leader follow the move, and one leads among the new set") {
  RoleCluster c(75, 6);
  start_coordinators(c, 5);
  const ClusterDescription old_set = at(c, "old", {1, 2, 3}), new_set = at(c, "new", {3, 4, 5});
  std::vector<ClusterDescription> known(5, old_set);
  int leading = 0, most_at_once = 0;
  std::vector<std::string> led_in;  // the cluster id each leadership began under
  for (int p = 1; p <= 4; ++p) {
    const flow::NetworkAddress self = c.sim.process(p).address;
    c.start(p, "candidate", [&, p, self] {
      roles::campaign(&known[static_cast<size_t>(p)], self, [&, p] {
        struct Leading {
          int& n;
          explicit Leading(int& x, int& most) : n(x) { most = std::max(most, ++n); }
          ~Leading() { --n; }
        } l(leading, most_at_once);
        led_in.push_back(known[static_cast<size_t>(p)].id);
        flow::wait(flow::never<flow::Void>());
      });
    });
  }
  c.client([&] {
    flow::wait(flow::delay(5s));
    REQUIRE(led_in.size() == 1);
    CHECK(led_in[0] == "old");
    roles::forward_cluster(old_set, new_set);
    flow::wait(flow::delay(10s));
    for (int p = 1; p <= 4; ++p) CHECK(known[static_cast<size_t>(p)] == new_set);
    CHECK(leading == 1);
    CHECK(led_in.back() == "new");
    CHECK(most_at_once == 1);
    return 0;
  });
}

TEST_CASE("coordinators change: 'auto' keeps a set while it answers; 'random' draws another; one per machine, odd in number") {
  RoleCluster c(76, 2);
  c.client([&] {
    using roles::CoordinatorsChoice;
    const auto addr = [](uint32_t i) { return flow::NetworkAddress{0x0a000000u + i, 1}; };
    std::vector<roles::CoordinatorCandidate> six;
    for (uint32_t i = 1; i <= 6; ++i) six.push_back({addr(i), i, true});
    const std::vector<flow::NetworkAddress> five{addr(1), addr(2), addr(3), addr(4), addr(5)};
    CHECK(roles::choose_coordinators(five, six, CoordinatorsChoice::automatic) == five);

    // One of them stops answering: auto replaces it, keeping the others.
    six[1].responsive = false;
    const std::vector<flow::NetworkAddress> replaced = roles::choose_coordinators(five, six, CoordinatorsChoice::automatic);
    CHECK(replaced.size() == 5);
    CHECK(std::find(replaced.begin(), replaced.end(), addr(2)) == replaced.end());
    CHECK(std::find(replaced.begin(), replaced.end(), addr(6)) != replaced.end());

    // Two processes on one machine: never both.
    std::vector<roles::CoordinatorCandidate> shared{{addr(1), 1, true}, {addr(2), 1, true}, {addr(3), 2, true},
                                                    {addr(4), 3, true}};
    for (int i = 0; i < 20; ++i) {
      const std::vector<flow::NetworkAddress> r = roles::choose_coordinators({}, shared, CoordinatorsChoice::random);
      CHECK(r.size() == 3);
      CHECK_FALSE((std::find(r.begin(), r.end(), addr(1)) != r.end() && std::find(r.begin(), r.end(), addr(2)) != r.end()));
    }
    // Two machines answering: one coordinator (an odd count); none answering: none.
    std::vector<roles::CoordinatorCandidate> two{{addr(1), 1, true}, {addr(2), 2, true}, {addr(3), 3, false}};
    CHECK(roles::choose_coordinators({addr(3)}, two, CoordinatorsChoice::automatic).size() == 1);
    for (auto& x : two) x.responsive = false;
    CHECK(roles::choose_coordinators({addr(3)}, two, CoordinatorsChoice::automatic).empty());

    // Random: another set where the candidates allow one.
    std::vector<roles::CoordinatorCandidate> seven;
    for (uint32_t i = 1; i <= 7; ++i) seven.push_back({addr(i), i, true});
    const std::vector<flow::NetworkAddress> three{addr(1), addr(2), addr(3)};
    std::vector<flow::NetworkAddress> drawn = roles::choose_coordinators(three, seven, CoordinatorsChoice::random);
    CHECK(drawn.size() == 5);
    std::sort(drawn.begin(), drawn.end());
    CHECK(drawn != five);
    CHECK(roles::parse_coordinators_choice("auto").ok());
    CHECK_FALSE(roles::parse_coordinators_choice("Auto").ok());
    return 0;
  });
}

TEST_CASE("coordinators change: a reader finishes a move whose new set has moved on since (a chain A to B to C)") {
  RoleCluster c(77, 8);
  start_coordinators(c, 7);
  c.client([&] {
    const ClusterDescription a = at(c, "a", {1, 2, 3}), b = at(c, "b", {3, 4, 5}), c_set = at(c, "c", {5, 6, 7});
    // A's mover recorded the move to B and wrote B, then died before A forwarded.
    ClusterState recorded = sample_state(c, 6);
    recorded.moving_to = b;
    roles_testing::put_state(a, recorded);
    roles_testing::put_state(b, sample_state(c, 6));
    // B has moved on to C since.
    CoordinatedState mover = state_register(b);
    const std::optional<ClusterState> held = roles::read_cluster_state(mover);
    REQUIRE(held.has_value());
    CHECK(outcome(flow::spawn([&] { roles::move_cluster_state(mover, *held, c_set); })) ==
          flow::ErrorCode::coordinators_changed);
    // A reader that knows only A finishes A's move (B holds the state: it forwards), and A
    // forwards to B from then on, which forwards to C.
    CoordinatedState reader = state_register(a);
    CHECK(outcome(flow::spawn([&] { roles::read_cluster_state(reader); })) == flow::ErrorCode::coordinators_changed);
    CHECK(reader.forwarded() == b);
    CoordinatedState late = state_register(a);
    CHECK(forwarded_by(late, [](CoordinatedState& x) { x.peek(); }) == b);
    CHECK(held_by(c_set).epoch == 6);
    return 0;
  });
}

TEST_CASE("coordinators change: a recorded move to the cluster itself is malformed, never followed") {
  RoleCluster c(78, 4);
  start_coordinators(c, 3);
  c.client([&] {
    const ClusterDescription a = at(c, "a", {1, 2, 3});
    ClusterState recorded = sample_state(c, 2);
    recorded.moving_to = a;
    roles_testing::put_state(a, recorded);
    CoordinatedState reader = state_register(a);
    CHECK(outcome(flow::spawn([&] { roles::read_cluster_state(reader); })) == flow::ErrorCode::malformed_message);
    CHECK_FALSE(reader.forwarded().has_value());
    return 0;
  });
}
