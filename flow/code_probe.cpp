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
#ifdef STRATA_SOURCE_DIR
  // __FILE__ is the path the compiler was given; reports name files from the tree's root, so
  // that two checkouts of one commit report the same probes.
  constexpr size_t kRootBytes = sizeof(STRATA_SOURCE_DIR) - 1;
  if (std::strncmp(file, STRATA_SOURCE_DIR, kRootBytes) == 0) file += kRootBytes;
#endif
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
    if (const int c = std::strcmp(a->file, b->file); c != 0) return c < 0;
    if (a->line != b->line) return a->line < b->line;
    return std::strcmp(a->what, b->what) < 0;
  });
  return sites;
}

std::string code_probe_name(const CodeProbeSite& site) {
  return std::string(site.file) + ":" + std::to_string(site.line) + " " + site.what;
}

std::vector<CodeProbeCount> code_probe_counts(const Runtime& runtime) {
  const std::vector<uint64_t>& hits = runtime.code_probe_hits();
  std::vector<CodeProbeCount> counts;
  for (const CodeProbeSite* s : code_probe_sites())
    counts.push_back({s, s->index < hits.size() ? hits[s->index] : 0});
  return counts;
}

}  // namespace flow
