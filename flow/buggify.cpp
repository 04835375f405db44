#include "flow/buggify.h"

#include <algorithm>
#include <cmath>

#include "flow/code_probe.h"
#include "flow/deterministic_random.h"
#include "flow/runtime.h"

namespace flow {

bool Buggify::evaluate(double fire_probability, const std::source_location& site) {
  ++evaluations_;
  if (!enabled_) return false;
  auto [it, inserted] = sites_.try_emplace(SiteKey(site.file_name(), site.line(), site.column()));
  if (inserted) it->second = random_.random_bool(kActivationProbability);
  const bool fires = it->second && random_.random_bool(fire_probability);
  if (it->second) log_chance_of_no_fire_ += std::log1p(-std::min(fire_probability, 1.0 - 1e-12));
  fires_ += fires ? 1 : 0;
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
