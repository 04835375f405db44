#pragma once
// The register checker — linearizability of read/write registers, one key at a time (a history
// is linearizable iff each key's is: Herlihy and Wing's locality, what Jepsen's Knossos calls
// P-compositional checking).
//
// Each transaction of the history is one operation on one register: a kWrite or a kRead micro-op
// (others are refused as malformed). For each key, the checker searches for an order of its
// operations that a single register could have gone through — each operation placed between its
// invocation and its completion, every read returning the value of the last write before it
// (nothing before the first) — by Wing and Gong's search with Lowe's memo of states already
// tried (as Porcupine does). Failed operations did not happen. Unknown ones may have happened,
// at any time after their invocation, or not at all; an unknown read tells nothing and is left
// out.
//
// The search is exponential in the worst case. It is kept small by leaving out unknown writes
// that no read returned (with unique values they can always be taken as never happened, and
// each one left in is concurrent with everything after it), and by reading values no write made
// as violations before any search. Each key's search is bounded (kStepsMax): a key whose search
// ran out is reported apart, as undecided (not a proof either way; the Register workload fails
// the run on it, since its keys are kept small enough that it should never happen).

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "workloads/checkers/history.h"

namespace workloads::checkers {

struct RegisterViolation {
  std::string key;
  std::vector<size_t> transactions;  // the key's operations the search could not get past
  std::string explanation;
};

struct RegisterReport {
  static constexpr uint64_t kStepsMax = 10'000'000;  // per key
  std::vector<RegisterViolation> violations;
  std::vector<std::string> malformed;     // transactions that are not one read or one write
  std::vector<std::string> undecided;     // keys whose search ran out of steps
  size_t keys = 0;
  size_t operations = 0;
  bool valid() const { return violations.empty() && malformed.empty(); }
};

RegisterReport check_registers(const History& history);

}  // namespace workloads::checkers
