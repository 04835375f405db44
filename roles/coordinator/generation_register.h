#pragma once
// GenerationRegister — what a coordinator keeps for each key of the cluster state
// (docs/database.md, "coordinator"; FoundationDB's GenerationReg), and how a writer reads and
// writes the state through a majority of coordinators (coordinated state).
//
// A register holds a value, the generation that wrote it, and the highest generation any reader
// has read with. A read with generation g raises the read generation to g: from then on no write
// below g is accepted, so a writer that read the state with g and then writes with g knows that
// no older writer can still change it. A write with g is accepted only if g is at least the read
// generation and above the write generation. The coordinator makes a register's new state
// durable before it replies (a reply promises it).
//
// Through a majority: a writer picks a generation above every one it has seen, reads with it
// from a majority, takes the value with the highest write generation among them, and writes its
// new value with the same generation to a majority. If any of them answers with a higher
// generation, another writer got there first: this one has lost (it must start over with a
// higher generation, or step down). Any two majorities meet, so two writers cannot both win with
// values that differ.

#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "flow/error_or.h"

namespace roles {

// Ordered by count, then by uid (a random number each writer draws, to tell apart two writers
// that picked the same count).
struct RegisterGeneration {
  int64_t count = 0;
  uint64_t uid = 0;
  friend auto operator<=>(const RegisterGeneration&, const RegisterGeneration&) = default;
};

struct GenerationRegister {
  RegisterGeneration read_generation;
  RegisterGeneration write_generation;
  std::optional<std::string> value;  // nothing until the first accepted write

  struct ReadReply {
    std::optional<std::string> value;
    RegisterGeneration write_generation;
    RegisterGeneration read_generation;  // after this read
  };
  // A read with `generation`. Sets `changed` if the read generation rose (persist before replying).
  ReadReply read(RegisterGeneration generation, bool& changed);

  struct WriteReply {
    bool accepted = false;
    RegisterGeneration read_generation;   // after this write
    RegisterGeneration write_generation;  // after this write
  };
  // A write of `new_value` with `generation`: accepted if `generation` >= the read generation and
  // > the write generation (persist before replying if accepted).
  WriteReply write(std::string new_value, RegisterGeneration generation);

  friend bool operator==(const GenerationRegister&, const GenerationRegister&) = default;
};

// A register's durable record (docs/database_disk.md, "Coordinator registers"): checksummed, so a
// damaged one is refused with checksum_failed rather than believed.
std::vector<uint8_t> encode_generation_register(const GenerationRegister& r);
flow::ErrorOr<GenerationRegister> decode_generation_register(std::span<const uint8_t> bytes);

// How many of `coordinators` make a majority.
constexpr size_t majority_of(size_t coordinators) { return coordinators / 2 + 1; }

// The read phase through a majority, from the replies gathered so far (one per coordinator that
// answered, with generation `mine`).
struct QuorumRead {
  // Some reply has a higher read generation: another writer is ahead. An early answer only: the
  // write phase would be refused by a coordinator of any majority anyway.
  bool lost = false;
  std::optional<std::string> value;  // the value with the highest write generation
  RegisterGeneration newest_write;
  // Some register held no value while another held one: never written there, or lost with the
  // coordinator's disk.
  bool partial = false;
};
QuorumRead combine_reads(RegisterGeneration mine, std::span<const GenerationRegister::ReadReply> replies);
// Whether writes with `mine` that got `replies` (one per coordinator that answered) hold a
// majority of `coordinators`: every register holds the write of `mine` (accepted now, or by an
// earlier copy of the request whose reply was lost) and enough of them. `lost` is set if any
// reply shows another write in the register. (A newer read after our write landed is no loss:
// that reader saw our value.)
bool write_won(RegisterGeneration mine, std::span<const GenerationRegister::WriteReply> replies, size_t coordinators,
               bool& lost);

}  // namespace roles
