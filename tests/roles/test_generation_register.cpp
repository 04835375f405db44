// RegisterGeneration registers and the coordinated state: a register's rules for reads and writes, its
// durable record, and writers racing through majorities with lost messages, whose winning values
// must form one chain (what a later winner read extends what an earlier one wrote).
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "flow/deterministic_random.h"
#include "roles/coordinator/generation_register.h"

using roles::combine_reads;
using roles::RegisterGeneration;
using roles::GenerationRegister;
using roles::majority_of;
using roles::write_won;

TEST_CASE("generation register: a read fences older writes; a write needs the newest generation") {
  GenerationRegister r;
  bool changed = false;
  auto read = r.read({5, 1}, changed);
  CHECK(changed);
  CHECK(!read.value);
  CHECK(read.read_generation == RegisterGeneration{5, 1});
  CHECK(!r.write("old", {4, 9}).accepted);  // below the read generation
  CHECK(!r.write("tie", {5, 0}).accepted);  // same count, lower uid: below
  const auto w = r.write("a", {5, 1});      // equal to the read generation: accepted
  CHECK(w.accepted);
  CHECK(w.write_generation == RegisterGeneration{5, 1});
  CHECK(!r.write("again", {5, 1}).accepted);  // not above the write generation
  read = r.read({3, 0}, changed);              // an older read changes nothing
  CHECK(!changed);
  CHECK(read.value == "a");
  CHECK(read.read_generation == RegisterGeneration{5, 1});
  CHECK(r.write("b", {6, 0}).accepted);        // a newer writer that skipped its read: allowed
  CHECK(r.value == "b");
}

TEST_CASE("generation register: its record survives a round trip; any damage is checksum_failed") {
  GenerationRegister r;
  r.read_generation = {7, 0xfeedface};
  r.write_generation = {6, 42};
  for (const std::optional<std::string>& value : {std::optional<std::string>{}, std::optional<std::string>{""},
                                                  std::optional<std::string>{std::string("state\0x", 7)}}) {
    r.value = value;
    const std::vector<uint8_t> bytes = roles::encode_generation_register(r);
    const auto back = roles::decode_generation_register(bytes);
    REQUIRE(back.ok());
    CHECK(back.get() == r);
    for (size_t i = 0; i < bytes.size(); ++i) {
      std::vector<uint8_t> bad = bytes;
      bad[i] ^= 0x10;
      CHECK(roles::decode_generation_register(bad).is_error());
    }
    for (size_t n = 0; n < bytes.size(); ++n)
      CHECK(roles::decode_generation_register(std::span(bytes).first(n)).is_error());
  }
}

