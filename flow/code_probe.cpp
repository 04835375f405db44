#include "flow/code_probe.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include "flow/runtime.h"

namespace flow {
namespace {

// Function-local so that registration from other translation units' static initializers is safe.
std::vector<std::unique_ptr<CodeProbeSite>>& registry() {
  static std::vector<std::unique_ptr<CodeProbeSite>> sites;
  return sites;
}

}  // namespace

namespace detail {

const CodeProbeSite* register_code_probe(const char* file, int line, const char* what) {
  auto& r = registry();
  r.push_back(std::make_unique<CodeProbeSite>(CodeProbeSite{file, line, what, r.size()}));
  return r.back().get();
}

void code_probe_hit(const CodeProbeSite& site) {
  if (Runtime* rt = Runtime::current()) rt->record_code_probe_hit(site.index);
}

}  // namespace detail

std::vector<const CodeProbeSite*> code_probe_sites() {
  std::vector<const CodeProbeSite*> sites;
  for (const auto& s : registry())
    sites.push_back(s.get());
  std::sort(sites.begin(), sites.end(), [](const CodeProbeSite* a, const CodeProbeSite* b) {
    const int c = std::strcmp(a->file, b->file);
    return c != 0 ? c < 0 : a->line < b->line;
  });
  return sites;
}

}  // namespace flow
