#pragma once
// History — what a workload recorded of the transactions it ran, for the checkers beside it
// (list_append_checker.h, and the register checker): each transaction's invocation and
// completion in simulated time, the client that ran it, its versions when known, its operations
// with what each read returned, and how it ended.
//
// A transaction ends ok (it committed, or read-only and its reads held), failed (it surely did
// not commit: a conflict, a refusal before commit), or unknown (commit_unknown_result, or the
// client gave up waiting): an unknown one may have committed, and the checkers treat it so.
//
// The history is plain data: no simulation, no database. It can be written in Jepsen's EDN shape
// (to_edn) for checking offline with Elle or Knossos.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace workloads::checkers {

enum class Outcome : uint8_t { kOk, kFailed, kUnknown };

// One operation of a transaction, in Elle's vocabulary.
struct MicroOp {
  enum class Kind : uint8_t {
    kAppend,    // appends `value` to the list under `key`
    kReadList,  // reads the whole list under `key` into `values` (empty if none)
    kWrite,     // sets the register `key` to `value`
    kRead,      // reads the register `key`: `values` holds its value, or nothing if unset
  };
  Kind kind;
  std::string key;
  int64_t value = 0;            // for kAppend and kWrite
  std::vector<int64_t> values;  // for reads, once the transaction completed ok
};

struct Transaction {
  static constexpr int64_t kNotYet = std::numeric_limits<int64_t>::max();
  uint32_t client = 0;
  int64_t invoked_ns = 0;
  int64_t completed_ns = kNotYet;  // kNotYet while running, and for unknown outcomes
  int64_t ended_ns = kNotYet;      // when the client stopped waiting, whatever the outcome
  Outcome outcome = Outcome::kUnknown;
  int64_t read_version = -1;    // -1: not known
  int64_t commit_version = -1;  // -1: not known (or read-only)
  std::vector<MicroOp> ops;
};

class History {
 public:
  // Records a transaction invoked at `now_ns`; returns its index. Its reads' values are filled
  // in by complete().
  size_t invoke(uint32_t client, int64_t now_ns, std::vector<MicroOp> ops);
  // Records how transaction `index` ended. `ops` are its operations as they ran, reads filled
  // in (ignored unless the outcome is ok); an unknown outcome keeps completed_ns at kNotYet.
  // REQUIRES: `index` was invoked and not completed, and `ops` matches the invoked operations
  // in kind, key and written value.
  void complete(size_t index, int64_t now_ns, Outcome outcome, std::vector<MicroOp> ops,
                int64_t read_version = -1, int64_t commit_version = -1);
  // Adds a whole transaction at once (for tests and hand-made histories); returns its index.
  size_t add(Transaction t);

  const std::vector<Transaction>& transactions() const { return transactions_; }
  // How many ended each way (running ones count as unknown): a workload's metrics.
  void add_metrics(const std::string& prefix, std::vector<std::pair<std::string, double>>& out) const;
  size_t size() const { return transactions_.size(); }

  // Jepsen's history shape: one map per invocation and per completion, in time order (ties:
  // invocations before completions, except that a client's completion comes before its own next
  // invocation), `:time` in ns, keys as strings. Unknown outcomes complete as `:info` when the
  // client gave up (at the end if it never did); `:process` is the client's number, and after an
  // `:info` the client goes on as a new process (as Jepsen's workers do), so that no process
  // has two operations open.
  std::string to_edn() const;

 private:
  std::vector<Transaction> transactions_;
};

}  // namespace workloads::checkers
