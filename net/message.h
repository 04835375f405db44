#pragma once
// Messages — FlatBuffers object-API types (the `FooT` that flatc --gen-object-api makes from
// `table Foo`) to bytes and back.
//
// Decoding verifies the buffer with FlatBuffers' Verifier before reading it: a malformed body is
// malformed_message, never a crash or an out-of-bounds read.

#include <flatbuffers/flatbuffers.h>

#include <cstdint>
#include <span>

#include "flow/error.h"
#include "flow/error_or.h"

namespace net {

// Depth and table-count bounds for verification, so a hostile buffer cannot make verification
// itself slow. Verification is linear in the bytes anyway; the table bound only has to stay above
// what an honest message of the largest size holds (a table takes at least 4 bytes): a commit
// batch of a million small mutations is two million tables.
inline constexpr flatbuffers::uoffset_t kVerifyMaxDepth = 64;
inline constexpr flatbuffers::uoffset_t kVerifyMaxTables = flatbuffers::uoffset_t{1} << 24;

template <class T>
concept WireMessage = requires { typename T::TableType; };

// Serializes `message` into `builder` (cleared first) and finishes it.
template <WireMessage T>
void encode_message(flatbuffers::FlatBufferBuilder& builder, const T& message) {
  builder.Clear();
  builder.Finish(T::TableType::Pack(builder, &message));
}

// Verifies `bytes` as a T and unpacks it. REQUIRES: bytes.data() is 8-byte aligned.
template <WireMessage T>
flow::ErrorOr<T> decode_message(std::span<const uint8_t> bytes) {
  using Table = typename T::TableType;
  flatbuffers::Verifier verifier(bytes.data(), bytes.size(), kVerifyMaxDepth, kVerifyMaxTables);
  if (bytes.size() < sizeof(flatbuffers::uoffset_t) || !verifier.VerifyBuffer<Table>(nullptr)) {
    return flow::Error(flow::ErrorCode::malformed_message);
  }
  T out;
  flatbuffers::GetRoot<Table>(bytes.data())->UnPackTo(&out);
  return out;
}

}  // namespace net
