// Recording a history: invocation and completion, what each outcome keeps, and Jepsen's EDN.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "workloads/checkers/history.h"

using workloads::checkers::History;
using workloads::checkers::MicroOp;
using workloads::checkers::Outcome;
using workloads::checkers::Transaction;

namespace {

std::vector<MicroOp> ops(std::vector<int64_t> read_values = {}) {
  return {{MicroOp::Kind::kAppend, "x", 7, {}},
          {MicroOp::Kind::kReadList, "x", 0, std::move(read_values)}};
}

}  // namespace

TEST_CASE("history: a completion fills reads for ok only; an unknown one never completes") {
  History h;
  const size_t ok = h.invoke(0, 100, ops());
  const size_t failed = h.invoke(1, 150, ops());
  const size_t unknown = h.invoke(2, 160, ops());
  const size_t running = h.invoke(3, 170, ops());
  h.complete(ok, 200, Outcome::kOk, ops({5, 7}), 40, 41);
  h.complete(failed, 210, Outcome::kFailed, ops({5, 7}));
  h.complete(unknown, 220, Outcome::kUnknown, ops({5, 7}));
  const auto& ts = h.transactions();
  REQUIRE(ts.size() == 4);
  CHECK(ts[ok].completed_ns == 200);
  CHECK(ts[ok].ops[1].values == std::vector<int64_t>{5, 7});
  CHECK(ts[ok].read_version == 40);
  CHECK(ts[ok].commit_version == 41);
  CHECK(ts[failed].outcome == Outcome::kFailed);
  CHECK(ts[failed].ops[1].values.empty());  // what a failed transaction read proves nothing
  CHECK(ts[unknown].completed_ns == Transaction::kNotYet);
  CHECK(ts[unknown].outcome == Outcome::kUnknown);
  CHECK(ts[running].outcome == Outcome::kUnknown);
}

TEST_CASE("history: EDN in Jepsen's shape, in time order, keys escaped") {
  History h;
  const size_t a = h.invoke(0, 100, ops());
  const size_t b = h.invoke(1, 150, {{MicroOp::Kind::kWrite, "k\"\x01", 3, {}},
                                     {MicroOp::Kind::kRead, "k", 0, {}}});
  h.complete(a, 300, Outcome::kOk, ops({7}));
  h.complete(b, 200, Outcome::kFailed,
             {{MicroOp::Kind::kWrite, "k\"\x01", 3, {}}, {MicroOp::Kind::kRead, "k", 0, {}}});
  h.invoke(2, 250, {{MicroOp::Kind::kRead, "k", 0, {}}});  // never completes: :info at the end
  CHECK(h.to_edn() ==
        "[\n"
        " {:type :invoke, :f :txn, :value [[:append \"x\" 7] [:r \"x\" nil]], :time 100, :process 0, :index 0}\n"
        " {:type :invoke, :f :txn, :value [[:w \"k\\\"\\u0001\" 3] [:r \"k\" nil]], :time 150, :process 1, :index 1}\n"
        " {:type :fail, :f :txn, :value [[:w \"k\\\"\\u0001\" 3] [:r \"k\" nil]], :time 200, :process 1, :index 2}\n"
        " {:type :invoke, :f :txn, :value [[:r \"k\" nil]], :time 250, :process 2, :index 3}\n"
        " {:type :ok, :f :txn, :value [[:append \"x\" 7] [:r \"x\" [7]]], :time 300, :process 0, :index 4}\n"
        " {:type :info, :f :txn, :value [[:r \"k\" nil]], :time 300, :process 2, :index 5}\n"
        "]\n");
}

TEST_CASE("history: EDN never has a process with two operations open (Jepsen refuses that)") {
  History h;
  // Client 1: an unknown outcome at 200, then a retry at 300: the retry is a new process.
  const size_t a = h.invoke(1, 0, ops());
  h.complete(a, 200, Outcome::kUnknown, ops());
  const size_t b = h.invoke(1, 300, ops());
  h.complete(b, 400, Outcome::kOk, ops({7}));
  // Client 0: completes at 500 and invokes again at 500: the completion comes first.
  const size_t c = h.invoke(0, 450, ops());
  h.complete(c, 500, Outcome::kOk, ops({7}));
  const size_t d = h.invoke(0, 500, ops());
  h.complete(d, 600, Outcome::kFailed, ops());
  const std::string edn = h.to_edn();
  INFO(edn);
  CHECK(edn.find(":type :info, :f :txn, :value [[:append \"x\" 7] [:r \"x\" nil]], :time 200, :process 1,") !=
        std::string::npos);
  CHECK(edn.find(":type :invoke, :f :txn, :value [[:append \"x\" 7] [:r \"x\" nil]], :time 300, :process 2,") !=
        std::string::npos);
  const size_t ok_at = edn.find(":type :ok, :f :txn, :value [[:append \"x\" 7] [:r \"x\" [7]]], :time 500, :process 0");
  const size_t again = edn.find(":type :invoke, :f :txn, :value [[:append \"x\" 7] [:r \"x\" nil]], :time 500, :process 0");
  REQUIRE(ok_at != std::string::npos);
  REQUIRE(again != std::string::npos);
  CHECK(ok_at < again);
}
