#pragma once
// ConflictHistory — the resolver's memory of recent writes (docs/database.md, "resolver").
//
// For every key it knows the newest version that wrote a range holding it. A transaction that
// read [b, e) at version R conflicts if newest_write(b, e) > R. Writes are recorded batch by
// batch in version order, so a new write is always the newest: that is what keeps add_write
// cheap, and it is asserted.
//
// The keys are boundaries of a step function, kept in a skip list whose every link also carries
// the newest version among the boundaries it jumps over: a query over a range that spans many
// writes follows a few long links instead of visiting each write (FoundationDB's resolver does
// the same). Writes older than the window are merged away a little at a time (forget_before),
// so memory follows the writes of the window.
//
// Searches over many ranges at once (newest_writes, what the resolver uses for a batch) take
// turns, a step each: a step asks for the memory its next one needs and yields, so up to 16
// searches' cache misses overlap instead of following one another (FoundationDB's resolver
// interleaves its searches the same way).
//
// Levels are drawn from a generator of the object's own with a fixed seed: they shape only speed,
// never an answer, and a run replays them exactly.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "roles/common/types.h"

namespace roles {

class ConflictHistory {
 public:
  // What newest_write answers for keys nothing wrote.
  static constexpr Version kNever = std::numeric_limits<Version>::min();

  ConflictHistory();
  ~ConflictHistory();
  ConflictHistory(const ConflictHistory&) = delete;
  ConflictHistory& operator=(const ConflictHistory&) = delete;

  // The newest version that wrote a key of [begin, end), or one below oldest() (kNever at most)
  // if none did since. REQUIRES: begin < end.
  Version newest_write(std::string_view begin, std::string_view end) const;

  // A range to search, viewing keys held elsewhere.
  struct Range {
    std::string_view begin, end;
  };
  // newest_write(r.begin, r.end) for each range r of `ranges`, into `out` at the same index,
  // the searches interleaved (see above); kNever for an empty or inverted range, which holds no
  // key. REQUIRES: out.size() == ranges.size().
  void newest_writes(std::span<const Range> ranges, std::span<Version> out) const;

  // Records that `version` wrote every key of [begin, end). REQUIRES: begin < end, and `version`
  // at least every version recorded before.
  void add_write(std::string_view begin, std::string_view end, Version version);

  // Writes below `oldest` need no longer be told apart from none: no read older than `oldest` is
  // checked again (the resolver answers those transaction_too_old). Merges at most `budget`
  // boundaries' worth, from where the last call stopped, wrapping round; call it once per batch.
  void forget_before(Version oldest, size_t budget = 64);

  // Writes below this may read as none. Never falls.
  Version oldest() const { return oldest_; }
  // The boundaries held (the step function's steps): what memory follows.
  size_t boundaries() const { return boundaries_; }
  // Walks the whole list and asserts its links and their versions. For tests. O(n log n).
  void check_invariants() const;

 private:
  struct Node;
  static constexpr int kLevels = 26;  // 2^26 boundaries before searches slow down

  int random_level();
  // The last node at each level whose key is below `key` (or at most `key`, if `inclusive`).
  void predecessors(std::string_view key, bool inclusive, Node* (&out)[kLevels]) const;
  // Makes sure a boundary sits at `key` (splitting the step that holds it); returns its node.
  Node* boundary_at(std::string_view key);
  // The newest version among the nodes from `n` up to its link at `level` (exclusive), from the
  // links a level down.
  static Version span_newest(const Node* n, int level);

  // The nodes with more than kExpressLevels levels (one in 2^kExpressLevels), by key, beside the
  // list: a search binary-searches this small array (it stays in cache) for where to start, then
  // descends the last kExpressLevels levels from there, instead of all of them from the head.
  static constexpr int kExpressLevels = 8;
  struct Express {
    uint64_t prefix;
    Node* node;
  };
  void express_insert(Node* n);
  void express_erase(const Node* n);
  // The last node with more than kExpressLevels levels whose key is at most `key`.
  Node* express_start(uint64_t prefix, std::string_view key) const;

  // One search of newest_write, as a resumable state: it descends to the node holding `begin`,
  // then spans the range along the longest links that stay inside it.
  struct Search {
    const Node* x;
    int level;  // descending: the level being searched
    bool spanning;
    uint64_t begin_prefix, end_prefix;
    std::string_view begin, end;
    Version newest;
  };
  Search start_search(std::string_view begin, std::string_view end) const;
  // Takes one step that moves to another node (or finishes): true when `s.newest` is the
  // answer. The node moved to is prefetched, so the next step on `s` need not wait for it.
  static bool step(Search& s);

  Node* head_;  // key "": the step below every key
  std::vector<Express> express_;
  Version newest_ = kNever;
  Version oldest_ = kNever;
  size_t boundaries_ = 1;
  std::string forget_cursor_;  // where forget_before resumes
  uint64_t level_state_ = 0x9e3779b97f4a7c15ULL;
};

}  // namespace roles
