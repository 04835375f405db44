// Durability — checks the simulated disk's promise: synced bytes survive a power loss intact, and
// unsynced bytes come back as their old value or as the value of some write that covered them.
//
// A writer role on one machine keeps a file of fileBytes bytes: random writes, a sync now and then,
// and read-backs that must match every completed write. The workload's own model (which lives
// outside the simulated process, so it survives the kill) records the durable image and every write
// issued since the last completed sync. Meanwhile the workload cuts the machine's power at random
// times and reboots it; each new incarnation of the writer first reads the whole file and checks it
// against the model, byte by byte. Injected io_error and io_timeout are tolerated: a failed write
// may have been partly done (each byte it covered holds its old value or the write's: the writer
// reads it back and takes that as the file), a failed sync made nothing durable.
//
// Each power loss's effect is measured too, so a simulator that forgets a fault is caught: every
// unsynced write that completed, overlaps no other and is long enough to tell apart comes back
// whole, not at all, or torn (part of it). From the disk model's keep and tear probabilities the
// workload knows how likely each outcome was; check() fails if an outcome had a chance of at
// least 1 - 1e-9 over the run and never showed. Half the syncs are raced: writes are issued while
// the sync is on the disk, and those that return before it are not the sync's to make durable
// (a disk promises only what completed before the call); their losses are tallied apart, so a
// simulated sync that covers more than it may is caught.
//
// Options: testDuration (s, 10), fileBytes (65536), maxWriteBytes (drawn from 64..16384 by the
// seed), syncProbability (drawn from 0.02..0.5 by the seed), meanKillInterval (s, drawn from
// 0.1..2 by the seed). Drawn values swarm the ratio of syncs, writes and power losses, so some
// seeds lose dozens of unsynced writes at once and others almost none.

