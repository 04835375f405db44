// KeyValueStoreCrash — crash recovery of a storage engine (or of the DiskQueue alone) under power
// losses, injected disk errors and flipped bits.
//
// A writer role on one machine makes random sets, range clears and commits against a store
// (engine "memory" or "ssd"), or pushes, pops and commits against a DiskQueue (engine "queue"),
// checking every read against its model as it goes. The model lives in the workload, outside the
// simulated process, so it survives the kills: the state as of the last commit that returned, and
// the state a commit under way would make durable. Meanwhile the workload cuts the machine's power
// at random moments — half of the time while a commit is waiting on the disk — and sometimes flips
// a bit of the machine's durable data while it is down (not again until the store has opened
// whole since: an open repairs what it finds). Each new incarnation of the writer opens
// the store and reads it whole; it must find exactly the last committed state (or the one under
// way), or, only if a bit of the ssd engine's files was flipped, a detected error
// (checksum_failed), after which it wipes the store and starts over. The queue and the memory
// engine (whose log is a DiskQueue) keep a copy of every record and must read past a flipped bit,
// so checksum_failed is theirs to answer only while the disk misdirects writes or corrupts reads. A
// wrong answer is a SevError.
//
// Corruption goes through the fault atlas (sim/fault_atlas.h): it is injected only where the
// configuration sets allowCorruption, and asking for it elsewhere is an error in the spec. While
// disk faults are on, the machine's disk may also misdirect writes and return reads with a flipped
// bit (misdirectProbability, readCorruptionProbability); a store that saw any of these may answer
// checksum_failed, never a wrong state.
//
// Disk errors. A sync that fails (or times out) ends the writer's process (flow::fail_stop): the
// simulator reboots it a little later, with its machine's cache, and the next incarnation must
// find the last committed state or the one under way, as after a power loss. Any other disk error
// fails the store, and the writer reopens it in the same process.
//
// Options: engine ("memory"), testDuration (s, 10), meanKillInterval (s, 1),
// killDuringCommitProbability (0.5), corruptProbability (per power loss, 0.2 where the atlas allows
// corruption, else 0), misdirectProbability (per write, 0), readCorruptionProbability (per read,
// 0), ioErrorProbability (per disk operation, 0.001), syncErrorProbability (per sync, besides
// ioErrorProbability: the sync fails and what it covered stays unsynced, 0), ioTimeoutProbability
// (per disk operation: it fails with io_timeout after 10-500 ms, drawn per run; 0),
// fullDiskProbability (per power loss: until the next one the disk has room for at most 64 KiB
// more, 0), keys, maxValueBytes, commitProbability (per operation), logFileBytes (the DiskQueue's
// file size, or the store's log size), popStride (the queue's pops each move the pop point
// 0..popStride records), machineIndex (which of the killable machines; default by engine, so
// engines do not share one).
//
// Defaults: meanKillInterval 1 s, keys 200, maxValueBytes 400 (1999 for the queue's records),
// commitProbability 0.17 (0.3 for the queue), logFileBytes 512 KiB (64 KiB for the queue),
// popStride 19. shadowRecoveryProbability (per commit of the queue engine, 0.1): the queue is
// also recovered from a copy of the medium as it stands after the commit (a power loss there,
// without one) and checked against the model.
// With swarm = true those the spec leaves unset are drawn from the seed instead (ranges at
// draw_swarm()), so that the rate of power losses against the rate of commits, the size of a
// commit and how often the log laps vary from seed to seed: some windows (a power loss during
// recovery, a lap during a commit) are hit only at one end of these ranges.
// tests/specs/fast/kv_crash_swarm.toml does so (tests/specs/open/kv_crash_swarm.toml adds
// misdirected writes, which the DiskQueue cannot yet tell apart: an open gap).

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <optional>

#include <xxhash.h>

#include "flow/actor.h"
#include "flow/combinators.h"
#include "flow/deterministic_random.h"
#include "flow/trace_event.h"
#include "storage/disk_queue.h"
#include "storage/key_value_store.h"
#include "workloads/workload.h"

