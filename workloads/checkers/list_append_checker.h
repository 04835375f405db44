#pragma once
// The list-append checker — strict serializability of a list-append history, the way Jepsen's
// Elle checks it (Kingsbury and Alvaro, "Elle: Inferring Isolation Anomalies from Experimental
// Observations", 2020).
//
// Transactions append unique values to lists under keys and read whole lists. Because every
// appended value is unique and a list only grows, a read tells exactly which writes came before
// it, and the longest read of a key gives the order its appends committed in. From those orders
// the checker infers, between transactions that committed (ok ones, and unknown ones whose
// appends were read):
//   ww  T1 appended the value just before T2's in a key's order;
//   wr  T2 read a list whose last value T1 appended;
//   rw  T1 read a list that T2's append came right after;
//   rt  T1 completed before T2 was invoked (real time; only ok transactions complete).
// A cycle of these is a violation, named by the weakest edges that make one, as Adya's
// anomalies: G0 (ww only), G1c (ww and wr), G-single (exactly one rw), G2 (several rw), each
// with "-realtime" when real-time edges are needed to close it. Read by themselves, reads can
// show G1a (a value of a failed transaction), G1b (a value its transaction appended over in the
// same key), and orders no serial history could give: duplicated values, two reads of a key
// that are not prefixes one of the other, values nobody appended, and a transaction's reads
// that miss its own appends or change within it. An append no read shows is in no order, so no
// edge reaches it: it is lost if an ok transaction made it and a read of its key began after
// that one completed (workloads read every key at the end, so a lost append is seen).
//
// Reads that follow the transaction's own append to the key are judged on the part before its
// appends: the appends themselves land wherever the commit puts them.

#include <cstddef>
#include <string>
#include <vector>

#include "workloads/checkers/history.h"

namespace workloads::checkers {

enum class Anomaly : uint8_t {
  kG0,
  kG1a,
  kG1b,
  kG1c,
  kGSingle,
  kG2,
  kG0Realtime,
  kG1cRealtime,
  kGSingleRealtime,
  kG2Realtime,
  kDuplicateElements,   // a read holds a value twice
  kIncompatibleOrder,   // two reads of a key, neither a prefix of the other
  kGarbageRead,         // a read holds a value no transaction appended
  kInternal,            // a transaction's reads of a key disagree, or miss its own appends
  kLostAppend,          // an ok append in no read, though a read of its key began after it
  kDuplicateAppend,     // two appends of one value to one key: the history cannot be checked
};

// "G0", "G-single-realtime", "incompatible-order", ...
const char* anomaly_name(Anomaly a);

struct Violation {
  Anomaly anomaly;
  // The transactions involved (indices into the history); for a cycle, in its order.
  std::vector<size_t> transactions;
  // For people: the cycle with its edges and keys, or the reads that show the anomaly.
  std::string explanation;
};

struct ListAppendReport {
  std::vector<Violation> violations;
  size_t committed = 0;  // transactions taken as committed (the graph's nodes)
  size_t edges = 0;      // dependency and real-time edges inferred
  bool valid() const { return violations.empty(); }
};

// Checks a history of kAppend and kReadList operations (others are ignored). Deterministic:
// the same history gives the same report.
ListAppendReport check_list_append(const History& history);

}  // namespace workloads::checkers