#include <algorithm>
#include <cmath>

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
        max_write_(o.get_int("maxWriteBytes", 0)),
        sync_probability_(o.get_double("syncProbability", -1)),
        mean_kill_interval_(o.get_double("meanKillInterval", -1)) {}

  std::string name() const override { return "Durability"; }

  void setup(WorkloadContext& ctx) override {
    auto& rng = flow::deterministic_random();
    // Options not given are drawn here, from the seed (the constructor runs before seeding).
    if (max_write_ <= 0) max_write_ = int64_t{64} << rng.random_int(0, 9);
    if (sync_probability_ < 0) sync_probability_ = 0.02 * std::pow(25.0, rng.random01());
    if (mean_kill_interval_ <= 0) mean_kill_interval_ = 0.1 * std::pow(20.0, rng.random01());
    flow::TraceEvent(flow::SevInfo, "DurabilitySwarm")
        .detail("MaxWriteBytes", max_write_)
        .detail("SyncProbability", sync_probability_)
        .detail("MeanKillInterval", mean_kill_interval_);
    std::vector<sim::Simulator::Machine*> candidates;
    for (size_t i = 0; i < ctx.sim().machine_count(); ++i) {
      sim::Simulator::Machine& m = ctx.sim().machine(i);
      if (!m.processes.empty() && !m.processes.front()->is_protected) candidates.push_back(&m);
    }
    ASSERT(!candidates.empty());
    machine_ =
        candidates[static_cast<size_t>(rng.random_int(0, static_cast<int64_t>(candidates.size())))];
    ctx.sim().add_role(*machine_->processes.front(), "durability_writer", [this] { writer(); });
  }

  void start(WorkloadContext& ctx) override {
    auto& rng = flow::deterministic_random();
    const flow::Time end = flow::now() + duration_;
    while (flow::now() < end) {
      const double gap = -std::log(1.0 - rng.random01()) * mean_kill_interval_;
      flow::wait(flow::delay_until(
          std::min(end, flow::now() + flow::from_seconds(gap))));
      if (flow::now() >= end) break;
      if (!ctx.sim().can_kill_machine(*machine_)) continue;
      ++power_losses_;
      ctx.sim().reboot_machine(*machine_, false);
    }
  }

  bool check(WorkloadContext& ctx) override {
    // One more power loss with faults off: the writer must come back and verify the file.
    const uint64_t before = verifications_;
    ctx.sim().reboot_machine(*machine_, false);
    while (verifications_ == before && !violated_)
      flow::wait(flow::delay(std::chrono::milliseconds(10)));
    check_fault_effects();
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
    out.emplace_back("DurabilityUnsyncedWhole", static_cast<double>(outcomes_[kWhole].seen));
    out.emplace_back("DurabilityUnsyncedLost", static_cast<double>(outcomes_[kLost].seen));
    out.emplace_back("DurabilityUnsyncedTorn", static_cast<double>(outcomes_[kTorn].seen));
    out.emplace_back("DurabilityWritesRacingSyncs", static_cast<double>(raced_writes_));
    out.emplace_back("DurabilityRacedLost", static_cast<double>(raced_outcomes_[kLost].seen));
    // How sure the run was to see a raced write lost: check() insists below log(1e-9) = -20.7.
    out.emplace_back("DurabilityRacedLostLogChanceOfNever", raced_outcomes_[kLost].log_never);
  }

 private:
  struct Write {
    int64_t offset;
    std::vector<uint8_t> bytes;
    bool completed = false;  // it returned: it reached the disk's cache
    // Issued after a sync was called and returned before that sync did: the sync must not have
    // covered it (a disk promises only what completed before the call).
    bool raced = false;
  };

  // What a power loss can do to an unsynced write, as seen after it.
  enum Outcome { kWhole, kLost, kTorn, kOutcomes };
  struct OutcomeTally {
    uint64_t seen = 0;
    double log_never = 0;  // log of the chance that it never happened over the run
  };
  static constexpr const char* kOutcomeNames[kOutcomes] = {"kept whole", "lost", "torn"};
  // The shortest write whose outcome is told apart: a byte of it equals the old byte 1 in 256.
  static constexpr int64_t kMeasuredWriteBytesMin = 16;
  // At most this many writes are issued behind one sync.
  static constexpr int kRacingWritesMax = 16;

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
      possible_.clear();
      initialized_ = true;
    }
    for (;;) {
      const double dice = rng.random01();
      if (dice < sync_probability_) {
        sync(*file, rng.coinflip());
      } else if (dice < sync_probability_ + 0.1) {
        read_back(*file);
      } else {
        write(*file, nullptr);
      }
    }
  }

  // A sync; if `raced`, with a write issued while it is on the disk. May suspend.
  void sync(flow::IAsyncFile& file, bool raced) {
    std::vector<uint8_t> at_call;
    if (raced) at_call = applied_;
    const size_t covered = possible_.size();
    try {
      syncing_ = true;
      flow::Future<flow::Void> done = file.sync();
      // Writes issued while the sync is on the disk, as many as complete before it does.
      for (int i = 0; raced && i < kRacingWritesMax && !done.is_ready(); ++i)
        write(file, &done);
      flow::wait(done);
      syncing_ = false;
      durable_ = raced ? std::move(at_call) : applied_;
      possible_.erase(possible_.begin(), possible_.begin() + static_cast<std::ptrdiff_t>(covered));
      ++syncs_;
    } catch (const Error& e) {
      // A power loss (the process is killed) leaves syncing_ set for verify() to see.
      if (!is_io_fault(e)) throw;
      syncing_ = false;
      // The sync failed: the writes that raced it are plain unsynced writes.
      for (size_t i = covered; i < possible_.size(); ++i)
        possible_[i].raced = false;
    }
  }

  // A random write; `racing` is a sync in flight it was issued after, if any. May suspend.
  void write(flow::IAsyncFile& file, const flow::Future<flow::Void>* racing) {
    auto& rng = flow::deterministic_random();
    Write w;
    const int64_t len = rng.random_int(1, std::min(max_write_, file_bytes_) + 1);
    w.offset = rng.random_int(0, file_bytes_ - len + 1);
    w.bytes.resize(static_cast<size_t>(len));
    rng.random_bytes(w.bytes);
    possible_.push_back(w);  // issued: from now on it may be on disk
    const size_t at = possible_.size() - 1;
    bool failed_write = false;
    try {
      flow::wait(file.write(w.bytes, w.offset));
      std::copy(w.bytes.begin(), w.bytes.end(), applied_.begin() + w.offset);
      possible_[at].completed = true;
      possible_[at].raced = racing != nullptr && !racing->is_ready();
      raced_writes_ += possible_[at].raced ? 1 : 0;
      ++writes_;
    } catch (const Error& e) {
      if (!is_io_fault(e)) throw;
      failed_write = true;
      ++failed_writes_;
    }
    // A failed write may have landed in part, sector by sector (a disk's promise is no
    // more): read back what it left, each byte old or new, and take that as the file.
    if (failed_write) learn_failed_write(file, w);
  }

  // After write `w` failed: what the file now holds in its range, each byte the old one or the
  // write's, becomes the model's. May suspend.
  void learn_failed_write(flow::IAsyncFile& file, const Write& w) {
    std::vector<uint8_t> got(w.bytes.size());
    const size_t n = retry([&] { return flow::wait(file.read(got, w.offset)); });
    for (size_t i = 0; i < got.size(); ++i) {
      const uint8_t old = applied_[static_cast<size_t>(w.offset) + i];
      if (i < n && (got[i] == old || got[i] == w.bytes[i])) continue;
      violated_ = true;
      flow::TraceEvent(flow::SevError, "DurabilityFailedWriteGarbage")
          .detail("Offset", w.offset + static_cast<int64_t>(i))
          .detail("Read", static_cast<int64_t>(n));
      return;
    }
    std::copy(got.begin(), got.end(), applied_.begin() + w.offset);
  }

  // Reads a random range, which must match every completed write exactly. May suspend.
  void read_back(flow::IAsyncFile& file) {
    auto& rng = flow::deterministic_random();
    const int64_t len = rng.random_int(1, std::min<int64_t>(4096, file_bytes_) + 1);
    const int64_t offset = rng.random_int(0, file_bytes_ - len + 1);
    std::vector<uint8_t> got(static_cast<size_t>(len));
    try {
      const size_t n = flow::wait(file.read(got, offset));
      if (n != got.size() || !std::equal(got.begin(), got.end(), applied_.begin() + offset)) {
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
      if (v == durable_[static_cast<size_t>(i)]) continue;
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
    // A power loss during a sync: the sync may have made the writes durable just before it.
    if (!syncing_) measure_power_loss(got);
    syncing_ = false;
    ++verifications_;
    flow::TraceEvent(flow::SevInfo, "DurabilityVerified")
        .detail("UnsyncedWrites", static_cast<int64_t>(possible_.size()));
    // What survived is now the durable state.
    durable_ = got;
    applied_ = got;
    possible_.clear();
  }

  // Sorts each unsynced write the power loss found into kept whole, lost, or torn, and adds up
  // how likely each was under the disk model. Only writes that completed (so were pending on the
  // disk), overlap no other unsynced write (so their fate is theirs alone) and are long enough.
  void measure_power_loss(const std::vector<uint8_t>& got) {
    const sim::DiskModel& model = machine_->disk.model();
    const auto sector = static_cast<int64_t>(model.sector_bytes);
    for (size_t i = 0; i < possible_.size(); ++i) {
      const Write& w = possible_[i];
      const auto len = static_cast<int64_t>(w.bytes.size());
      if (!w.completed || len < kMeasuredWriteBytesMin) continue;
      const bool overlaps = std::any_of(possible_.begin(), possible_.end(), [&](const Write& o) {
        return &o != &w && o.offset < w.offset + len &&
               w.offset < o.offset + static_cast<int64_t>(o.bytes.size());
      });
      if (overlaps) continue;
      int64_t new_bytes = 0, old_bytes = 0;
      for (int64_t b = 0; b < len; ++b) {
        const uint8_t mine = w.bytes[static_cast<size_t>(b)];
        const uint8_t old = durable_[static_cast<size_t>(w.offset + b)];
        if (mine == old) continue;  // tells nothing
        (got[static_cast<size_t>(w.offset + b)] == mine ? new_bytes : old_bytes) += 1;
      }
      const Outcome seen = old_bytes == 0 ? kWhole : new_bytes == 0 ? kLost : kTorn;
      ++outcomes_[seen].seen;
      if (w.raced) ++raced_outcomes_[seen].seen;
      // A torn write lands each sector it touches or not: all or none with 2^-sectors each.
      const int64_t sectors = (w.offset + len - 1) / sector - w.offset / sector + 1;
      const double all = std::pow(0.5, static_cast<double>(std::min<int64_t>(sectors, 60)));
      const double keep = model.keep_probability, tear = model.tear_probability;
      const double p[kOutcomes] = {keep + tear * all, 1 - keep - tear + tear * all,
                                   tear * (1 - 2 * all)};
      for (int o = 0; o < kOutcomes; ++o) {
        const double log_not = std::log1p(-std::min(p[o], 1.0 - 1e-12));
        outcomes_[o].log_never += log_not;
        if (w.raced) raced_outcomes_[o].log_never += log_not;
      }
    }
  }

  // Each outcome all but certain to show over the run must have shown: over all measured writes,
  // and over the writes that raced a sync (which that sync must not have made durable).
  void check_fault_effects() {
    for (const bool raced : {false, true}) {
      const OutcomeTally* tally = raced ? raced_outcomes_ : outcomes_;
      for (int o = 0; o < kOutcomes; ++o) {
        const bool expected = tally[o].log_never < std::log(1e-9);
        if (!expected || tally[o].seen > 0) continue;
        violated_ = true;
        flow::TraceEvent(flow::SevError, "DurabilityFaultNeverSeen")
            .detail("Outcome", kOutcomeNames[o])
            .detail("Writes", raced ? "raced a sync" : "all")
            .detail("LogChanceOfNever", tally[o].log_never)
            .detail("Whole", tally[kWhole].seen)
            .detail("Lost", tally[kLost].seen)
            .detail("Torn", tally[kTorn].seen);
      }
    }
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
  std::vector<uint8_t> applied_;
  std::vector<Write> possible_;
  OutcomeTally outcomes_[kOutcomes];
  OutcomeTally raced_outcomes_[kOutcomes];
  bool syncing_ = false;  // the writer waits on a sync (still set if the power loss came then)
  bool violated_ = false;
  uint64_t power_losses_ = 0;
  uint64_t incarnations_ = 0;
  uint64_t verifications_ = 0;
  uint64_t syncs_ = 0;
  uint64_t writes_ = 0;
  uint64_t failed_writes_ = 0;
  uint64_t raced_writes_ = 0;
};

}  // namespace

std::unique_ptr<Workload> make_durability_workload(WorkloadOptions& options) {
  return std::make_unique<DurabilityWorkload>(options);
}

}  // namespace workloads