namespace workloads {
namespace {

using flow::Error;
using flow::ErrorCode;
using Map = std::map<std::string, std::string>;

bool is_disk_fault(const Error& e) {
  return e.code() == ErrorCode::io_error || e.code() == ErrorCode::io_timeout ||
         e.code() == ErrorCode::disk_full;
}

class KeyValueStoreCrashWorkload final : public Workload {
 public:
  explicit KeyValueStoreCrashWorkload(WorkloadOptions& o)
      : engine_(o.get_string("engine", "memory")),
        duration_(o.get_seconds("testDuration", 10.0)),
        mean_kill_interval_(o.get_double("meanKillInterval", 0)),
        kill_during_commit_(o.get_double("killDuringCommitProbability", 0.5)),
        corrupt_probability_(o.get_double("corruptProbability", -1)),
        misdirect_probability_(o.get_double("misdirectProbability", 0)),
        read_corruption_probability_(o.get_double("readCorruptionProbability", 0)),
        io_error_probability_(o.get_double("ioErrorProbability", 0.001)),
        sync_error_probability_(o.get_double("syncErrorProbability", 0)),
        io_timeout_probability_(o.get_double("ioTimeoutProbability", 0)),
        full_disk_probability_(o.get_double("fullDiskProbability", 0)),
        keys_(o.get_int("keys", 0)),
        max_value_(o.get_int("maxValueBytes", -1)),
        commit_probability_(o.get_double("commitProbability", 0)),
        log_file_bytes_(o.get_int("logFileBytes", 0)),
        pop_stride_(o.get_int("popStride", 0)),
        shadow_recovery_probability_(o.get_double("shadowRecoveryProbability", 0.1)),
        swarm_(o.get_bool("swarm", false)),
        machine_index_(o.get_int("machineIndex", engine_ == "queue"    ? 0
                                                 : engine_ == "memory" ? 1
                                                                       : 2)) {
    for (const auto& [name, p] :
         {std::pair{"ioErrorProbability", io_error_probability_},
          std::pair{"syncErrorProbability", sync_error_probability_},
          std::pair{"ioTimeoutProbability", io_timeout_probability_},
          std::pair{"fullDiskProbability", full_disk_probability_},
          std::pair{"corruptProbability", corrupt_probability_ == -1 ? 0 : corrupt_probability_},
          std::pair{"misdirectProbability", misdirect_probability_},
          std::pair{"readCorruptionProbability", read_corruption_probability_},
          std::pair{"killDuringCommitProbability", kill_during_commit_},
          std::pair{"shadowRecoveryProbability", shadow_recovery_probability_}})
      o.require(p >= 0 && p <= 1, name, "must be a probability, 0..1");
    o.require(mean_kill_interval_ >= 0 && mean_kill_interval_ <= 1e6, "meanKillInterval",
              "must be in (0, 1e6] seconds");
    o.require(commit_probability_ >= 0 && commit_probability_ <= 1, "commitProbability",
              "must be a probability, 0..1");
    o.require(log_file_bytes_ >= 0 && log_file_bytes_ <= (int64_t{1} << 30), "logFileBytes",
              "must be at most 1 GiB");
    o.require(keys_ <= 10'000'000 && max_value_ <= 10'000'000, "keys/maxValueBytes",
              "must be at most 10,000,000");
  }

  std::string name() const override { return "KeyValueStoreCrash"; }

