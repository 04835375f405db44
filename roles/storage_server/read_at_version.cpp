#include "roles/storage_server/read_at_version.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "flow/error.h"

namespace roles {

std::optional<std::string> read_value_at(storage::IKeyValueStore& engine, const VersionedData& data,
                                         std::string_view key, Version v) {
  if (v < data.durable()) throw flow::Error(flow::ErrorCode::transaction_too_old);
  const VersionedData::Lookup l = data.lookup(key, v);
  if (l.kind == VersionedData::Kind::kValue) return std::string(l.value);
  if (l.kind == VersionedData::Kind::kAbsent) return std::nullopt;
  return engine.read_value(key);
}

storage::RangeResult read_range_at(storage::IKeyValueStore& engine, const VersionedData& data,
                                   std::string_view begin, std::string_view end, Version v,
                                   storage::RangeLimits limits) {
  storage::RangeResult out;
  if (!(begin < end) || limits.rows <= 0) return out;
  int64_t bytes = 0;
  bool full = false;  // a limit is reached: the next row found only sets `more`
  // The part of the range not yet read: [lo, hi).
  std::string lo(begin), hi(end);
  // Engine rows are read in chunks; rows the memory clears or overrides do not count, so a
  // chunk may give fewer rows than it read, and the loop reads on.
  const int64_t chunk_rows = std::max<int64_t>(16, std::min<int64_t>(limits.rows, 1000) + 1);
  for (;;) {
    storage::RangeResult chunk =
        engine.read_range(lo, hi, {.rows = chunk_rows, .bytes = INT64_MAX, .reverse = limits.reverse});
    // The keys this chunk settles: up to its last row if it stopped early, else all that was left.
    std::string settled_lo = lo, settled_hi = hi;
    if (chunk.more && !chunk.rows.empty()) {
      if (limits.reverse) settled_lo = chunk.rows.back().key;
      else settled_hi = chunk.rows.back().key + '\0';
    }
    // A flush may have taken versions up to and past `v` while the engine read waited: the
    // memory no longer knows what `v` saw.
    if (v < data.durable()) throw flow::Error(flow::ErrorCode::transaction_too_old);
    // The engine's rows and the memory's keys of [settled_lo, settled_hi), merged in order.
    std::vector<std::string_view> memory = data.keys_set_in(settled_lo, settled_hi);
    if (limits.reverse) std::reverse(memory.begin(), memory.end());
    const auto before = [&](std::string_view a, std::string_view b) {
      return limits.reverse ? b < a : a < b;
    };
    size_t e = 0, m = 0;
    while (e < chunk.rows.size() || m < memory.size()) {
      std::string_view key;
      const std::string* engine_value = nullptr;
      if (m == memory.size() || (e < chunk.rows.size() && before(chunk.rows[e].key, memory[m]))) {
        key = chunk.rows[e].key;
        engine_value = &chunk.rows[e].value;
        ++e;
      } else if (e < chunk.rows.size() && chunk.rows[e].key == memory[m]) {
        key = memory[m];
        engine_value = &chunk.rows[e].value;
        ++e;
        ++m;
      } else {
        key = memory[m];
        ++m;
      }
      const VersionedData::Lookup l = data.lookup(key, v);
      std::optional<std::string_view> value;
      if (l.kind == VersionedData::Kind::kValue) value = l.value;
      else if (l.kind == VersionedData::Kind::kEngine && engine_value) value = *engine_value;
      if (!value) continue;
      if (full) {
        out.more = true;  // a row beyond the limit exists
        return out;
      }
      out.rows.push_back({std::string(key), std::string(*value)});
      bytes += static_cast<int64_t>(key.size() + value->size());
      full = static_cast<int64_t>(out.rows.size()) >= limits.rows || bytes >= limits.bytes;
    }
    if (!chunk.more) return out;
    if (limits.reverse) hi = settled_lo;
    else lo = settled_hi;
  }
}

}  // namespace roles
