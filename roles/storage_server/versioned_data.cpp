#include "roles/storage_server/versioned_data.h"

#include "flow/assert.h"

namespace roles {

void VersionedData::set(Version v, std::string_view key, std::string_view value) {
  ASSERT_GT(v, durable_);
  ASSERT_GE(v, latest_);
  latest_ = v;
  const uint64_t s = next_sequence_++;
  auto it = sets_.find(key);
  if (it == sets_.end()) it = sets_.emplace(std::string(key), std::map<uint64_t, Set>()).first;
  it->second.emplace(s, Set{v, std::string(value)});
  applied_.push_back({v, s, true, std::string(key)});
  bytes_ += static_cast<int64_t>(2 * key.size() + value.size());
}

void VersionedData::clear(Version v, std::string_view begin, std::string_view end) {
  ASSERT_GT(v, durable_);
  ASSERT_GE(v, latest_);
  latest_ = v;
  if (!(begin < end)) return;
  const uint64_t s = next_sequence_++;
  clears_.emplace(s, Clear{v, std::string(begin), std::string(end)});
  applied_.push_back({v, s, false, {}});
  bytes_ += static_cast<int64_t>(begin.size() + end.size());
}

void VersionedData::advance(Version v) {
  ASSERT_GE(v, latest_);
  latest_ = v;
}

VersionedData::Lookup VersionedData::lookup(std::string_view key, Version v) const {
  ASSERT_GE(v, durable_);
  // The newest set at or before v, and its sequence (0: none in memory).
  uint64_t after = 0;
  const Set* found = nullptr;
  if (auto it = sets_.find(key); it != sets_.end()) {
    for (auto s = it->second.rbegin(); s != it->second.rend(); ++s) {
      if (s->second.version <= v) {
        after = s->first;
        found = &s->second;
        break;
      }
    }
  }
  // A clear applied after that set, at or before v, that covers the key.
  for (auto c = clears_.upper_bound(after); c != clears_.end() && c->second.version <= v; ++c) {
    if (c->second.begin <= key && key < c->second.end) return {Kind::kAbsent, {}};
  }
  if (found) return {Kind::kValue, found->value};
  return {Kind::kEngine, {}};
}

std::vector<std::string_view> VersionedData::keys_set_in(std::string_view begin,
                                                         std::string_view end) const {
  std::vector<std::string_view> out;
  if (!(begin < end)) return out;
  for (auto it = sets_.lower_bound(begin); it != sets_.end() && it->first < end; ++it)
    out.push_back(it->first);
  return out;
}

std::vector<VersionedMutation> VersionedData::mutations_through(Version v) const {
  std::vector<VersionedMutation> out;
  for (const Applied& a : applied_) {
    if (a.version > v) break;
    if (a.is_set) {
      out.push_back({a.version, {MutationType::kSet, a.key, sets_.find(a.key)->second.at(a.sequence).value}});
    } else {
      const Clear& c = clears_.at(a.sequence);
      out.push_back({a.version, {MutationType::kClearRange, c.begin, c.end}});
    }
  }
  return out;
}

Version VersionedData::step_towards(Version limit, size_t most) const {
  size_t taken = 0;
  Version through = durable_;
  for (size_t i = 0; i < applied_.size();) {
    const Version v = applied_[i].version;
    if (v > limit) break;
    size_t next = i;
    while (next < applied_.size() && applied_[next].version == v) ++next;
    if (through > durable_ && taken + (next - i) > most) return through;
    taken += next - i;
    through = v;
    i = next;
  }
  return limit;
}

void VersionedData::forget_through(Version v) {
  ASSERT_GE(v, durable_);
  ASSERT_LE(v, latest_);
  while (!applied_.empty() && applied_.front().version <= v) {
    erase(applied_.front());
    applied_.pop_front();
  }
  durable_ = v;
}

void VersionedData::rollback(Version v) {
  ASSERT_GE(v, durable_);
  ASSERT_LE(v, latest_);
  while (!applied_.empty() && applied_.back().version > v) {
    erase(applied_.back());
    applied_.pop_back();
  }
  latest_ = v;
}

void VersionedData::erase(const Applied& a) {
  if (a.is_set) {
    auto it = sets_.find(a.key);
    auto s = it->second.find(a.sequence);
    bytes_ -= static_cast<int64_t>(2 * a.key.size() + s->second.value.size());
    it->second.erase(s);
    if (it->second.empty()) sets_.erase(it);
  } else {
    auto c = clears_.find(a.sequence);
    bytes_ -= static_cast<int64_t>(c->second.begin.size() + c->second.end.size());
    clears_.erase(c);
  }
}

void VersionedData::check_invariants() const {
  ASSERT_LE(durable_, latest_);
  ASSERT_GE(bytes_, 0);
  size_t sets = 0;
  for (const auto& [key, by_sequence] : sets_) {
    ASSERT(!by_sequence.empty());
    sets += by_sequence.size();
  }
  ASSERT_EQ(sets + clears_.size(), applied_.size());
  for (size_t i = 0; i < applied_.size(); ++i) {
    ASSERT_GT(applied_[i].version, durable_);
    ASSERT_LE(applied_[i].version, latest_);
    if (i > 0) ASSERT_LT(applied_[i - 1].sequence, applied_[i].sequence);
  }
}

}  // namespace roles