TEST_CASE("coordinated state: writers racing through majorities with lost messages win in one chain") {
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    INFO("seed " << seed);
    flow::DeterministicRandom rng(seed);
    const size_t coordinators = static_cast<size_t>(rng.random_int(1, 8));
    std::vector<GenerationRegister> registers(coordinators);
    struct Writer {
      RegisterGeneration generation;
      bool writing = false;
      std::string value;  // what it will write, once its read phase is done
      std::vector<bool> asked;
      std::vector<GenerationRegister::ReadReply> reads;
      std::vector<GenerationRegister::WriteReply> writes;
      int wins = 0;
    };
    const int writers_n = static_cast<int>(rng.random_int(1, 5));
    std::vector<Writer> writers(static_cast<size_t>(writers_n));
    int64_t highest = 0;
    const auto restart = [&](Writer& w, uint64_t id) {
      const int wins = w.wins;
      w = Writer{};
      w.generation = {++highest, id};
      w.asked.assign(coordinators, false);
      w.wins = wins;
    };
    for (int i = 0; i < writers_n; ++i) restart(writers[static_cast<size_t>(i)], static_cast<uint64_t>(i));
    std::map<RegisterGeneration, std::string> won;
    for (int step = 0; step < 2000; ++step) {
      const auto id = static_cast<size_t>(rng.random_int(0, writers_n));
      Writer& w = writers[id];
      std::vector<size_t> unasked;
      for (size_t c = 0; c < coordinators; ++c)
        if (!w.asked[c]) unasked.push_back(c);
      if (unasked.empty()) {  // every coordinator asked without a majority: try again, higher
        restart(w, id);
        continue;
      }
      const size_t c = unasked[static_cast<size_t>(rng.random_int(0, static_cast<int64_t>(unasked.size())))];
      w.asked[c] = true;
      const bool delivered = rng.random01() < 0.8;
      if (!w.writing) {
        if (delivered) {
          bool changed = false;
          w.reads.push_back(registers[c].read(w.generation, changed));
        }
        if (w.reads.size() >= majority_of(coordinators)) {
          const roles::QuorumRead q = combine_reads(w.generation, w.reads);
          highest = std::max(highest, q.newest_write.count);
          if (q.lost) {
            restart(w, id);
            continue;
          }
          w.value = q.value.value_or("") + "|" + std::to_string(w.generation.count) + "." + std::to_string(id);
          w.writing = true;
          w.asked.assign(coordinators, false);
        }
      } else {
        if (delivered) w.writes.push_back(registers[c].write(w.value, w.generation));
        bool lost = false;
        if (write_won(w.generation, w.writes, coordinators, lost)) {
          won[w.generation] = w.value;
          ++w.wins;
          restart(w, id);
        } else if (lost) {
          restart(w, id);
        }
      }
    }
    // Each winner's value extends the one before it in generation order: nothing a majority
    // accepted is ever lost by a later winner.
    std::string previous;
    for (const auto& [generation, value] : won) {
      CAPTURE(value);
      CHECK(value.compare(0, previous.size(), previous) == 0);
      CHECK(value.size() > previous.size());
      previous = value;
    }
    if (coordinators <= 5 && writers_n <= 2) CHECK(!won.empty());
  }
}

TEST_CASE("generation register: a write asked again after a lost reply still counts for its writer") {
  roles::GenerationRegister reg;
  const roles::RegisterGeneration mine{2, 9};
  bool changed = false;
  reg.read(mine, changed);
  const roles::GenerationRegister::WriteReply first = reg.write("v", mine);
  const roles::GenerationRegister::WriteReply again = reg.write("v", mine);  // the same request, resent
  CHECK(first.accepted);
  CHECK_FALSE(again.accepted);
  bool lost = true;
  const std::vector<roles::GenerationRegister::WriteReply> replies{again};
  CHECK(write_won(mine, replies, 1, lost));
  CHECK_FALSE(lost);
  // Another writer's generation in the register is a loss.
  const std::vector<roles::GenerationRegister::WriteReply> other{{false, {3, 1}, {2, 9}}, {false, {2, 9}, {3, 1}}};
  CHECK_FALSE(write_won(mine, other, 3, lost));
  CHECK(lost);
}

TEST_CASE("coordinated state: a majority read is partial when some register held no value and another did") {
  using Reply = GenerationRegister::ReadReply;
  const RegisterGeneration mine{9, 1};
  const Reply empty{std::nullopt, {}, mine};
  const Reply old{std::string("old"), {2, 5}, mine};
  const Reply newer{std::string("new"), {3, 5}, mine};
  CHECK_FALSE(combine_reads(mine, std::vector<Reply>{empty, empty}).partial);  // never written
  CHECK_FALSE(combine_reads(mine, std::vector<Reply>{old, newer}).partial);    // all written
  // A majority of which one lost its value (or never had it): the value may be stale.
  const roles::QuorumRead q = combine_reads(mine, std::vector<Reply>{empty, old, empty});
  CHECK(q.partial);
  CHECK(q.value == "old");
  CHECK(combine_reads(mine, std::vector<Reply>{newer, empty}).partial);
}