  // Options the spec left unset: drawn from the seed under swarm (the constructor runs before
  // seeding), else the defaults.
  void draw_swarm() {
    const bool queue = engine_ == "queue";
    if (!swarm_) {
      if (mean_kill_interval_ <= 0) mean_kill_interval_ = 1.0;
      if (keys_ <= 0) keys_ = 200;
      if (max_value_ < 0) max_value_ = queue ? 1999 : 400;
      if (commit_probability_ <= 0) commit_probability_ = queue ? 0.3 : 0.17;
      if (log_file_bytes_ <= 0) log_file_bytes_ = queue ? 64 << 10 : 512 << 10;
      if (pop_stride_ <= 0) pop_stride_ = 19;
      return;
    }
    auto& rng = flow::deterministic_random();
    if (mean_kill_interval_ <= 0) mean_kill_interval_ = 0.05 * std::pow(40.0, rng.random01());
    if (keys_ <= 0) keys_ = int64_t{10} << rng.random_int(0, 7);           // 10 .. 640
    if (max_value_ < 0) max_value_ = int64_t{16} << rng.random_int(0, 9);  // 16 B .. 4 KiB
    if (commit_probability_ <= 0) commit_probability_ = 0.02 * std::pow(25.0, rng.random01());
    if (log_file_bytes_ <= 0) {
      log_file_bytes_ = queue ? int64_t{8 << 10} << rng.random_int(0, 6)    // 8..256 KiB
                              : int64_t{64 << 10} << rng.random_int(0, 5);  // ..1 MiB
    }
    // A consumer that pops one record at a time stops exactly at a file's last record now and
    // then: where a lap decided one record too early overwrites what the log still needs.
    if (pop_stride_ <= 0) pop_stride_ = int64_t{1} << rng.random_int(0, 6);  // 1 .. 32 records
    flow::TraceEvent(flow::SevInfo, "KeyValueStoreCrashSwarm")
        .detail("Engine", engine_)
        .detail("MeanKillInterval", mean_kill_interval_)
        .detail("Keys", keys_)
        .detail("MaxValueBytes", max_value_)
        .detail("CommitProbability", commit_probability_)
        .detail("LogFileBytes", log_file_bytes_)
        .detail("PopStride", pop_stride_);
  }

  void setup(WorkloadContext& ctx) override {
    draw_swarm();
    if (engine_ != "queue" &&
        std::find(std::begin(storage::kEngineNames), std::end(storage::kEngineNames), engine_) ==
            std::end(storage::kEngineNames)) {
      flow::TraceEvent(flow::SevError, "KeyValueStoreCrashUnknownEngine").detail("Engine", engine_);
      return;
    }
    std::vector<sim::Simulator::Machine*> candidates;
    for (size_t i = 0; i < ctx.sim().machine_count(); ++i) {
      sim::Simulator::Machine& m = ctx.sim().machine(i);
      if (!m.processes.empty() && !m.processes.front()->is_protected) candidates.push_back(&m);
    }
    ASSERT(!candidates.empty());
    // Corruption only where the fault atlas allows it; asked for elsewhere, the spec is wrong.
    const bool allowed = ctx.sim().atlas().allow_corruption;
    if (corrupt_probability_ == -1) corrupt_probability_ = allowed ? 0.2 : 0;
    if (!allowed && (corrupt_probability_ > 0 || misdirect_probability_ > 0 ||
                     read_corruption_probability_ > 0)) {
      flow::TraceEvent(flow::SevError, "KeyValueStoreCrashCorruptionNotAllowed")
          .detail("Engine", engine_)
          .detail("Fix",
                  "set allowCorruption = true in [configuration], or the corruption "
                  "probabilities to 0");
      return;
    }
    machine_ = candidates[static_cast<size_t>(machine_index_) % candidates.size()];
    ctx.sim().add_role(*machine_->processes.front(), "kv_crash_" + engine_, [this] { writer(); });
  }

