// Durability — checks the simulated disk's promise: synced bytes survive a power loss intact, and
// unsynced bytes come back as their old value or as the value of some write that covered them.
//
// A writer role on one machine keeps a file of fileBytes bytes: random writes, a sync now and then,
// and read-backs that must match every completed write. The workload's own model (which lives
// outside the simulated process, so it survives the kill) records the durable image and every write
// issued since the last completed sync. Meanwhile the workload cuts the machine's power at random
// times and reboots it; each new incarnation of the writer first reads the whole file and checks it
// against the model, byte by byte. Injected io_error and io_timeout are tolerated: a failed write
// may have been partly done (each byte it covered holds its old value or the write's, for reads
// and, after a later sync, for good), a failed sync made nothing durable.
//
// Options: testDuration (s, 10), fileBytes (65536), maxWriteBytes (4096), syncProbability (0.2),
// meanKillInterval (s, 1).

#include <algorithm>
#include <cmath>
#include <map>

#include "flow/actor.h"
#include "flow/combinators.h"
#include "flow/deterministic_random.h"
#include "flow/trace_event.h"
#include "workloads/workload.h"

namespace workloads {
namespace {

using flow::Error;
using flow::ErrorCode;

bool is_io_fault(const Error& e) {
  return e.code() == ErrorCode::io_error || e.code() == ErrorCode::io_timeout;
}

class DurabilityWorkload final : public Workload {
 public:
  explicit DurabilityWorkload(WorkloadOptions& o)
      : duration_(o.get_seconds("testDuration", 10.0)),
        file_bytes_(std::max<int64_t>(1, o.get_int("fileBytes", 65536))),
        max_write_(std::max<int64_t>(1, o.get_int("maxWriteBytes", 4096))),
        sync_probability_(o.get_double("syncProbability", 0.2)),
        mean_kill_interval_(o.get_double("meanKillInterval", 1.0)) {}

  std::string name() const override { return "Durability"; }

  void setup(WorkloadContext& ctx) override {
    auto& rng = flow::deterministic_random();
    std::vector<sim::Simulator::Machine*> candidates;
    for (size_t i = 0; i < ctx.sim.machine_count(); ++i) {
      sim::Simulator::Machine& m = ctx.sim.machine(i);
      if (!m.processes.empty() && !m.processes.front()->is_protected) candidates.push_back(&m);
    }
    ASSERT(!candidates.empty());
    machine_ =
        candidates[static_cast<size_t>(rng.random_int(0, static_cast<int64_t>(candidates.size())))];
    ctx.sim.add_role(*machine_->processes.front(), "durability_writer", [this] { writer(); });
  }

  void start(WorkloadContext& ctx) override {
    auto& rng = flow::deterministic_random();
    const flow::Time end = flow::now() + duration_;
    while (flow::now() < end) {
      const double gap = -std::log(1.0 - rng.random01()) * mean_kill_interval_;
      flow::wait(flow::delay_until(
          std::min(end, flow::now() + flow::from_seconds(gap))));
      if (flow::now() >= end) break;
      if (!ctx.sim.can_kill_machine(*machine_)) continue;
      ++power_losses_;
      ctx.sim.reboot_machine(*machine_, false);
    }
  }

  bool check(WorkloadContext& ctx) override {
    // One more power loss with faults off: the writer must come back and verify the file.
    const uint64_t before = verifications_;
    ctx.sim.reboot_machine(*machine_, false);
    while (verifications_ == before && !violated_)
      flow::wait(flow::delay(std::chrono::milliseconds(10)));
    return !violated_ && verifications_ > 0;
  }

