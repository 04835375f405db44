// kv-bench — one driver for Strata and etcd (scripts/bench-vs-etcd): the same operations, the same
// concurrency, the same client code shape, so the two are compared on the store, not the driver.
//
//   kv-bench --strata CLUSTER_FILE              [--clients N] [--seconds S] [--keys K]
//   [--value-bytes B] [--json] kv-bench --etcd 127.0.0.1:2379,127.0.0.1:2380,...   (the same
//   options)
//
// Phases, each --seconds long after loading --keys keys:
//   writes  each client sets one random key per operation (Strata: a transaction of one set;
//           etcd: a v3 put), waiting for it to be acknowledged before the next
//   reads   each client reads one random key per operation (Strata: a read-only transaction, a
//           read version then a get: strictly serializable; etcd: a v3 range, linearizable, its
//           default)
// Figures: writes_per_s, write_p50_ms, write_p99_ms, reads_per_s, read_p50_ms, read_p99_ms.
// etcd is reached through its v3 HTTP/JSON gateway, one keep-alive connection per client, the
// clients spread over the members; Strata through client::Database. One flow thread drives both.

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "bench/latency.h"
#include "client/database.h"
#include "client/transaction.h"
#include "embed/client.h"
#include "flow/flow.h"
#include "flow/network.h"
#include "net/asio/asio_world.h"
#include "programs/command_line.h"

namespace {

using bench::ms;
using bench::percentile;

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

std::string base64(std::string_view bytes) {
  static constexpr char kDigits[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t n =
        (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    out += {kDigits[n >> 18], kDigits[(n >> 12) & 63], kDigits[(n >> 6) & 63], kDigits[n & 63]};
  }
  if (i + 1 == bytes.size()) {
    const uint32_t n = uint8_t(bytes[i]) << 16;
    out += {kDigits[n >> 18], kDigits[(n >> 12) & 63], '=', '='};
  } else if (i + 2 == bytes.size()) {
    const uint32_t n = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8);
    out += {kDigits[n >> 18], kDigits[(n >> 12) & 63], kDigits[(n >> 6) & 63], '='};
  }
  return out;
}

// One keep-alive HTTP/1.1 connection to an etcd member, one request at a time. May suspend.
class HttpConnection {
 public:
  explicit HttpConnection(flow::NetworkAddress peer) : peer_(peer) {}

  // POSTs `body` (JSON) to `path`; returns the response's body. Throws connection_failed, or
  // operation_failed for a status other than 200.
  std::string post(std::string_view path, const std::string& body) {
    if (!connection_) connection_ = flow::wait(flow::current_process().network().connect(peer_));
    const std::string request = fmt::format(
        "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: "
        "{}\r\n\r\n{}",
        path, peer_.to_string(), body.size(), body);
    flow::wait(connection_->write(
        std::span(reinterpret_cast<const uint8_t*>(request.data()), request.size())));
    // Headers, then a body of Content-Length bytes or chunks.
    size_t header_end;
    while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos)
      read_more();
    const std::string headers = buffer_.substr(0, header_end);
    buffer_.erase(0, header_end + 4);
    const bool ok = headers.rfind("HTTP/1.1 200", 0) == 0;
    std::string body_out;
    std::string lower = headers;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    if (const size_t at = lower.find("content-length:"); at != std::string::npos) {
      const size_t length = std::stoul(lower.substr(at + 15));
      while (buffer_.size() < length)
        read_more();
      body_out = buffer_.substr(0, length);
      buffer_.erase(0, length);
    } else if (lower.find("transfer-encoding: chunked") != std::string::npos) {
      for (;;) {
        size_t line_end;
        while ((line_end = buffer_.find("\r\n")) == std::string::npos)
          read_more();
        const size_t chunk = std::stoul(buffer_.substr(0, line_end), nullptr, 16);
        while (buffer_.size() < line_end + 2 + chunk + 2)
          read_more();
        body_out += buffer_.substr(line_end + 2, chunk);
        buffer_.erase(0, line_end + 2 + chunk + 2);
        if (chunk == 0) break;
      }
    }
    if (!ok) throw flow::Error(flow::ErrorCode::operation_failed);
    return body_out;
  }

