#pragma once
// CODE_PROBE(condition, "what") — marks a situation that tests should reach.
//
//   CODE_PROBE(queue.size() > 1000, "commit queue backs up");
//
// Every probe in the binary registers itself when the program starts, whether or not it is ever
// evaluated, so a run (or a seed sweep) can report which probes it hit and which it never reached.
// Hit counts belong to the current flow::Runtime; the site list is fixed for the program.
//
// A probe only counts: evaluating one never draws a random number, emits a trace event or
// changes what the run does next, so adding or moving probes leaves every seed's run as it was.
// The condition must be free of side effects. A probe in a template or an inline function of a
// header exists only in programs that instantiate it.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace flow {

class Runtime;

struct CodeProbeSite {
  const char* file;  // relative to the source tree's root where it lies under it
  int line;
  const char* what;
  size_t index;  // registration number: indexes Runtime::code_probe_hits()
};

// Every probe site in the program, sorted by file, line and text (never by address or
// registration order, which depends on the link).
std::vector<const CodeProbeSite*> code_probe_sites();

// "file:line what": a probe's name in reports, stable across runs and builds of one commit.
std::string code_probe_name(const CodeProbeSite& site);

struct CodeProbeCount {
  const CodeProbeSite* site;
  uint64_t hits;
};

// Every probe site in the program (in code_probe_sites() order) with its hits in `runtime`;
// zero for a site the run never reached.
std::vector<CodeProbeCount> code_probe_counts(const Runtime& runtime);

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