  void start(WorkloadContext& ctx) override {
    if (machine_ == nullptr) return;
    auto& rng = flow::deterministic_random();
    sim::DiskFaults& faults = machine_->disk.faults();
    faults.enabled = io_error_probability_ > 0 || sync_error_probability_ > 0 ||
                     io_timeout_probability_ > 0 || misdirect_probability_ > 0 ||
                     read_corruption_probability_ > 0;
    faults.io_error_probability = io_error_probability_;
    faults.sync_error_probability = sync_error_probability_;
    faults.io_timeout_probability = io_timeout_probability_;
    // Short enough to land between power losses, long enough to hold up the commits behind it.
    faults.timeout_delay = std::chrono::milliseconds(rng.random_int(10, 500));
    if (misdirect_probability_ > 0 || read_corruption_probability_ > 0) {
      ctx.sim().set_disk_corruption(*machine_, misdirect_probability_,
                                    read_corruption_probability_);
      live_corruption_ = corruption_injected_ = true;  // until the faults stop and a wipe
    }
    const int64_t capacity = machine_->disk.model().capacity_bytes;
    const flow::Time end = flow::now() + duration_;
    while (flow::now() < end) {
      const double gap = -std::log(1.0 - rng.random01()) * mean_kill_interval_;
      flow::wait(flow::delay_until(std::min(end, flow::now() + flow::from_seconds(gap))));
      if (rng.random01() < kill_during_commit_) {
        // Catch a commit on the disk, then cut at a random point in it.
        const flow::Time give_up = flow::now() + std::chrono::seconds(1);
        while (!committing_ && flow::now() < give_up)
          flow::wait(flow::delay(std::chrono::microseconds(100)));
        flow::wait(flow::delay(std::chrono::microseconds(rng.random_int(0, 3000))));
      }
      if (flow::now() >= end) break;
      ++power_losses_;
      ctx.sim().reboot_machine(*machine_, false);
      // A full disk: until the next power loss, the machine has room for only a little more.
      machine_->disk.set_capacity(capacity);
      if (rng.random01() < full_disk_probability_) {
        ++full_disks_;
        machine_->disk.set_capacity(machine_->disk.used_bytes() + rng.random_int(0, 64 << 10));
      }
      // One flip at rest between two opens that finish: an open repairs what it finds (a record
      // from its copy), and a second flip before then may take a record's last intact copy.
      if (rng.random01() < corrupt_probability_ && !flip_unrepaired_) {
        const uint64_t before = medium_digest();
        if (ctx.sim().corrupt_disk(*machine_)) {
          flip_unrepaired_ = true;
          // The queue (and the memory engine, on one) keeps two copies of every record and
          // repairs on open: it must read past one flip, not merely detect it.
          if (engine_ == "ssd") corruption_injected_ = true;
          ++bits_flipped_;
          // The fault's effect, measured: the flip must be in the medium, not only a cache.
          if (medium_digest() == before)
            violation("KeyValueStoreCrashFaultNotInjected", "a bit flip left the medium as it was");
        }
      }
    }
    faults.enabled = false;
    // Misdirection, measured: over enough writes it could have moved, some must have moved.
    const sim::DiskFaultCounts& counts = machine_->disk.fault_counts();
    const double log_never = static_cast<double>(counts.writes_misdirectable) *
                             std::log1p(-std::min(misdirect_probability_, 1.0 - 1e-12));
    if (misdirect_probability_ > 0 && counts.writes_misdirected == 0 &&
        log_never < std::log(1e-9)) {
      violation("KeyValueStoreCrashFaultNotInjected",
                "no write misdirected of " + std::to_string(counts.writes_misdirectable));
    }
    ctx.sim().set_disk_corruption(*machine_, 0, 0);
    live_corruption_ = false;
    machine_->disk.set_capacity(capacity);
  }

  bool check(WorkloadContext& ctx) override {
    if (machine_ == nullptr) return false;
    // One more power loss with faults off: the writer must come back and verify its store.
    const uint64_t before = verifications_;
    ctx.sim().reboot_machine(*machine_, false);
    while (verifications_ == before && !violated_)
      flow::wait(flow::delay(std::chrono::milliseconds(10)));
    return !violated_;
  }

