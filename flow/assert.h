#pragma once
// Assertions: how code states what it believes. Always on, in every build.
//
// A failed assertion is a bug, not an error: it prints the expression, the values involved, the
// run's seed and simulated time (when a flow::Runtime is active), flushes the trace, and aborts.
// ASSERT_SIM checks only inside a simulated run, for invariants the real world cannot promise.

#include <string>
#include <utility>

#include <fmt/format.h>

namespace flow::detail {

[[noreturn, gnu::cold]] void assert_failed(const char* expression, const char* file, int line,
                                           const std::string& values);
[[noreturn, gnu::cold]] void assert_failed(const char* expression, const char* file, int line);
bool assert_in_simulation();

template <class T>
std::string assert_value(const T& v) {
  if constexpr (fmt::is_formattable<T>::value) {
    return fmt::format("{}", v);
  } else {
    return "(unprintable)";
  }
}

// Out of line and cold, so that an assertion costs its hot caller one compare and no frame.
template <class A, class B>
[[noreturn, gnu::cold, gnu::noinline]] void assert_op_failed(const char* expression,
                                                             const char* file, int line,
                                                             const char* op, const A& a,
                                                             const B& b) {
  assert_failed(expression, file, line, assert_value(a) + " " + op + " " + assert_value(b));
}

template <class... Args>
[[noreturn, gnu::cold, gnu::noinline]] void assert_msg_failed(const char* expression,
                                                              const char* file, int line,
                                                              fmt::format_string<Args...> format,
                                                              Args&&... args) {
  assert_failed(expression, file, line, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace flow::detail

#define ASSERT(cond)                                            \
  do {                                                          \
    if (!(cond)) [[unlikely]]                                   \
      ::flow::detail::assert_failed(#cond, __FILE__, __LINE__); \
  } while (0)

// ASSERT_MSG(cond, "format {}", args...) adds a formatted explanation.
#define ASSERT_MSG(cond, ...)                                                    \
  do {                                                                           \
    if (!(cond)) [[unlikely]]                                                    \
      ::flow::detail::assert_msg_failed(#cond, __FILE__, __LINE__, __VA_ARGS__); \
  } while (0)

#define STRATA_ASSERT_OP(a, op, b)                                                            \
  do {                                                                                        \
    const auto& strata_a_ = (a);                                                              \
    const auto& strata_b_ = (b);                                                              \
    if (!(strata_a_ op strata_b_)) [[unlikely]]                                               \
      ::flow::detail::assert_op_failed(#a " " #op " " #b, __FILE__, __LINE__, #op, strata_a_, \
                                       strata_b_);                                            \
  } while (0)

#define ASSERT_EQ(a, b) STRATA_ASSERT_OP(a, ==, b)
#define ASSERT_NE(a, b) STRATA_ASSERT_OP(a, !=, b)
#define ASSERT_LT(a, b) STRATA_ASSERT_OP(a, <, b)
#define ASSERT_LE(a, b) STRATA_ASSERT_OP(a, <=, b)
#define ASSERT_GT(a, b) STRATA_ASSERT_OP(a, >, b)
#define ASSERT_GE(a, b) STRATA_ASSERT_OP(a, >=, b)

#define ASSERT_SIM(cond)                                                             \
  do {                                                                               \
    if (::flow::detail::assert_in_simulation() && !(cond)) [[unlikely]]              \
      ::flow::detail::assert_failed(#cond " (simulation only)", __FILE__, __LINE__); \
  } while (0)

#define UNREACHABLE() ::flow::detail::assert_failed("unreachable", __FILE__, __LINE__)
