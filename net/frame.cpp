#include "net/frame.h"

#include <xxhash.h>

#include <cstring>

#include "flow/assert.h"
#include "flow/error.h"
#include "flow/little_endian.h"

namespace net {
namespace {

using flow::get_le;
using flow::put_le;

}  // namespace

uint64_t frame_checksum(std::span<const uint8_t> payload) {
  return XXH3_64bits(payload.data(), payload.size());
}

void write_frame_header(uint8_t* frame, std::span<const uint8_t> payload) {
  ASSERT_MSG(payload.size() <= UINT32_MAX, "frame payload of {} bytes", payload.size());
  put_le(frame, payload.size(), 4);
  put_le(frame + 4, 0, 4);
  put_le(frame + 8, frame_checksum(payload), 8);
}

void append_frame(std::vector<uint8_t>& out, std::span<const uint8_t> payload) {
  const size_t at = out.size();
  out.resize(at + frame_bytes(payload.size()));  // zero-fills the padding
  uint8_t* frame = out.data() + at;
  if (!payload.empty()) std::memcpy(frame + kFrameHeaderBytes, payload.data(), payload.size());
  write_frame_header(frame, {frame + kFrameHeaderBytes, payload.size()});
}

FrameDecoder::FrameDecoder(size_t max_payload_bytes)
    : max_payload_(max_payload_bytes), buffer_(kBufferBytes) {}

void FrameDecoder::set_max_payload(size_t max_payload_bytes) {
  max_payload_ = max_payload_bytes;
}

size_t FrameDecoder::allocated_bytes() const {
  return buffer_.size() + (big_ ? big_->size() : 0);
}

void FrameDecoder::grow_big() {
  // Double what has arrived, up to the whole payload: memory follows the bytes that came, not
  // the length a header claims, and the copies add up to less than the payload itself.
  const size_t capacity = std::min(big_needed_, std::max(kDirectReadBytes * 4, big_->size() * 2));
  ASSERT_GT(capacity, big_->size());
  Payload grown(capacity);
  std::memcpy(grown.data(), big_->data(), big_filled_);
  big_ = std::move(grown);
}

std::span<uint8_t> FrameDecoder::read_space() {
  if (big_ && !big_returned_) {
    if (big_filled_ == big_->size()) grow_big();
    return {big_->data() + big_filled_, big_->size() - big_filled_};
  }
  big_.reset();
  big_returned_ = false;
  if (buffer_.size() - end_ < kMinReadBytes && begin_ > 0) {
    // Move the unread tail to the front (begin_ is a multiple of 8: alignment holds). A partial
    // frame left here is at most kDirectReadBytes + header, so there is plenty of room after.
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  return {buffer_.data() + end_, buffer_.size() - end_};
}

void FrameDecoder::commit(size_t n) {
  if (big_ && !big_returned_) {
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

flow::ErrorOr<std::optional<std::span<const uint8_t>>> FrameDecoder::next() {
  using flow::Error;
  using flow::ErrorCode;
  using Result = std::optional<std::span<const uint8_t>>;
  if (big_) {
    if (big_returned_) {
      big_.reset();
      big_returned_ = false;
    } else {
      if (big_filled_ < big_needed_) return Result();
      ASSERT_EQ(big_->size(), big_needed_);
      big_filled_ = 0;
      const std::span<const uint8_t> p = big_->bytes().first(big_length_);
      if (frame_checksum(p) != big_checksum_) return Error(ErrorCode::checksum_failed);
      big_returned_ = true;
      return Result(p);
    }
  }
  const size_t available = end_ - begin_;
  if (available < kFrameHeaderBytes) return Result();
  const uint8_t* header = buffer_.data() + begin_;
  const size_t length = get_le(header, 4);
  if (get_le(header + 4, 4) != 0) return Error(ErrorCode::malformed_message);
  const uint64_t expected = get_le(header + 8, 8);
  if (length > max_payload_) return Error(ErrorCode::message_too_large);
  const size_t total = frame_bytes(length);
  if (available >= total) {
    const std::span<const uint8_t> p(header + kFrameHeaderBytes, length);
    begin_ += total;
    if (begin_ == end_) begin_ = end_ = 0;  // the bytes stay put until the next read_space()
    if (frame_checksum(p) != expected) return Error(ErrorCode::checksum_failed);
    return Result(p);
  }
  if (length > kDirectReadBytes) {
    // Read the rest of this payload (and its padding) straight into its own buffer.
    big_needed_ = total - kFrameHeaderBytes;
    big_filled_ = available - kFrameHeaderBytes;
    big_.emplace(std::min(big_needed_, std::max(kDirectReadBytes * 4, big_filled_)));
    big_length_ = length;
    big_checksum_ = expected;
    std::memcpy(big_->data(), header + kFrameHeaderBytes, big_filled_);
    begin_ = end_ = 0;
  }
  return Result();
}

}  // namespace net