  void metrics(std::vector<std::pair<std::string, double>>& out) const override {
    const std::string p = "KvCrash." + engine_ + ".";
    out.emplace_back(p + "PowerLosses", static_cast<double>(power_losses_));
    out.emplace_back(p + "Verifications", static_cast<double>(verifications_));
    out.emplace_back(p + "Commits", static_cast<double>(commits_));
    out.emplace_back(p + "BitsFlipped", static_cast<double>(bits_flipped_));
    out.emplace_back(p + "CorruptionDetected", static_cast<double>(corruption_detected_));
    out.emplace_back(p + "DiskErrors", static_cast<double>(disk_errors_));
    out.emplace_back(p + "Lives", static_cast<double>(lives_));
    out.emplace_back(p + "ShadowRecoveries", static_cast<double>(shadow_recoveries_));
    out.emplace_back(p + "FullDisks", static_cast<double>(full_disks_));
    if (machine_ != nullptr) {
      const sim::DiskFaultCounts& c = machine_->disk.fault_counts();
      out.emplace_back(p + "WritesFailedPartly", static_cast<double>(c.writes_failed_partly));
      out.emplace_back(p + "WritesMisdirected", static_cast<double>(c.writes_misdirected));
      out.emplace_back(p + "ReadsCorrupted", static_cast<double>(c.reads_corrupted));
    }
  }

 private:
  void violation(const char* type, const std::string& what) {
    violated_ = true;
    flow::TraceEvent(flow::SevError, type).detail("Engine", engine_).detail("What", what);
  }

  // The writer role; restarted with the machine. May suspend.
  void writer() {
    committing_ = false;
    ++lives_;
    if (wipe_pending_) wipe();
    for (;;) {
      bool wipe_store = false;  // wiped after the catch block: an actor may not wait inside one
      try {
        if (engine_ == "queue") {
          queue_life();
        } else {
          store_life();
        }
        return;
      } catch (const Error& e) {
        if (e.code() == ErrorCode::operation_cancelled) throw;
        if (is_disk_fault(e)) {
          // The store is failed (not by a failed sync: that ended the process): reopen it.
          ++disk_errors_;
        } else if (e.code() == ErrorCode::checksum_failed && corruption_injected_) {
          ++corruption_detected_;
          flow::TraceEvent(flow::SevInfo, "KeyValueStoreCrashCorruptionDetected")
              .detail("Engine", engine_);
          wipe_store = true;
        } else {
          violation("KeyValueStoreCrashUnexpectedError", std::string(e.what()));
          return;
        }
      }
      if (wipe_store) wipe();
      flow::wait(flow::delay(std::chrono::milliseconds(10)));
    }
  }

  // A digest of every file's durable bytes on the machine's disk (the medium, not its cache).
  uint64_t medium_digest() const {
    uint64_t h = 0;
    XXH3_state_t* state = XXH3_createState();
    for (const std::string& path : machine_->disk.paths()) {
      XXH3_64bits_reset_withSeed(state, h + 1);  // +1: an empty file counts
      machine_->disk.find(path)->durable.for_each_chunk([state](std::span<const uint8_t> chunk) {
        XXH3_64bits_update(state, chunk.data(), chunk.size());
      });
      h = XXH3_64bits_digest(state);
    }
    XXH3_freeState(state);
    return h;
  }

  // Removes every file of the process: the store starts again, empty. May suspend.
  // A wipe cut short (a power loss, or a disk error between two removals) leaves part of an old
  // store that no model describes, so it is finished before anything else: retried on disk
  // faults, and again by the next incarnation if this one dies in it.
  void wipe() {
    wipe_pending_ = true;
    auto& fs = flow::current_process().file_system();
    for (;;) {
      bool done = false;
      try {
        for (const std::string& f : flow::wait(fs.list("")))
          flow::wait(fs.remove(f));
        done = true;
      } catch (const Error& e) {
        if (!is_disk_fault(e)) throw;
      }
      if (done) break;
      flow::wait(flow::delay(std::chrono::milliseconds(10)));
    }
    wipe_pending_ = false;
    committed_.clear();
    in_flight_.reset();
    queue_ = QueueModel{};
    corruption_injected_ = live_corruption_;
    flip_unrepaired_ = false;
  }

  // ---- engines ----

  std::string random_key() {
    auto& rng = flow::deterministic_random();
    return "k" + std::to_string(rng.random_int(0, keys_));
  }

