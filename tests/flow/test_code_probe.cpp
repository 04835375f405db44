// CODE_PROBE: every site is known at start; hits are counted per run.
#include <doctest/doctest.h>

#include <cstring>

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
