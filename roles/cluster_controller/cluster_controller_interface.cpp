#include "roles/cluster_controller/cluster_controller_interface.h"

#include <algorithm>
#include <vector>

#include "roles/common/database_lock.h"
#include "roles/worker/interface_wire.h"

namespace roles {

namespace {

// net::well_known_token(kControllerTokens + n): "CC".
constexpr uint64_t kControllerTokens = 0x4343'0000;

template <class Stream>
Stream stream(const flow::NetworkAddress* at, uint64_t n) {
  if (at == nullptr) return Stream::well_known(net::well_known_token(kControllerTokens + n));
  return Stream(net::Endpoint{*at, net::well_known_token(kControllerTokens + n)});
}

}  // namespace

ClusterControllerInterface cluster_controller_endpoints(const flow::NetworkAddress* at) {
  return {stream<LockDatabaseStream>(at, 0), stream<ChangeCoordinatorsStream>(at, 1), stream<ConfigureStream>(at, 2),
          stream<OpenDatabaseStream>(at, 3), stream<RegisterWorkerStream>(at, 4), stream<StatusStream>(at, 5)};
}

wire_cc::OpenDatabaseReplyT to_wire(const ClientGeneration& g) {
  wire_cc::OpenDatabaseReplyT w;
  w.generation = g.epoch;
  w.cluster = g.cluster;
  for (const GrvProxyInterface& i : g.grv_proxies)
    w.grv_proxies.push_back(std::make_unique<wire_worker::GrvProxyInterfaceT>(to_wire(i)));
  for (const CommitProxyInterface& i : g.commit_proxies)
    w.commit_proxies.push_back(std::make_unique<wire_worker::CommitProxyInterfaceT>(to_wire(i)));
  return w;
}

std::optional<ClientGeneration> from_wire(const wire_cc::OpenDatabaseReplyT& w) {
  ClientGeneration g;
  g.epoch = w.generation;
  g.cluster = w.cluster;
  for (const auto& i : w.grv_proxies) {
    std::optional<GrvProxyInterface> read = from_wire_ptr(i);
    if (!read) return std::nullopt;
    g.grv_proxies.push_back(std::move(*read));
  }
  for (const auto& i : w.commit_proxies) {
    std::optional<CommitProxyInterface> read = from_wire_ptr(i);
    if (!read) return std::nullopt;
    g.commit_proxies.push_back(std::move(*read));
  }
  if (g.epoch == 0 ? !g.grv_proxies.empty() || !g.commit_proxies.empty()
                   : g.grv_proxies.empty() || g.commit_proxies.empty())
    return std::nullopt;
  return g;
}

flow::ErrorOr<std::string> lock_after(std::string_view held, const wire_cc::LockDatabaseRequestT& request) {
  const std::string uid(request.uid.begin(), request.uid.end());
  if (!lock_uid_ok(uid)) return flow::Error(flow::ErrorCode::invalid_option_value);
  if (!held.empty() && held != uid) return flow::Error(flow::ErrorCode::database_locked);
  return request.lock ? uid : std::string();
}

flow::ErrorOr<RoleCounts> parse_configuration(std::string_view text, RoleCounts current, std::string* why) {
  const auto invalid = [why](std::string what) -> flow::ErrorOr<RoleCounts> {
    if (why != nullptr) *why = std::move(what);
    return flow::Error(flow::ErrorCode::invalid_option_value);
  };
  RoleCounts out = current;
  std::vector<std::string_view> seen;
  size_t words = 0;
  for (size_t begin = 0; begin < text.size();) {
    if (text[begin] == ' ') {
      ++begin;
      continue;
    }
    const size_t end = std::min(text.find(' ', begin), text.size());
    const std::string_view word = text.substr(begin, end - begin);
    begin = end;
    ++words;
    const size_t eq = word.find('=');
    const std::string_view name = word.substr(0, eq);
    int* count = name == "grv_proxies" ? &out.grv_proxies
                 : name == "commit_proxies" ? &out.commit_proxies
                 : name == "logs" ? &out.logs
                 : name == "resolvers" ? &out.resolvers
                                  : nullptr;
    if (count == nullptr || eq == std::string_view::npos) {
      return invalid("'" + std::string(word) +
                     "' is not grv_proxies=N, commit_proxies=N, logs=N or resolvers=N (changes of redundancy "
                     "and engine need data movement, not built yet)");
    }
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) return invalid(std::string(name) + " is given twice");
    seen.push_back(name);
    const std::string_view digits = word.substr(eq + 1);
    int n = 0;
    const bool numeric = !digits.empty() && digits.size() <= 2 &&
                         std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (numeric) for (char c : digits) n = n * 10 + (c - '0');
    if (!numeric || n < 1 || n > kRoleCountMax)
      return invalid(std::string(name) + " must be 1.." + std::to_string(kRoleCountMax) + ", not '" + std::string(digits) + "'");
    *count = n;
  }
  if (words == 0) return invalid("nothing to change");
  return out;
}

namespace {

// The words of `text`, split at spaces.
std::vector<std::string_view> words_of(std::string_view text) {
  std::vector<std::string_view> out;
  for (size_t begin = 0; begin < text.size();) {
    if (text[begin] == ' ') {
      ++begin;
      continue;
    }
    const size_t end = std::min(text.find(' ', begin), text.size());
    out.push_back(text.substr(begin, end - begin));
    begin = end;
  }
  return out;
}

}  // namespace

bool is_new_database(std::string_view text) {
  const std::vector<std::string_view> words = words_of(text);
  return !words.empty() && words.front() == "new";
}

flow::ErrorOr<NewDatabase> parse_new_database(std::string_view text, std::string* why) {
  const auto invalid = [why](std::string what) -> flow::ErrorOr<NewDatabase> {
    if (why != nullptr) *why = std::move(what);
    return flow::Error(flow::ErrorCode::invalid_option_value);
  };
  const std::vector<std::string_view> words = words_of(text);
  if (words.empty() || words.front() != "new") return invalid("a new database's configuration begins with 'new'");
  NewDatabase out;
  bool replication_given = false, engine_given = false;
  std::string counts;
  for (size_t i = 1; i < words.size(); ++i) {
    const std::string_view w = words[i];
    const int replication = w == "single" ? 1 : w == "double" ? 2 : w == "triple" ? 3 : 0;
    const std::string_view engine = w == "memory" || w == "memory-2" ? "memory" : w == "ssd" || w == "ssd-2" ? "ssd" : "";
    if (replication > 0) {
      if (replication_given) return invalid("the redundancy mode is given twice");
      replication_given = true;
      out.replication = replication;
    } else if (!engine.empty()) {
      if (engine_given) return invalid("the storage engine is given twice");
      engine_given = true;
      out.engine = std::string(engine);
    } else if (w == "new") {
      return invalid("'new' is given twice");
    } else if (w.find('=') == std::string_view::npos) {
      return invalid("'" + std::string(w) +
                     "' is not a redundancy mode (single, double, triple), a storage engine (memory, ssd) or a role "
                     "count (grv_proxies=N, commit_proxies=N, logs=N, resolvers=N)");
    } else {
      counts += std::string(w) + " ";
    }
  }
  if (!counts.empty()) {
    const flow::ErrorOr<RoleCounts> c = parse_configuration(counts, {}, why);
    if (!c.ok()) return c.error();
    out.counts = c.get();
  }
  return out;
}

}  // namespace roles
