#include "roles/resolver/conflict_history.h"

#include <algorithm>
#include <iterator>
#include <memory>
#include <new>

#include "flow/assert.h"

namespace roles {

namespace {

// A key's first 8 bytes as a big-endian number, zeros past its end: when two keys' prefixes
// differ, they order the keys; when equal, the keys themselves must be compared.
uint64_t key_prefix(std::string_view key) {
  uint64_t p = 0;
  for (size_t i = 0; i < 8; ++i)
    p = (p << 8) | (i < key.size() ? static_cast<uint8_t>(key[i]) : 0u);
  return p;
}

// Whether the key `a` (whose prefix is `pa`) is below `b` (prefix `pb`); or at most `b`. The keys
// are taken by reference and read only when the prefixes tie: a node's key is read only then,
// so a search that compares against a link's prefix does not wait for the node it points to.
template <class A, class B>
bool key_less(uint64_t pa, const A& a, uint64_t pb, const B& b) {
  return pa != pb ? pa < pb : std::string_view(a) < std::string_view(b);
}
template <class A, class B>
bool key_at_most(uint64_t pa, const A& a, uint64_t pb, const B& b) {
  return pa != pb ? pa < pb : std::string_view(a) <= std::string_view(b);
}

}  // namespace

// A node and its links, in one allocation: the links follow the node, so that a search step
// touches one block of memory, not two.
struct ConflictHistory::Node {
  struct Link {
    Node* next = nullptr;
    // The newest version among the nodes from this one up to `next` (exclusive).
    Version newest = kNever;
    // next's key prefix, here so that a search compares most keys without touching their node.
    uint64_t next_prefix = 0;
    void point_to(Node* n) {
      next = n;
      next_prefix = n != nullptr ? n->prefix : 0;
    }
  };
  static Node* make(std::string_view key, Version version, int levels) {
    static_assert(sizeof(Node) % alignof(Link) == 0 && alignof(Node) >= alignof(Link));
    void* memory = ::operator new(sizeof(Node) + sizeof(Link) * static_cast<size_t>(levels));
    Node* n = new (memory) Node(key, version, levels);
    for (int level = 0; level < levels; ++level)
      new (&n->links()[level]) Link{};
    return n;
  }
  static void destroy(Node* n) {
    n->~Node();
    ::operator delete(n);
  }
  Link* links() { return reinterpret_cast<Link*>(this + 1); }
  const Link* links() const { return reinterpret_cast<const Link*>(this + 1); }

  std::string key;
  uint64_t prefix;  // key_prefix(key)
  Version version;  // the newest write of the step [key, the next node's key)
  int levels;

