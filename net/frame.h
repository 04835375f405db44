#pragma once
// Frames — how messages are cut out of a connection's byte stream.
//
// A frame is [payload length: u32][XXH64 of the payload, seed 0: u64][payload], little-endian.
// FrameDecoder takes bytes as they arrive and yields whole payloads, each in its own buffer whose
// start is 16-byte aligned (FlatBuffers reads scalars in place). It never allocates more than one
// frame's declared length, and refuses a length above its maximum before allocating anything.
// Decoding is synchronous and never suspends, so the fuzz target drives it directly.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "flow/error_or.h"

namespace net {

inline constexpr size_t kFrameHeaderBytes = 12;

// Appends one frame carrying `payload` to `out`.
void append_frame(std::vector<uint8_t>& out, std::span<const uint8_t> payload);
// Appends the 12-byte header of a frame carrying `payload` (for writing the payload separately).
void append_frame_header(std::vector<uint8_t>& out, std::span<const uint8_t> payload);

// One received payload, in its own aligned buffer.
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

  // Where to put the next bytes read from the connection. Never empty once next() has returned
  // nullopt.
  std::span<uint8_t> read_space();
  // Records that `n` bytes were written at the start of read_space().
  void commit(size_t n);
  // Copies as much of `bytes` as read_space() takes; returns how much. Callers drain next() and
  // feed the rest (tests and the fuzz target).
  size_t feed(std::span<const uint8_t> bytes);

  // The next complete payload; nullopt when more bytes are needed. message_too_large for a
  // declared length above the maximum, checksum_failed for a payload that does not match its
  // checksum: the stream is then unusable and the connection must close.
  flow::ErrorOr<std::optional<Payload>> next();

  // Bytes held that are not yet part of a returned payload.
  size_t buffered_bytes() const { return (end_ - begin_) + big_filled_; }

 private:
  static constexpr size_t kBufferBytes = 64 * 1024;
  // Frames with payloads above this are read straight into their own buffer.
  static constexpr size_t kDirectReadBytes = 16 * 1024;
  // read_space() compacts the buffer rather than offer less than this.
  static constexpr size_t kMinReadBytes = 4 * 1024;

  size_t max_payload_;
  std::vector<uint8_t> buffer_;
  size_t begin_ = 0;  // unread bytes are buffer_[begin_, end_)
  size_t end_ = 0;
  // A large frame being read directly: its payload, expected checksum, and bytes filled so far.
  std::optional<Payload> big_;
  uint64_t big_checksum_ = 0;
  size_t big_filled_ = 0;
};

}  // namespace net
