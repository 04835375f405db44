#pragma once
// Frames — how messages are cut out of a connection's byte stream.
//
// A frame is, little-endian,
//   [payload length: u32][reserved, zero: u32][XXH3-64 of the payload, seed 0: u64][payload]
//   [zero padding to a multiple of 8]
// so every header and every payload starts 8-byte aligned in the stream. FrameDecoder takes bytes
// as they arrive and yields whole payloads in place, 8-byte aligned (FlatBuffers reads scalars in
// place). A large payload is read into a buffer of its own that grows (doubling) with the bytes
// that actually arrive, so a header that claims a large length costs nothing until its bytes
// come; a length above the maximum is refused before anything is allocated. The maximum can
// change between frames (a connection accepts only small frames until the peer's Hello).
// Decoding is synchronous and never suspends, so the fuzz target drives it directly.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "flow/error_or.h"

namespace net {

inline constexpr size_t kFrameHeaderBytes = 16;
inline constexpr size_t kFrameAlignment = 8;

// The checksum a frame carries for `payload`.
uint64_t frame_checksum(std::span<const uint8_t> payload);
// The bytes a frame of `payload_bytes` takes on the wire, header and padding included.
constexpr size_t frame_bytes(size_t payload_bytes) {
  return kFrameHeaderBytes +
         (payload_bytes + kFrameAlignment - 1) / kFrameAlignment * kFrameAlignment;
}

// Appends one frame carrying `payload` to `out`.
void append_frame(std::vector<uint8_t>& out, std::span<const uint8_t> payload);
// Writes the header of a frame whose payload (already in place right after it) is `payload`.
// The padding after the payload must already be zero.
void write_frame_header(uint8_t* frame, std::span<const uint8_t> payload);

// A buffer whose start is 16-byte aligned.
class Payload {
 public:
  Payload() = default;
  explicit Payload(size_t size) : data_(size ? new uint8_t[size] : nullptr), size_(size) {}
  uint8_t* data() { return data_.get(); }
  std::span<const uint8_t> bytes() const { return {data_.get(), size_}; }
  size_t size() const { return size_; }

 private:
  std::unique_ptr<uint8_t[]> data_;
  size_t size_ = 0;
};

class FrameDecoder {
 public:
  explicit FrameDecoder(size_t max_payload_bytes);

  // Frames after this one may carry payloads up to `max_payload_bytes`.
  void set_max_payload(size_t max_payload_bytes);

  // Where to put the next bytes read from the connection. Never empty once next() has returned
  // nullopt.
  std::span<uint8_t> read_space();
  // Records that `n` bytes were written at the start of read_space().
  void commit(size_t n);
  // Copies as much of `bytes` as read_space() takes; returns how much. Callers drain next() and
  // feed the rest (tests and the fuzz target).
  size_t feed(std::span<const uint8_t> bytes);

  // The next complete payload, 8-byte aligned, valid until the next call of any method; nullopt
  // when more bytes are needed. message_too_large for a declared length above the maximum,
  // checksum_failed for a payload that does not match its checksum, malformed_message for a
  // reserved field that is not zero: the stream is then unusable and the connection must close.
  flow::ErrorOr<std::optional<std::span<const uint8_t>>> next();

  // Bytes held that are not yet part of a returned payload.
  size_t buffered_bytes() const { return (end_ - begin_) + big_filled_; }
  // Bytes of buffers this decoder holds.
  size_t allocated_bytes() const;

 private:
  static constexpr size_t kBufferBytes = 64 * 1024;
  // Frames with payloads above this are read straight into their own buffer.
  static constexpr size_t kDirectReadBytes = 16 * 1024;
  // read_space() compacts the buffer rather than offer less than this.
  static constexpr size_t kMinReadBytes = 4 * 1024;

  size_t max_payload_;
  Payload buffer_;    // 16-aligned; frames start at multiples of 8 in it
  size_t begin_ = 0;  // unread bytes are buffer_[begin_, end_); begin_ is a multiple of 8
  size_t end_ = 0;
  // Makes the large frame's buffer bigger. REQUIRES: it is full and the frame is not complete.
  void grow_big();

  // A large frame being read directly: its buffer (grown as bytes come), the bytes it needs
  // (payload and padding), length, expected checksum, and bytes filled so far. Kept after it is
  // returned, until the next call.
  std::optional<Payload> big_;
  size_t big_needed_ = 0;
  size_t big_length_ = 0;
  uint64_t big_checksum_ = 0;
  size_t big_filled_ = 0;
  bool big_returned_ = false;
};

}  // namespace net