 private:
  void read_more() {
    uint8_t chunk[16384];
    const size_t n = flow::wait(connection_->read_some(std::span(chunk, sizeof(chunk))));
    buffer_.append(reinterpret_cast<const char*>(chunk), n);
  }

  flow::NetworkAddress peer_;
  std::shared_ptr<flow::IConnection> connection_;
  std::string buffer_;
};

// The operations a client does, on either store.
class Store {
 public:
  virtual ~Store() = default;
  // May suspend.
  virtual void set(int client, const std::string& key, const std::string& value) = 0;
  // Whether the key was found. May suspend.
  virtual bool get(int client, const std::string& key) = 0;
};

class StrataStore final : public Store {
 public:
  explicit StrataStore(const roles::ClusterDescription& cluster) : db_(cluster) {}
  void set(int, const std::string& key, const std::string& value) override {
    db_.run([&](client::Transaction& t) { t.set(key, value); });
  }
  bool get(int, const std::string& key) override {
    return db_.run([&](client::Transaction& t) { return t.get(key).has_value(); });
  }

 private:
  client::Database db_;
};

class EtcdStore final : public Store {
 public:
  EtcdStore(const std::vector<flow::NetworkAddress>& members, int clients) {
    for (int c = 0; c < clients; ++c)
      connections_.push_back(std::make_unique<HttpConnection>(members[c % members.size()]));
  }
  void set(int client, const std::string& key, const std::string& value) override {
    connections_[client]->post(
        "/v3/kv/put", fmt::format(R"({{"key":"{}","value":"{}"}})", base64(key), base64(value)));
  }
  bool get(int client, const std::string& key) override {
    const std::string body =
        connections_[client]->post("/v3/kv/range", fmt::format(R"({{"key":"{}"}})", base64(key)));
    return body.find("\"kvs\"") != std::string::npos;
  }

 private:
  std::vector<std::unique_ptr<HttpConnection>> connections_;
};

struct Options {
  std::string strata_cluster_file;
  std::string etcd_endpoints;
  int clients = 64;
  double seconds = 5;
  int64_t keys = 10'000;
  int value_bytes = 100;
  bool json = false;
};

