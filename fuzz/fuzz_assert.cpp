// The fuzz target links no Runtime: a failed assertion prints and aborts, which libFuzzer
// reports as a crash with its input.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "flow/assert.h"

namespace flow::detail {

[[noreturn]] void assert_failed(const char* expression, const char* file, int line,
                                const std::string& details) {
  std::fprintf(stderr, "assertion failed: %s at %s:%d %s\n", expression, file, line,
               details.c_str());
  std::abort();
}

[[noreturn]] void assert_failed(const char* expression, const char* file, int line) {
  assert_failed(expression, file, line, std::string());
}

}  // namespace flow::detail
