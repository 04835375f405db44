#include "storage/key_value_store.h"

#include <algorithm>

#include "flow/error.h"
#include "flow/trace_event.h"
#include "storage/memory_key_value_store.h"
#include "storage/ssd_key_value_store.h"

namespace storage {

using flow::Error;
using flow::ErrorCode;

void check_key_value_sizes(const KeyValueStoreOptions& options, std::string_view key,
                           std::string_view value) {
  if (key.size() > options.max_key_bytes) throw Error(ErrorCode::key_too_large);
  if (value.size() > options.max_value_bytes) throw Error(ErrorCode::value_too_large);
}

void check_range_key_sizes(const KeyValueStoreOptions& options, std::string_view begin,
                           std::string_view end) {
  if (std::max(begin.size(), end.size()) > options.max_key_bytes + 1)
    throw Error(ErrorCode::key_too_large);
}

std::unique_ptr<IKeyValueStore> open_key_value_store(std::string_view engine, flow::IFileSystem& fs,
                                                     const std::string& name,
                                                     KeyValueStoreOptions options) {
  if (engine == "memory") return MemoryKeyValueStore::open(fs, name, options);
  if (engine == "ssd") return SsdKeyValueStore::open(fs, name, options);
  flow::TraceEvent(flow::SevWarnAlways, "UnknownStorageEngine").detail("Engine", engine);
  throw Error(ErrorCode::invalid_option_value);
}

}  // namespace storage