  void metrics(std::vector<std::pair<std::string, double>>& out) const override {
    out.emplace_back("DurabilityPowerLosses", static_cast<double>(power_losses_));
    out.emplace_back("DurabilityVerifications", static_cast<double>(verifications_));
    out.emplace_back("DurabilitySyncs", static_cast<double>(syncs_));
    out.emplace_back("DurabilityWrites", static_cast<double>(writes_));
    out.emplace_back("DurabilityFailedWrites", static_cast<double>(failed_writes_));
    if (machine_ != nullptr)
      out.emplace_back("DurabilityWritesFailedPartly",
                       static_cast<double>(machine_->disk.fault_counts().writes_failed_partly));
  }

 private:
  struct Write {
    int64_t offset;
    std::vector<uint8_t> bytes;
  };

  // The writer role; restarted with the machine. May suspend.
  void writer() {
    ++incarnations_;
    auto& rng = flow::deterministic_random();
    auto& fs = flow::current_process().file_system();
    std::shared_ptr<flow::IAsyncFile> file = retry(
        [&] { return flow::wait(fs.open("durability.dat", flow::OpenMode::kReadWriteCreate)); });
    if (initialized_) {
      verify(*file);
    } else {
      // The file starts as zeros, made durable before the model relies on it.
      std::vector<uint8_t> zeros(static_cast<size_t>(file_bytes_), 0);
      retry([&] { flow::wait(file->write(zeros, 0)); });
      retry([&] { flow::wait(file->sync()); });
      durable_ = zeros;
      applied_ = zeros;
      maybe_applied_.clear();
      maybe_durable_.clear();
      possible_.clear();
      initialized_ = true;
    }
    for (;;) {
      const double dice = rng.random01();
      if (dice < sync_probability_) {
        try {
          flow::wait(file->sync());
          durable_ = applied_;
          maybe_durable_ = maybe_applied_;
          possible_.clear();
          ++syncs_;
        } catch (const Error& e) {
          if (!is_io_fault(e)) throw;
        }
      } else if (dice < sync_probability_ + 0.1) {
        read_back(*file);
      } else {
        Write w;
        const int64_t len = rng.random_int(1, std::min(max_write_, file_bytes_) + 1);
        w.offset = rng.random_int(0, file_bytes_ - len + 1);
        w.bytes.resize(static_cast<size_t>(len));
        for (uint8_t& b : w.bytes)
          b = static_cast<uint8_t>(rng.random_uint64());
        possible_.push_back(w);  // issued: from now on it may be on disk
        try {
          flow::wait(file->write(w.bytes, w.offset));
          std::copy(w.bytes.begin(), w.bytes.end(), applied_.begin() + w.offset);
          maybe_applied_.erase(maybe_applied_.lower_bound(w.offset),
                               maybe_applied_.lower_bound(w.offset + len));
          ++writes_;
        } catch (const Error& e) {
          if (!is_io_fault(e)) throw;
          // A failed write may have been partly done: each of its bytes may now read either way.
          ++failed_writes_;
          for (int64_t i = 0; i < len; ++i)
            maybe_applied_[w.offset + i].push_back(w.bytes[static_cast<size_t>(i)]);
        }
      }
    }
  }

  // Reads a random range, which must match every completed write exactly. May suspend.
  void read_back(flow::IAsyncFile& file) {
    auto& rng = flow::deterministic_random();
    const int64_t len = rng.random_int(1, std::min<int64_t>(4096, file_bytes_) + 1);
    const int64_t offset = rng.random_int(0, file_bytes_ - len + 1);
    std::vector<uint8_t> got(static_cast<size_t>(len));
    try {
      const size_t n = flow::wait(file.read(got, offset));
      bool matches = n == got.size();
      for (int64_t i = 0; matches && i < len; ++i)
        matches = could_be(maybe_applied_, applied_, offset + i, got[static_cast<size_t>(i)]);
      if (!matches) {
        violated_ = true;
        flow::TraceEvent(flow::SevError, "DurabilityReadMismatch")
            .detail("Offset", offset)
            .detail("Length", len)
            .detail("Read", static_cast<int64_t>(n));
      }
    } catch (const Error& e) {
      if (!is_io_fault(e)) throw;
    }
  }

