#include "client/printable.h"

#include <fmt/format.h>

namespace client {

std::string printable(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (const char c : bytes) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\\')
      out += "\\\\";
    else if (u >= 0x20 && u < 0x7f)
      out += c;
    else
      out += fmt::format("\\x{:02x}", u);
  }
  return out;
}

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

flow::ErrorOr<std::string> unprintable(std::string_view text, std::string* why) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      out += text[i];
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '\\') {
      out += '\\';
      ++i;
      continue;
    }
    const int hi = i + 2 < text.size() ? hex_digit(text[i + 2]) : -1;
    const int lo = i + 3 < text.size() ? hex_digit(text[i + 3]) : -1;
    if (i + 1 >= text.size() || text[i + 1] != 'x' || hi < 0 || lo < 0) {
      if (why != nullptr) *why = fmt::format("a backslash at byte {} is neither \\\\ nor \\xNN", i);
      return flow::Error(flow::ErrorCode::invalid_option_value);
    }
    out += static_cast<char>(hi * 16 + lo);
    i += 3;
  }
  return out;
}

}  // namespace client