  // Reads the whole store, in pieces of random limits and direction. May suspend.
  Map read_all(storage::IKeyValueStore& s) {
    auto& rng = flow::deterministic_random();
    Map m;
    const bool reverse = rng.random01() < 0.5;
    std::string begin = "", end = "\xff";
    for (;;) {
      auto r = s.read_range(begin, end, {.rows = rng.random_int(1, 100), .reverse = reverse});
      for (auto& kv : r.rows)
        m[kv.key] = kv.value;
      if (!r.more || r.rows.empty()) break;
      if (reverse) {
        end = r.rows.back().key;
      } else {
        begin = r.rows.back().key + '\0';
      }
    }
    return m;
  }

  void store_life() {
    auto& rng = flow::deterministic_random();
    storage::KeyValueStoreOptions options;
    options.log_file_bytes = log_file_bytes_;
    options.cache_kib = 128;
    auto s = storage::open_key_value_store(engine_, flow::current_process().file_system(), "kv",
                                           options);
    const Map found = read_all(*s);
    if (found == committed_) {
    } else if (in_flight_ && found == *in_flight_) {
      committed_ = *in_flight_;
    } else {
      violation("KeyValueStoreCrashWrongState", "recovered " + std::to_string(found.size()) +
                                                    " keys; last commit had " +
                                                    std::to_string(committed_.size()));
      return;
    }
    in_flight_.reset();
    ++verifications_;
    flip_unrepaired_ = false;
    Map model = committed_;
    for (;;) {
      // Without swarm, one draw decides, as before the swarm (so fixed seeds keep their runs).
      const double first = rng.random01();
      const bool commit_now = swarm_ ? first < commit_probability_ : first >= 0.83;
      const double dice = swarm_ ? rng.random01() * 0.83 : first;
      if (commit_now) {
        in_flight_ = model;
        committing_ = true;
        s->commit();
        committing_ = false;
        committed_ = model;
        in_flight_.reset();
        ++commits_;
      } else if (dice < 0.5) {
        const std::string k = random_key();
        const std::string v(static_cast<size_t>(rng.random_int(0, max_value_ + 1)),
                            static_cast<char>('a' + rng.random_int(0, 26)));
        s->set(k, v);
        model[k] = v;
      } else if (dice < 0.58) {
        std::string a = random_key(), b = random_key();
        if (b < a) std::swap(a, b);
        s->clear(a, b);
        model.erase(model.lower_bound(a), model.lower_bound(b));
      } else if (dice < 0.8) {
        const std::string k = random_key();
        auto it = model.find(k);
        const std::optional<std::string> want =
            it == model.end() ? std::nullopt : std::optional<std::string>(it->second);
        if (s->read_value(k) != want) return violation("KeyValueStoreCrashReadMismatch", k);
      } else {
        if (read_all(*s) != model) return violation("KeyValueStoreCrashRangeMismatch", "all");
      }
    }
  }

  // ---- the DiskQueue alone ----

  struct QueueModel {
    std::map<uint64_t, std::vector<uint8_t>> payloads;  // every record that may come back
    uint64_t acked_last = 0;      // the newest record of the last commit that returned
    uint64_t acked_popped = 1;    // first_unpopped as of that commit
    uint64_t started_last = 0;    // the newest record of a commit under way
    uint64_t started_popped = 1;  // and its first_unpopped
  };

