#include "roles/coordinator/generation_register.h"

#include <xxhash.h>

#include <cstring>

#include "flow/little_endian.h"

namespace roles {

GenerationRegister::ReadReply GenerationRegister::read(RegisterGeneration generation, bool& changed) {
  changed = generation > read_generation;
  if (changed) read_generation = generation;
  return {value, write_generation, read_generation};
}

GenerationRegister::WriteReply GenerationRegister::write(std::string new_value, RegisterGeneration generation) {
  const bool accepted = generation >= read_generation && generation > write_generation;
  if (accepted) {
    write_generation = generation;
    value = std::move(new_value);
  }
  return {accepted, read_generation, write_generation};
}

namespace {

// "SGRG", then the fields little-endian, then the value's bytes, then XXH3-64 of all before it.
constexpr uint32_t kMagic = 0x47524753;
constexpr size_t kHeaderBytes = 4 + 8 + 8 + 8 + 8 + 1 + 4;  // magic, two generations, has, length
constexpr size_t kChecksumBytes = 8;

template <class T>
void put(std::vector<uint8_t>& out, T v) {
  uint8_t b[sizeof(T)];
  flow::put_le(b, static_cast<uint64_t>(v), sizeof(T));
  out.insert(out.end(), b, b + sizeof(T));
}
uint64_t get(const uint8_t* p, int bytes) { return flow::get_le(p, bytes); }

}  // namespace

std::vector<uint8_t> encode_generation_register(const GenerationRegister& r) {
  std::vector<uint8_t> out;
  const std::string& v = r.value ? *r.value : std::string();
  out.reserve(kHeaderBytes + v.size() + kChecksumBytes);
  put<uint32_t>(out, kMagic);
  put<int64_t>(out, r.read_generation.count);
  put<uint64_t>(out, r.read_generation.uid);
  put<int64_t>(out, r.write_generation.count);
  put<uint64_t>(out, r.write_generation.uid);
  put<uint8_t>(out, r.value ? 1 : 0);
  put<uint32_t>(out, static_cast<uint32_t>(v.size()));
  out.insert(out.end(), v.begin(), v.end());
  put<uint64_t>(out, XXH3_64bits(out.data(), out.size()));
  return out;
}

flow::ErrorOr<GenerationRegister> decode_generation_register(std::span<const uint8_t> bytes) {
  const flow::Error damaged(flow::ErrorCode::checksum_failed);
  if (bytes.size() < kHeaderBytes + kChecksumBytes) return damaged;
  const uint8_t* p = bytes.data();
  const size_t body = bytes.size() - kChecksumBytes;
  if (get(p + body, 8) != XXH3_64bits(p, body)) return damaged;
  if (get(p, 4) != kMagic) return damaged;
  GenerationRegister r;
  r.read_generation = {static_cast<int64_t>(get(p + 4, 8)), get(p + 12, 8)};
  r.write_generation = {static_cast<int64_t>(get(p + 20, 8)), get(p + 28, 8)};
  const uint8_t has = p[36];
  const auto length = static_cast<uint32_t>(get(p + 37, 4));
  if (has > 1 || kHeaderBytes + length != body || (has == 0 && length != 0)) return damaged;
  if (has) r.value = std::string(reinterpret_cast<const char*>(p + kHeaderBytes), length);
  return r;
}

QuorumRead combine_reads(RegisterGeneration mine, std::span<const GenerationRegister::ReadReply> replies) {
  QuorumRead out;
  bool any = false;
  bool some_empty = false;
  bool some_held = false;
  for (const GenerationRegister::ReadReply& r : replies) {
    (r.value ? some_held : some_empty) = true;
    if (r.read_generation > mine) out.lost = true;
    if (!any || r.write_generation > out.newest_write) {
      out.newest_write = r.write_generation;
      out.value = r.value;
      any = true;
    }
  }
  out.partial = some_empty && some_held;
  return out;
}

bool write_won(RegisterGeneration mine, std::span<const GenerationRegister::WriteReply> replies, size_t coordinators,
               bool& lost) {
  size_t accepted = 0;
  lost = false;
  for (const GenerationRegister::WriteReply& r : replies) {
    // A write asked again after a lost reply is refused (not above the write generation) though
    // the register holds it: our generation, used for this one value, says it is ours.
    if (r.write_generation == mine) {
      ++accepted;
    } else {
      lost = true;
    }
  }
  return !lost && accepted >= majority_of(coordinators);
}

}  // namespace roles
