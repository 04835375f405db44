#pragma once
// What a range read asks for (RangeLimits) and gets back (RangeResult).

#include <cstdint>
#include <string>
#include <vector>

namespace client {

struct KeyValue {
  std::string key;
  std::string value;
  friend bool operator==(const KeyValue&, const KeyValue&) = default;
};

struct RangeLimits {
  // At most this many rows; 0: no limit.
  int64_t rows = 0;
  // Stop after the row that brings the sum of key and value sizes to at least this many (so at
  // least one row comes back whenever one exists); 0: no limit.
  int64_t bytes = 0;
  // Read from the end of the range backwards (rows come back in descending order).
  bool reverse = false;
};

struct RangeResult {
  std::vector<KeyValue> rows;  // ascending, or descending when read in reverse
  // A limit stopped the read: rows may remain after the last one returned (read on from it).
  bool more = false;
};

}  // namespace client