std::string key(int64_t i) {
  return fmt::format("bench/{:012}", i);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"kv-bench: single-key writes and reads against Strata or etcd, from the same driver",
               "kv-bench"};
  auto* strata = app.add_option("--strata", o.strata_cluster_file, "a Strata cluster file");
  auto* etcd = app.add_option("--etcd", o.etcd_endpoints,
                              "etcd members' client addresses, a.b.c.d:port,...");
  strata->excludes(etcd);
  app.add_option("--clients", o.clients, "concurrent clients")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  app.add_option("--seconds", o.seconds, "seconds per phase")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  app.add_option("--keys", o.keys, "keys loaded first")
      ->check(CLI::Range(int64_t{1}, int64_t{100'000'000}))
      ->capture_default_str();
  app.add_option("--value-bytes", o.value_bytes, "bytes per value")
      ->check(CLI::Range(0, 100'000))
      ->capture_default_str();
  app.add_flag("--json", o.json, "print the figures as one JSON object");
  programs::parse_or_exit(app, argc, argv);
  if (o.strata_cluster_file.empty() == o.etcd_endpoints.empty()) {
    std::fprintf(stderr, "kv-bench: give --strata CLUSTER_FILE or --etcd ENDPOINTS\n");
    return 2;
  }
  std::optional<roles::ClusterDescription> cluster;
  std::vector<flow::NetworkAddress> members;
  if (!o.strata_cluster_file.empty()) {
    std::string why;
    flow::ErrorOr<roles::ClusterDescription> d =
        embed::read_cluster_file(o.strata_cluster_file, &why);
    if (!d.ok()) {
      std::fprintf(stderr, "kv-bench: %s\n", why.c_str());
      return 2;
    }
    cluster = d.get();
  } else {
    for (size_t begin = 0; begin < o.etcd_endpoints.size();) {
      const size_t end = std::min(o.etcd_endpoints.find(',', begin), o.etcd_endpoints.size());
      const flow::ErrorOr<flow::NetworkAddress> a =
          flow::NetworkAddress::parse(o.etcd_endpoints.substr(begin, end - begin));
      if (!a.ok()) {
        std::fprintf(stderr, "kv-bench: '%s' is not a.b.c.d:port\n",
                     o.etcd_endpoints.substr(begin, end - begin).c_str());
        return 2;
      }
      members.push_back(a.get());
      begin = end + 1;
    }
  }
  std::vector<double> write_ms, read_ms;
  double writes_per_s = 0, reads_per_s = 0;
  try {
    net::AsioWorld world;
    flow::RuntimeOptions ro;
    ro.seed = std::random_device{}();
    ro.simulated = false;
    ro.reactor = &world.reactor();
    flow::Runtime rt(ro);
    world.attach(rt.main_process());
    rt.run([&] {
      std::unique_ptr<Store> store;
      if (cluster)
        store = std::make_unique<StrataStore>(*cluster);
      else
        store = std::make_unique<EtcdStore>(members, o.clients);
      auto& rng = flow::deterministic_random();
      const std::string value(static_cast<size_t>(o.value_bytes), 'v');
      // Load: the clients share the keys.
      {
        std::vector<flow::Future<flow::Void>> loaders;
        for (int c = 0; c < o.clients; ++c)
          loaders.push_back(flow::spawn([&, c] {
            for (int64_t i = c; i < o.keys; i += o.clients)
              store->set(c, key(i), value);
          }));
        flow::wait(flow::wait_all(loaders));
      }
      // Runs `op(client)` in every client for o.seconds; returns operations per second.
      const auto phase = [&](auto op, std::vector<double>& latencies) {
        bool stop = false;
        int64_t done = 0;
        const auto start = Clock::now();
        std::vector<flow::Future<flow::Void>> clients;
        for (int c = 0; c < o.clients; ++c)
          clients.push_back(flow::spawn([&, c] {
            while (!stop) {
              const auto t0 = Clock::now();
              op(c);
              latencies.push_back(ms(Clock::now() - t0));
              ++done;
            }
          }));
        flow::wait(flow::delay(
            std::chrono::duration_cast<flow::Duration>(std::chrono::duration<double>(o.seconds))));
        stop = true;
        flow::wait(flow::wait_all(clients));
        return static_cast<double>(done) /
               std::chrono::duration<double>(Clock::now() - start).count();
      };
      writes_per_s =
          phase([&](int c) { store->set(c, key(rng.random_int(0, o.keys)), value); }, write_ms);
      reads_per_s = phase(
          [&](int c) {
            if (!store->get(c, key(rng.random_int(0, o.keys))))
              throw flow::Error(flow::ErrorCode::operation_failed);
          },
          read_ms);
    });
  } catch (const flow::Error& e) {
    std::fprintf(stderr, "kv-bench: failed: %s (%s)\n", std::string(e.name()).c_str(),
                 std::string(e.description()).c_str());
    return 1;
  }
  const std::string target = cluster ? "strata" : "etcd";
  const std::vector<std::pair<std::string, double>> figures{
      {"writes_per_s", writes_per_s},
      {"write_p50_ms", percentile(write_ms, 0.5)},
      {"write_p99_ms", percentile(write_ms, 0.99)},
      {"reads_per_s", reads_per_s},
      {"read_p50_ms", percentile(read_ms, 0.5)},
      {"read_p99_ms", percentile(read_ms, 0.99)}};
  if (o.json) {
    std::string out = fmt::format(
        "{{\"target\": \"{}\", \"clients\": {}, \"seconds\": {}, \"keys\": {}, \"value_bytes\": {}",
        target, o.clients, o.seconds, o.keys, o.value_bytes);
    for (const auto& [name, v] : figures)
      out += fmt::format(", \"{}\": {:.3f}", name, v);
    std::printf("%s}\n", out.c_str());
  } else {
    std::printf("kv-bench: %s, %d clients, %.1f s per phase, %lld keys of %d-byte values\n",
                target.c_str(), o.clients, o.seconds, static_cast<long long>(o.keys),
                o.value_bytes);
    for (const auto& [name, v] : figures)
      std::printf("  %-14s %12.3f\n", name.c_str(), v);
  }
  return 0;
}
