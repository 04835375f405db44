// CODE_PROBE: every site is known at start; hits are counted per run.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "flow/flow.h"

using namespace flow;

namespace {

void maybe_probe(bool hit) {
  CODE_PROBE(hit, "test probe that is sometimes hit");
}
void never_called() {
  CODE_PROBE(true, "test probe in code that never runs");
}

const CodeProbeSite* find_site(const char* what) {
  for (const CodeProbeSite* s : code_probe_sites()) {
    if (std::strcmp(s->what, what) == 0) return s;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("probe sites register at program start, even if never evaluated") {
  const CodeProbeSite* never = find_site("test probe in code that never runs");
  REQUIRE(never != nullptr);
  CHECK(std::strstr(never->file, "test_code_probe.cpp") != nullptr);
  (void)&never_called;
}

TEST_CASE("a probe never reached is reported with zero hits; a hit one with its count") {
  const CodeProbeSite* never = find_site("test probe in code that never runs");
  const CodeProbeSite* sometimes = find_site("test probe that is sometimes hit");
  REQUIRE(never != nullptr);
  REQUIRE(sometimes != nullptr);
  Runtime rt;
  maybe_probe(true);
  const std::vector<CodeProbeCount> counts = code_probe_counts(rt);
  // Every site of the program, once each, in the order of code_probe_sites().
  const std::vector<const CodeProbeSite*> sites = code_probe_sites();
  REQUIRE(counts.size() == sites.size());
  bool saw_never = false, saw_sometimes = false;
  for (size_t i = 0; i < counts.size(); ++i) {
    CHECK(counts[i].site == sites[i]);
    if (counts[i].site == never) {
      saw_never = true;
      CHECK(counts[i].hits == 0);
    }
    if (counts[i].site == sometimes) {
      saw_sometimes = true;
      CHECK(counts[i].hits == 1);
    }
  }
  CHECK(saw_never);
  CHECK(saw_sometimes);
}

TEST_CASE("probe sites are sorted by file and line and named from the tree's root") {
  const std::vector<const CodeProbeSite*> sites = code_probe_sites();
  REQUIRE(sites.size() >= 2);
  for (size_t i = 1; i < sites.size(); ++i) {
    const int c = std::strcmp(sites[i - 1]->file, sites[i]->file);
    CHECK((c < 0 || (c == 0 && sites[i - 1]->line <= sites[i]->line)));
  }
  const CodeProbeSite* never = find_site("test probe in code that never runs");
  REQUIRE(never != nullptr);
  const std::string name = code_probe_name(*never);
  CHECK(name.rfind("tests/flow/test_code_probe.cpp:", 0) == 0);
  CHECK(name.size() > std::strlen(" test probe in code that never runs"));
  CHECK(name.substr(name.size() - std::strlen(" test probe in code that never runs")) ==
        " test probe in code that never runs");
}

TEST_CASE("probe hits are counted per runtime") {
  const CodeProbeSite* site = find_site("test probe that is sometimes hit");
  REQUIRE(site != nullptr);
  {
    Runtime rt;
    maybe_probe(true);
    maybe_probe(false);
    maybe_probe(true);
    REQUIRE(rt.code_probe_hits().size() > site->index);
    CHECK(rt.code_probe_hits()[site->index] == 2);
  }
  Runtime fresh;
  CHECK(
      (fresh.code_probe_hits().size() <= site->index || fresh.code_probe_hits()[site->index] == 0));
}