  // Whether `got`, what a recovery of the queue returned, is what the model allows: consecutive
  // records the writer pushed, none newer than the newest committed (or under way), and every
  // record acknowledged and not possibly popped. Else a SevError (`when` names a shadow recovery).
  bool queue_matches_model(const std::vector<storage::DiskQueueRecord>& got, const char* when) {
    const QueueModel& m = queue_;
    const uint64_t newest = got.empty() ? 0 : got.back().sequence;
    const uint64_t may_be_popped = std::max(m.acked_popped, m.started_popped);
    const uint64_t newest_allowed = std::max(m.acked_last, m.started_last);
    // The records must be consecutive, so the model is walked alongside them: one lookup, then
    // the next entry (a lookup per record was most of this check on long queues).
    auto it = m.payloads.end();
    for (size_t i = 0; i < got.size(); ++i) {
      const uint64_t seq = got[i].sequence;
      it = i == 0 || it == m.payloads.end() ? m.payloads.find(seq) : std::next(it);
      if (it != m.payloads.end() && it->first != seq) it = m.payloads.end();  // seq is not there
      if ((i > 0 && seq != got[i - 1].sequence + 1) || it == m.payloads.end() ||
          it->second != got[i].payload || seq > newest_allowed) {
        violation("KeyValueStoreCrashQueueWrongRecord",
                  std::string(when) + "sequence " + std::to_string(seq) +
                      (it == m.payloads.end() ? " unknown" : "") + ", newest allowed " +
                      std::to_string(newest_allowed));
        return false;
      }
    }
    const uint64_t must_from = may_be_popped, must_to = m.acked_last;
    if (must_from <= must_to &&
        (got.empty() || got.front().sequence > must_from || newest < must_to)) {
      violation("KeyValueStoreCrashQueueLostRecord",
                std::string(when) + std::to_string(must_from) + ".." + std::to_string(must_to));
      return false;
    }
    return true;
  }

  // A power loss now, without one: the queue recovered from a copy of what the medium holds (no
  // unsynced byte), on a scratch disk, and checked as a reboot would be. Run after a share of the
  // commits, it tries the lap and pop points the writer passes, of which power losses hit few.
  // May suspend.
  void shadow_recovery(const storage::DiskQueueOptions& options) {
    ++shadow_recoveries_;
    shadow_disk_.wipe();  // what an earlier one left (one cut short by a power loss included)
    const std::string folder = flow::current_process().data_folder();
    for (const std::string& path : machine_->disk.paths()) {
      if (!path.starts_with(folder + "/")) continue;
      const sim::PagedBytes& medium = machine_->disk.find(path)->durable;
      const auto copy = shadow_disk_.create(path);
      shadow_disk_.resize_current(*copy, medium.size());
      copy->current = medium;
      copy->durable = medium;
    }
    sim::SimFileSystem fs(shadow_disk_, folder);
    std::unique_ptr<storage::DiskQueue> q;
    try {
      q = storage::DiskQueue::open(fs, "q", options);
    } catch (const Error& e) {
      if (e.code() == ErrorCode::operation_cancelled) throw;
      violation("KeyValueStoreCrashShadowRecoveryFailed", std::string(e.what()));
      return;
    }
    queue_matches_model(q->recovered(), "shadow recovery: ");
    shadow_disk_.wipe();
  }

  void queue_life() {
    auto& rng = flow::deterministic_random();
    storage::DiskQueueOptions options;
    options.file_bytes = log_file_bytes_;
    // Shared with the commit under way: a cancelled actor runs once more (to unwind) after its
    // future is dropped, so the queue must outlive it, not this frame.
    std::shared_ptr<storage::DiskQueue> q =
        storage::DiskQueue::open(flow::current_process().file_system(), "q", options);
    QueueModel& m = queue_;
    if (!queue_matches_model(q->recovered(), "")) return;
    ++verifications_;
    flip_unrepaired_ = false;
    m.acked_last = m.started_last = q->next_sequence() - 1;
    m.acked_popped = m.started_popped = q->first_unpopped();
    m.payloads.erase(m.payloads.upper_bound(m.acked_last), m.payloads.end());
    uint64_t carried_popped = m.acked_popped;
    // The commit under way, if any (dropped, and so cancelled, when this frame goes).
    flow::Future<flow::Void> commit;
    for (;;) {
      const double first = rng.random01();
      const bool commit_now = swarm_ ? first < commit_probability_ : first >= 0.7;
      const double dice = swarm_ ? rng.random01() * 0.7 : first;
      if (!commit_now && dice < 0.6) {
        std::vector<uint8_t> payload(static_cast<size_t>(rng.random_int(0, max_value_ + 1)));
        rng.random_bytes(payload);
        const uint64_t seq = q->push(payload);
        m.payloads[seq] = std::move(payload);
        carried_popped = q->first_unpopped();  // a record carries the pop point at its push
      } else if (!commit_now) {
        q->pop(q->first_unpopped() + static_cast<uint64_t>(rng.random_int(0, pop_stride_ + 1)));
      } else {
        // A commit runs while the writer goes on pushing and popping, as a log's does: pops made
        // while it is on the disk are not its to make durable, and a lap it decides on must not
        // count on them. One commit at a time is under way; half of them are waited for at once.
        if (commit.is_valid()) flow::wait(commit);
        m.started_last = q->next_sequence() - 1;
        m.started_popped = carried_popped;
        committing_ = true;
        // Not while writes may be misdirected: the medium is then beyond what the queue survives.
        // (Reads are not corrupted on the scratch disk.)
        // Over 1 MiB on the disk, less often: a shadow reads and copies all of it.
        const double bytes = static_cast<double>(machine_->disk.used_bytes());
        const bool shadow = !(live_corruption_ && misdirect_probability_ > 0) &&
                            rng.random01() < shadow_recovery_probability_ *
                                                 std::min(1.0, double{1 << 20} / (bytes + 1));
        commit = flow::spawn([this, &m, queue = q, last = m.started_last, popped = m.started_popped,
                              shadow, options] {
          queue->commit();
          committing_ = false;
          m.acked_last = last;
          m.acked_popped = popped;
          m.payloads.erase(m.payloads.begin(), m.payloads.lower_bound(m.acked_popped));
          ++commits_;
          if (shadow) shadow_recovery(options);
        });
        if (rng.coinflip()) flow::wait(commit);
      }
    }
  }