  // After a power loss: every byte is durable, or the value of a write issued since. May suspend.
  void verify(flow::IAsyncFile& file) {
    std::vector<uint8_t> got(static_cast<size_t>(file_bytes_));
    const size_t n = retry([&] { return flow::wait(file.read(got, 0)); });
    const int64_t size = retry([&] { return flow::wait(file.size()); });
    if (n != got.size() || size != file_bytes_) {
      violated_ = true;
      flow::TraceEvent(flow::SevError, "DurabilityWrongSize")
          .detail("Expected", file_bytes_)
          .detail("Size", size);
      return;
    }
    for (int64_t i = 0; i < file_bytes_; ++i) {
      const uint8_t v = got[static_cast<size_t>(i)];
      if (could_be(maybe_durable_, durable_, i, v)) continue;
      const bool explained = std::any_of(possible_.begin(), possible_.end(), [&](const Write& w) {
        return i >= w.offset && i < w.offset + static_cast<int64_t>(w.bytes.size()) &&
               w.bytes[static_cast<size_t>(i - w.offset)] == v;
      });
      if (!explained) {
        violated_ = true;
        flow::TraceEvent(flow::SevError, "DurabilityViolation")
            .detail("Offset", i)
            .detail("Durable", static_cast<int64_t>(durable_[static_cast<size_t>(i)]))
            .detail("Found", static_cast<int64_t>(v))
            .detail("UnsyncedWrites", static_cast<int64_t>(possible_.size()));
        return;
      }
    }
    ++verifications_;
    flow::TraceEvent(flow::SevInfo, "DurabilityVerified")
        .detail("UnsyncedWrites", static_cast<int64_t>(possible_.size()));
    // What survived is now the durable state.
    durable_ = got;
    applied_ = got;
    maybe_applied_.clear();
    maybe_durable_.clear();
    possible_.clear();
  }

  // Whether byte `i` may hold `v`: the image's value, or one a failed write may have left there.
  static bool could_be(const std::map<int64_t, std::vector<uint8_t>>& maybe,
                       const std::vector<uint8_t>& image, int64_t i, uint8_t v) {
    if (image[static_cast<size_t>(i)] == v) return true;
    auto it = maybe.find(i);
    return it != maybe.end() && std::find(it->second.begin(), it->second.end(), v) != it->second.end();
  }

  // Runs fn until it gets through without an injected disk fault. May suspend.
  template <class Fn>
  auto retry(Fn fn) -> decltype(fn()) {
    for (;;) {
      try {
        return fn();
      } catch (const Error& e) {
        if (!is_io_fault(e)) throw;
      }
      flow::wait(flow::delay(std::chrono::milliseconds(10)));
    }
  }

  flow::Duration duration_;
  int64_t file_bytes_;
  int64_t max_write_;
  double sync_probability_;
  double mean_kill_interval_;
  sim::Simulator::Machine* machine_ = nullptr;
  bool initialized_ = false;
  std::vector<uint8_t> durable_;
  // Per byte, values failed writes may have left since the last completed write over it: in the
  // file as read now (maybe_applied_), and as of the last completed sync (maybe_durable_).
  std::map<int64_t, std::vector<uint8_t>> maybe_applied_;
  std::map<int64_t, std::vector<uint8_t>> maybe_durable_;
  std::vector<uint8_t> applied_;
  std::vector<Write> possible_;
  bool violated_ = false;
  uint64_t power_losses_ = 0;
  uint64_t incarnations_ = 0;
  uint64_t verifications_ = 0;
  uint64_t syncs_ = 0;
  uint64_t writes_ = 0;
  uint64_t failed_writes_ = 0;
};

}  // namespace

std::unique_ptr<Workload> make_durability_workload(WorkloadOptions& options) {
  return std::make_unique<DurabilityWorkload>(options);
}

}  // namespace workloads