 private:
  Node(std::string_view k, Version v, int level_count)
      : key(k), prefix(key_prefix(k)), version(v), levels(level_count) {}
};

ConflictHistory::ConflictHistory() : head_(Node::make("", kNever, kLevels)) { express_insert(head_); }

void ConflictHistory::express_insert(Node* n) {
  if (n->levels <= kExpressLevels) return;
  const auto at = std::partition_point(express_.begin(), express_.end(), [n](const Express& e) {
    return key_less(e.prefix, e.node->key, n->prefix, n->key);
  });
  express_.insert(at, Express{n->prefix, n});
}

void ConflictHistory::express_erase(const Node* n) {
  if (n->levels <= kExpressLevels) return;
  const auto at = std::partition_point(express_.begin(), express_.end(), [n](const Express& e) {
    return key_less(e.prefix, e.node->key, n->prefix, n->key);
  });
  ASSERT(at != express_.end() && at->node == n);
  express_.erase(at);
}

ConflictHistory::Node* ConflictHistory::express_start(uint64_t prefix, std::string_view key) const {
  const auto after = std::partition_point(express_.begin(), express_.end(), [&](const Express& e) {
    return key_at_most(e.prefix, e.node->key, prefix, key);
  });
  ASSERT(after != express_.begin());  // the head's key, "", is at most every key
  return std::prev(after)->node;
}

ConflictHistory::~ConflictHistory() {
  for (Node* n = head_; n != nullptr;) {
    Node* next = n->links()[0].next;
    Node::destroy(n);
    n = next;
  }
}

int ConflictHistory::random_level() {
  // splitmix64: one draw gives 64 coins; each level is half as likely as the one below. (Half,
  // not a quarter: with the next key's prefix in each link, a search pays for the nodes it moves
  // to, about one per level at a half and three at a quarter, over half as many levels.)
  uint64_t z = (level_state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  int level = 1;
  while (level < kLevels && (z & 1) == 0) {
    ++level;
    z >>= 1;
  }
  return level;
}

void ConflictHistory::predecessors(std::string_view key, bool inclusive,
                                   Node* (&out)[kLevels]) const {
  const uint64_t prefix = key_prefix(key);
  Node* x = head_;
  for (int level = kLevels - 1; level >= 0; --level) {
    for (;;) {
      const Node::Link& l = x->links()[level];
      if (l.next == nullptr) break;
      if (!(inclusive ? key_at_most(l.next_prefix, l.next->key, prefix, key)
                      : key_less(l.next_prefix, l.next->key, prefix, key)))
        break;
      x = l.next;
    }
    out[level] = x;
  }
}

Version ConflictHistory::span_newest(const Node* n, int level) {
  if (level == 0) return n->version;
  Version newest = kNever;
  for (const Node* y = n; y != n->links()[level].next; y = y->links()[level - 1].next)
    newest = std::max(newest, y->links()[level - 1].newest);
  return newest;
}

ConflictHistory::Node* ConflictHistory::boundary_at(std::string_view key) {
  Node* pred[kLevels];
  predecessors(key, /*inclusive=*/true, pred);
  if (pred[0]->key == key) return pred[0];
  // A new step boundary inside pred[0]'s step, with its version: spans above the new node's
  // levels keep their members' versions, so only the spans it splits are recomputed, bottom up.
  const int levels = random_level();
  Node* n = Node::make(key, pred[0]->version, levels);
  for (int level = 0; level < levels; ++level) {
    n->links()[level].point_to(pred[level]->links()[level].next);
    pred[level]->links()[level].point_to(n);
    n->links()[level].newest = span_newest(n, level);
    pred[level]->links()[level].newest = span_newest(pred[level], level);
  }
  express_insert(n);
  ++boundaries_;
  return n;
}

ConflictHistory::Search ConflictHistory::start_search(std::string_view begin,
                                                     std::string_view end) const {
  ASSERT(begin < end);
  Search s{.x = nullptr,
           .level = kExpressLevels - 1,
           .spanning = false,
           .begin_prefix = key_prefix(begin),
           .end_prefix = key_prefix(end),
           .begin = begin,
           .end = end,
           .newest = kNever};
  s.x = express_start(s.begin_prefix, begin);
  __builtin_prefetch(&s.x->links()[s.level]);
  return s;
}

bool ConflictHistory::step(Search& s) {
  if (!s.spanning) {
    for (;;) {
      const Node::Link& l = s.x->links()[s.level];
      if (l.next != nullptr && key_at_most(l.next_prefix, l.next->key, s.begin_prefix, s.begin)) {
        s.x = l.next;
        __builtin_prefetch(&s.x->links()[s.level]);
        return false;
      }
      if (s.level == 0) break;
      --s.level;
    }
    s.spanning = true;  // x holds `begin`, and is in cache: span from it at once
  }
  // Take the longest link from x that stays within the range.
  const Node::Link* links = s.x->links();
  int level = s.x->levels - 1;
  while (level >= 0 && !(links[level].next != nullptr &&
                         key_at_most(links[level].next_prefix, links[level].next->key,
                                     s.end_prefix, s.end)))
    --level;
  if (level < 0) {  // x's step runs past the range
    s.newest = std::max(s.newest, s.x->version);
    return true;
  }
  const Node::Link& l = links[level];
  s.newest = std::max(s.newest, l.newest);
  // The link ends at or before `end`: at it, the range is spanned.
  if (l.next_prefix == s.end_prefix && l.next->key == s.end) return true;
  s.x = l.next;
  __builtin_prefetch(&s.x->levels);
  __builtin_prefetch(s.x->links());
  return false;
}

Version ConflictHistory::newest_write(std::string_view begin, std::string_view end) const {
  Search s = start_search(begin, end);
  while (!step(s)) {
  }
  return s.newest;
}

void ConflictHistory::newest_writes(std::span<const Range> ranges,
                                    std::span<Version> out) const {
  ASSERT_EQ(ranges.size(), out.size());
  constexpr size_t kInFlight = 16;
  Search searches[kInFlight];
  size_t of[kInFlight];  // each search's index in `ranges`
  size_t active = 0, next = 0;
  // Starts the next nonempty range's search in `slot`; false if none is left.
  const auto start_next = [&](size_t slot) {
    for (; next < ranges.size(); ++next) {
      if (ranges[next].begin < ranges[next].end) {
        searches[slot] = start_search(ranges[next].begin, ranges[next].end);
        of[slot] = next++;
        return true;
      }
      out[next] = kNever;
    }
    return false;
  };
  while (active < kInFlight && start_next(active))
    ++active;
  for (size_t slot = 0; active > 0;) {
    if (step(searches[slot])) {
      out[of[slot]] = searches[slot].newest;
      if (!start_next(slot)) {
        // The last search takes this slot, and its turn comes now.
        --active;
        searches[slot] = searches[active];
        of[slot] = of[active];
        if (slot == active) slot = 0;
        continue;
      }
    }
    slot = slot + 1 == active ? 0 : slot + 1;
  }
}

void ConflictHistory::add_write(std::string_view begin, std::string_view end, Version version) {
  ASSERT(begin < end);
  ASSERT_GE(version, newest_);
  newest_ = version;
  Node* const end_node = boundary_at(end);  // the step after the range keeps its version
  Node* const begin_node = boundary_at(begin);
  Node* pred[kLevels];
  predecessors(begin, /*inclusive=*/true, pred);
  ASSERT(pred[0] == begin_node);
  // Every node strictly inside the range goes: the range is one step now. Every span holding
  // `begin` holds the newest version there is.
  Node* inside = begin_node->links()[0].next;
  for (int level = 0; level < kLevels; ++level) {
    Node* z = pred[level]->links()[level].next;
    while (z != nullptr && z->key < end)
      z = z->links()[level].next;
    pred[level]->links()[level].point_to(z);
    pred[level]->links()[level].newest = version;
  }
  while (inside != end_node) {
    Node* next = inside->links()[0].next;
    express_erase(inside);
    Node::destroy(inside);
    --boundaries_;
    inside = next;
  }
  begin_node->version = version;
}

void ConflictHistory::forget_before(Version oldest, size_t budget) {
  oldest_ = std::max(oldest_, oldest);
  Node* pred[kLevels];
  predecessors(forget_cursor_, /*inclusive=*/false, pred);
  Node* x = pred[0]->links()[0].next;
  for (size_t visited = 0; visited < budget && x != nullptr; ++visited) {
    Node* next = x->links()[0].next;
    if (x->version < oldest_ && pred[0]->version < oldest_) {
      // Two old steps side by side become one (the earlier one's version, also old): each span
      // that ended at x now runs to where x's did, with the newer of the two versions.
      for (int level = 0; level < x->levels; ++level) {
        pred[level]->links()[level].point_to(x->links()[level].next);
        pred[level]->links()[level].newest =
            std::max(pred[level]->links()[level].newest, x->links()[level].newest);
      }
      express_erase(x);
      Node::destroy(x);
      --boundaries_;
    } else {
      for (int level = 0; level < x->levels; ++level)
        pred[level] = x;
    }
    x = next;
  }
  if (x == nullptr) {
    forget_cursor_.clear();  // round again next time
  } else {
    forget_cursor_ = x->key;
  }
}

void ConflictHistory::check_invariants() const {
  ASSERT(head_->key.empty());
  size_t count = 0;
  for (const Node* n = head_; n != nullptr; n = n->links()[0].next) {
    ++count;
    ASSERT_LE(n->version, newest_);
    if (n->links()[0].next != nullptr) ASSERT(n->key < n->links()[0].next->key);
    for (int level = 0; level < n->levels; ++level) {
      // The link goes to the next node that has this level, and carries the newest version of
      // the nodes it jumps (or more, for steps merged below oldest()).
      const Node* y = n->links()[0].next;
      Version newest = n->version;
      while (y != nullptr && y->levels <= level) {
        newest = std::max(newest, y->version);
        y = y->links()[0].next;
      }
      ASSERT(n->links()[level].next == y);
      if (y != nullptr) ASSERT_EQ(n->links()[level].next_prefix, y->prefix);
      ASSERT_GE(n->links()[level].newest, newest);
      ASSERT(n->links()[level].newest == newest || n->links()[level].newest < oldest_);
    }
  }
  ASSERT_EQ(count, boundaries_);
  size_t e = 0;
  for (const Node* n = head_; n != nullptr; n = n->links()[0].next) {
    if (n->levels <= kExpressLevels) continue;
    ASSERT_LT(e, express_.size());
    ASSERT(express_[e].node == n);
    ASSERT_EQ(express_[e].prefix, n->prefix);
    ++e;
  }
  ASSERT_EQ(e, express_.size());
}

}  // namespace roles
