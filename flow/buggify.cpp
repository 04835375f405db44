#include "flow/buggify.h"

#include "flow/code_probe.h"
#include "flow/deterministic_random.h"
#include "flow/runtime.h"

namespace flow {

bool Buggify::evaluate(double fire_probability, const std::source_location& site) {
  if (!enabled_) return false;
  auto [it, inserted] = sites_.try_emplace(SiteKey(site.file_name(), site.line(), site.column()));
  if (inserted) it->second = random_.random_bool(kActivationProbability);
  const bool fires = it->second && random_.random_bool(fire_probability);
  CODE_PROBE(fires, "a buggify site fires");
  return fires;
}

size_t Buggify::sites_active() const {
  size_t n = 0;
  for (const auto& [site, active] : sites_)
    n += active ? 1 : 0;
  return n;
}

bool buggify(double fire_probability, std::source_location site) {
  return Runtime::checked_current().buggify().evaluate(fire_probability, site);
}

}  // namespace flow
