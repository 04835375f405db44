#pragma once
// flow::Error — the one exception type actor code throws, and the table of error codes.
//
// Every error has a code from flow/error_codes.def. Actor code throws only flow::Error; errors from
// elsewhere (errno, Boost.Asio, FlatBuffers verification) are converted where they enter Strata.
// Errors travel through futures, streams and, from step 3, over the wire by their code.

#include <cstdint>
#include <string_view>

namespace flow {

enum class ErrorCode : int32_t {
#define ERROR(name, number, description) name = number,
#include "flow/error_codes.def"
#undef ERROR
};

class [[nodiscard]] Error {
 public:
  constexpr explicit Error(ErrorCode code) : code_(code) {}

  constexpr ErrorCode code() const { return code_; }
  constexpr int32_t number() const { return static_cast<int32_t>(code_); }
  // The code's name from the table ("broken_promise"), or "unknown_error" for a number that is
  // not in it (possible only for codes that arrived from a newer peer).
  std::string_view name() const;
  std::string_view description() const;
  // Same as name(), for code written against std::exception habits.
  const char* what() const { return name().data(); }

  // Builds an Error from a number received from elsewhere; unknown numbers are kept as they are.
  static Error from_number(int32_t number) { return Error(static_cast<ErrorCode>(number)); }

  friend constexpr bool operator==(const Error& a, const Error& b) { return a.code_ == b.code_; }
  friend constexpr bool operator==(const Error& a, ErrorCode b) { return a.code_ == b; }

 private:
  ErrorCode code_;
};

// True for every code in error_codes.def.
bool is_known_error_code(int32_t number);

}  // namespace flow