  std::string engine_;
  flow::Duration duration_;
  double mean_kill_interval_;
  double kill_during_commit_;
  double corrupt_probability_;  // -1 until setup: the default depends on the fault atlas
  double misdirect_probability_;
  double read_corruption_probability_;
  double io_error_probability_;
  double sync_error_probability_;
  double io_timeout_probability_;
  double full_disk_probability_;
  uint64_t full_disks_ = 0;
  int64_t keys_;
  int64_t max_value_;
  double commit_probability_;
  int64_t log_file_bytes_;
  int64_t pop_stride_;  // each of the queue's pops moves the pop point 0..pop_stride_ records
  double shadow_recovery_probability_;  // per queue commit
  // The shadow recoveries' scratch disk: as fast as can be, and outliving any recovery cut short.
  sim::SimDisk shadow_disk_{sim::DiskModel{.min_latency = std::chrono::microseconds(1),
                                           .max_latency = std::chrono::microseconds(1),
                                           .min_sync_latency = std::chrono::microseconds(1),
                                           .max_sync_latency = std::chrono::microseconds(1),
                                           .iops = int64_t{1} << 40,
                                           .bytes_per_second = int64_t{1} << 50}};
  uint64_t shadow_recoveries_ = 0;
  bool swarm_;
  int64_t machine_index_;
  sim::Simulator::Machine* machine_ = nullptr;

  Map committed_;                 // as of the last commit that returned
  std::optional<Map> in_flight_;  // what a commit under way would make durable
  QueueModel queue_;
  bool committing_ = false;
  bool corruption_injected_ = false;  // since the last wipe: checksum_failed may be the answer
  bool live_corruption_ = false;      // the disk misdirects writes or corrupts reads now
  bool flip_unrepaired_ = false;      // a bit flipped at rest since the store last opened whole
  bool wipe_pending_ = false;         // a wipe began and has not finished
  bool violated_ = false;
  uint64_t power_losses_ = 0;
  uint64_t verifications_ = 0;
  uint64_t commits_ = 0;
  uint64_t bits_flipped_ = 0;
  uint64_t corruption_detected_ = 0;
  uint64_t disk_errors_ = 0;
  uint64_t lives_ = 0;  // writer starts: boots, reboots after power losses and fail-stops
};

}  // namespace

std::unique_ptr<Workload> make_kv_crash_workload(WorkloadOptions& options) {
  return std::make_unique<KeyValueStoreCrashWorkload>(options);
}

}  // namespace workloads
