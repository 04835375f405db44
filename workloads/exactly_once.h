#pragma once
// Exactly-once transactions for the database workloads: a transaction that records itself under
// a key of its own (its marker) can be retried after commit_unknown_result without being applied
// twice, because every attempt reads the marker first. An earlier attempt that committed left it
// there; one still in flight that commits later conflicts with the retry's read of it.

#include <optional>
#include <string>

#include "client/database.h"

namespace workloads {

// Runs fn(t) — which returns the record to write under `marker`, or nullopt when it decided to
// write nothing — unless the marker is there already. Returns the record committed under the
// marker by this call, or by an earlier attempt whose commit_unknown_result hid it; nullopt if
// nothing was. May suspend.
template <class Fn>
std::optional<std::string> run_once(client::Database& db, const std::string& marker, Fn fn) {
  return db.run([&](client::Transaction& t) -> std::optional<std::string> {
    if (std::optional<std::string> earlier = t.get(marker)) return earlier;
    std::optional<std::string> record = fn(t);
    if (record) t.set(marker, *record);
    return record;
  });
}

}  // namespace workloads
