#pragma once
// ReferenceKeyValueStore — the simplest IKeyValueStore that can be right: a std::map, and a copy
// of it taken at each commit standing in for the disk. The conformance suite runs against it too,
// so the suite's own expectations are checked against an obviously correct model.

#include <algorithm>
#include <map>
#include <memory>
#include <string>

#include "flow/error.h"
#include "storage/key_value_store.h"

namespace storage_testing {

using Map = std::map<std::string, std::string, std::less<>>;

// What survives a "crash": each store's state as of its last commit.
struct ReferenceDisk {
  std::map<std::string, Map> committed;
};

class ReferenceKeyValueStore final : public storage::IKeyValueStore {
 public:
  ReferenceKeyValueStore(ReferenceDisk& disk, std::string name, storage::KeyValueStoreOptions o)
      : disk_(disk), name_(std::move(name)), options_(o), data_(disk.committed[name_]) {}

  std::string_view engine() const override { return "reference"; }
  void set(std::string_view key, std::string_view value) override {
    storage::check_key_value_sizes(options_, key, value);
    data_[std::string(key)] = std::string(value);
  }
  void clear(std::string_view begin, std::string_view end) override {
    storage::check_range_key_sizes(options_, begin, end);
    if (begin < end) data_.erase(data_.lower_bound(begin), data_.lower_bound(end));
  }
  void commit() override { disk_.committed[name_] = data_; }
  std::optional<std::string> read_value(std::string_view key) override {
    auto it = data_.find(key);
    if (it == data_.end()) return std::nullopt;
    return it->second;
  }
  storage::RangeResult read_range(std::string_view begin, std::string_view end,
                                  storage::RangeLimits limits) override {
    storage::RangeResult r;
    if (!(begin < end) || limits.rows <= 0) return r;
    std::vector<storage::KeyValue> all;
    for (auto it = data_.lower_bound(begin); it != data_.lower_bound(end); ++it)
      all.push_back({it->first, it->second});
    if (limits.reverse) std::reverse(all.begin(), all.end());
    int64_t bytes = 0;
    for (size_t i = 0; i < all.size(); ++i) {
      if (static_cast<int64_t>(r.rows.size()) >= limits.rows || bytes >= limits.bytes) {
        r.more = true;
        break;
      }
      bytes += static_cast<int64_t>(all[i].key.size() + all[i].value.size());
      r.rows.push_back(all[i]);
    }
    return r;
  }
  storage::StorageBytes storage_bytes() override {
    int64_t live = 0;
    for (const auto& [k, v] : data_)
      live += static_cast<int64_t>(k.size() + v.size());
    return {live, live};
  }

 private:
  ReferenceDisk& disk_;
  std::string name_;
  storage::KeyValueStoreOptions options_;
  Map data_;
};

}  // namespace storage_testing
