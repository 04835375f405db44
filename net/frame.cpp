#include "net/frame.h"

#include <xxhash.h>

#include <cstring>

#include "flow/assert.h"
#include "flow/error.h"

namespace net {
namespace {

uint64_t checksum(const uint8_t* data, size_t size) { return XXH64(data, size, 0); }

void put_le(uint8_t* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint64_t get_le(const uint8_t* in, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(in[i]) << (8 * i);
  return v;
}

}  // namespace

void append_frame_header(std::vector<uint8_t>& out, std::span<const uint8_t> payload) {
  ASSERT_MSG(payload.size() <= UINT32_MAX, "frame payload of {} bytes", payload.size());
  const size_t at = out.size();
  out.resize(at + kFrameHeaderBytes);
  put_le(out.data() + at, payload.size(), 4);
  put_le(out.data() + at + 4, checksum(payload.data(), payload.size()), 8);
}

void append_frame(std::vector<uint8_t>& out, std::span<const uint8_t> payload) {
  append_frame_header(out, payload);
  out.insert(out.end(), payload.begin(), payload.end());
}

FrameDecoder::FrameDecoder(size_t max_payload_bytes)
    : max_payload_(max_payload_bytes), buffer_(kBufferBytes) {}

std::span<uint8_t> FrameDecoder::read_space() {
  if (big_) return {big_->data() + big_filled_, big_->size() - big_filled_};
  if (buffer_.size() - end_ < kMinReadBytes && begin_ > 0) {
    // Move the unread tail to the front. A partial frame left here is at most
    // kDirectReadBytes + header, so there is plenty of room after the move.
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  return {buffer_.data() + end_, buffer_.size() - end_};
}

void FrameDecoder::commit(size_t n) {
  if (big_) {
    ASSERT(n <= big_->size() - big_filled_);
    big_filled_ += n;
  } else {
    ASSERT(n <= buffer_.size() - end_);
    end_ += n;
  }
}

size_t FrameDecoder::feed(std::span<const uint8_t> bytes) {
  std::span<uint8_t> space = read_space();
  const size_t n = std::min(space.size(), bytes.size());
  if (n) std::memcpy(space.data(), bytes.data(), n);
  commit(n);
  return n;
}

flow::ErrorOr<std::optional<Payload>> FrameDecoder::next() {
  using flow::Error;
  using flow::ErrorCode;
  if (big_) {
    if (big_filled_ < big_->size()) return std::optional<Payload>();
    Payload p = std::move(*big_);
    big_.reset();
    big_filled_ = 0;
    if (checksum(p.data(), p.size()) != big_checksum_) return Error(ErrorCode::checksum_failed);
    return std::optional<Payload>(std::move(p));
  }
  const size_t available = end_ - begin_;
  if (available < kFrameHeaderBytes) return std::optional<Payload>();
  const uint8_t* header = buffer_.data() + begin_;
  const size_t length = get_le(header, 4);
  const uint64_t expected = get_le(header + 4, 8);
  if (length > max_payload_) return Error(ErrorCode::message_too_large);
  if (available >= kFrameHeaderBytes + length) {
    Payload p(length);
    if (length) std::memcpy(p.data(), header + kFrameHeaderBytes, length);
    begin_ += kFrameHeaderBytes + length;
    if (begin_ == end_) begin_ = end_ = 0;
    if (checksum(p.data(), p.size()) != expected) return Error(ErrorCode::checksum_failed);
    return std::optional<Payload>(std::move(p));
  }
  if (length > kDirectReadBytes) {
    // Read the rest of this payload straight into its own buffer.
    big_.emplace(length);
    big_checksum_ = expected;
    big_filled_ = available - kFrameHeaderBytes;
    std::memcpy(big_->data(), header + kFrameHeaderBytes, big_filled_);
    begin_ = end_ = 0;
  }
  return std::optional<Payload>();
}

}  // namespace net
