#pragma once
// Keys and values as people type and read them (FoundationDB's fdbcli convention): printable
// ASCII as it is, a backslash as `\\`, every other byte as `\xNN`.

#include <string>
#include <string_view>

#include "flow/error_or.h"

namespace client {

// `bytes` in the printable form.
std::string printable(std::string_view bytes);

// The bytes `text` names: `\xNN` (two hex digits, either case) is that byte, `\\` a backslash;
// anything else stands for itself. invalid_option_value for a backslash followed by anything
// else, with what is wrong in `why` (if given).
flow::ErrorOr<std::string> unprintable(std::string_view text, std::string* why = nullptr);

}  // namespace client
