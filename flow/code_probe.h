#pragma once
// CODE_PROBE(condition, "what") — marks a situation that tests should reach.
//
//   CODE_PROBE(queue.size() > 1000, "commit queue backs up");
//
// Every probe in the binary registers itself when the program starts, whether or not it is ever
// evaluated, so a run (or a seed sweep) can report which probes it hit and which it never reached.
// Hit counts belong to the current flow::Runtime; the site list is fixed for the program.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace flow {

struct CodeProbeSite {
  const char* file;
  int line;
  const char* what;
  size_t index;  // registration number: indexes Runtime::code_probe_hits()
};

// Every probe site in the program, sorted by file and line.
std::vector<const CodeProbeSite*> code_probe_sites();

namespace detail {

// Adds a site to the program's registry (which owns it) and returns it.
const CodeProbeSite* register_code_probe(const char* file, int line, const char* what);
void code_probe_hit(const CodeProbeSite& site);

template <size_t N>
struct ProbeText {
  constexpr ProbeText(const char (&s)[N]) {  // NOLINT: implicit from a literal
    for (size_t i = 0; i < N; ++i)
      text[i] = s[i];
  }
  char text[N];
};

// One static object per probe site, constructed (and so registered) at program start.
template <ProbeText File, int Line, ProbeText What>
struct ProbeRegistration {
  static inline const CodeProbeSite* const site = register_code_probe(File.text, Line, What.text);
};

}  // namespace detail

}  // namespace flow

#define CODE_PROBE(condition, what)                                         \
  do {                                                                      \
    const ::flow::CodeProbeSite& strata_probe_ =                            \
        *::flow::detail::ProbeRegistration<__FILE__, __LINE__, what>::site; \
    if (condition) ::flow::detail::code_probe_hit(strata_probe_);           \
  } while (0)
