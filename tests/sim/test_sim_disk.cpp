// The simulated disk: sync makes data survive, the kill model, full disk and injected errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <string_view>

#include "flow/flow.h"
#include "sim/simulator.h"

using namespace std::chrono_literals;
using flow::Error;
using flow::ErrorCode;

namespace {

sim::SwarmConfig one_machine(double keep, double tear) {
  sim::SwarmConfig c;
  c.datacenters = 1;
  c.machines_per_datacenter = 1;
  c.processes_per_machine = 1;
  c.disk.keep_probability = keep;
  c.disk.tear_probability = tear;
  return c;
}

std::vector<uint8_t> filled(size_t n, uint8_t v) {
  return std::vector<uint8_t>(n, v);
}

// Writes `first` and syncs it, then writes `second` over it without a sync; returns what the file
// holds after a power loss. May suspend.
std::vector<uint8_t> after_power_loss(sim::Simulator& s, const std::vector<uint8_t>& first,
                                      const std::vector<uint8_t>& second, bool sync_second) {
  auto& p = s.process(0);
  auto writer = flow::spawn_in(*p.process, [&] {
    auto& fs = flow::current_process().file_system();
    auto f = flow::wait(fs.open("data", flow::OpenMode::kReadWriteCreate));
    flow::wait(f->write(first, 0));
    flow::wait(f->sync());
    flow::wait(f->write(second, 0));
    if (sync_second) flow::wait(f->sync());
  });
  flow::Runtime::checked_current().run_until(writer);
  REQUIRE(writer.is_ready());
  REQUIRE(!writer.is_error());
  s.reboot_machine(*p.machine, false);
  auto reader = flow::spawn_in(*p.process, [&] {
    auto f =
        flow::wait(flow::current_process().file_system().open("data", flow::OpenMode::kReadOnly));
    std::vector<uint8_t> got(first.size());
    got.resize(flow::wait(f->read(got, 0)));
    return got;
  });
  flow::Runtime::checked_current().run_until(reader);
  return reader.get();
}

// Hits of the probe whose text is `what` in the current run; -1 if the program has no such probe.
int64_t probe_hits(const char* what) {
  for (const flow::CodeProbeCount& c : flow::code_probe_counts(flow::Runtime::checked_current()))
    if (std::string_view(c.site->what) == what) return static_cast<int64_t>(c.hits);
  return -1;
}

}  // namespace

TEST_CASE("sim disk: synced data survives a power loss") {
  flow::Runtime rt({.seed = 1});
  sim::Simulator s(rt, one_machine(0, 0));  // every unsynced write is dropped
  CHECK(after_power_loss(s, filled(4096, 1), filled(4096, 2), /*sync_second=*/true) ==
        filled(4096, 2));
  // Two writes of 4 KiB and the read of the 4 KiB file after the power loss.
  CHECK(s.machine(0).disk.bytes_moved() == 3 * 4096);
}

TEST_CASE("sim disk: unsynced writes are dropped, kept or torn as the model says") {
  SUBCASE("dropped") {
    flow::Runtime rt({.seed = 2});
    sim::Simulator s(rt, one_machine(0, 0));
    CHECK(after_power_loss(s, filled(4096, 1), filled(4096, 2), false) == filled(4096, 1));
  }
  SUBCASE("kept") {
    flow::Runtime rt({.seed = 3});
    sim::Simulator s(rt, one_machine(1, 0));
    CHECK(after_power_loss(s, filled(4096, 1), filled(4096, 2), false) == filled(4096, 2));
  }
  SUBCASE("torn at sector granularity") {
    const uint64_t seed = 4;
    INFO("seed " << seed);
    flow::Runtime rt({.seed = seed});
    sim::Simulator s(rt, one_machine(0, 1));
    const auto got = after_power_loss(s, filled(64 * 512, 1), filled(64 * 512, 2), false);
    REQUIRE(got.size() == 64 * 512);
    int old_sectors = 0, new_sectors = 0;
    for (size_t sector = 0; sector < 64; ++sector) {
      const auto begin = got.begin() + static_cast<std::ptrdiff_t>(sector * 512);
      const bool all_old = std::all_of(begin, begin + 512, [](uint8_t b) { return b == 1; });
      const bool all_new = std::all_of(begin, begin + 512, [](uint8_t b) { return b == 2; });
      CHECK((all_old || all_new));  // never a mix within a sector
      old_sectors += all_old;
      new_sectors += all_new;
    }
    CHECK(old_sectors > 0);  // 64 fair coins: both kinds appear
    CHECK(new_sectors > 0);
  }
}

TEST_CASE("sim disk: a full disk and injected faults surface as flow::Error") {
  flow::Runtime rt({.seed = 5});
  sim::SwarmConfig c = one_machine(0, 0);
  c.disk.capacity_bytes = 1000;
  sim::Simulator s(rt, c);
  auto& p = s.process(0);
  auto full = flow::spawn_in(*p.process, [&] {
    auto f = flow::wait(
        flow::current_process().file_system().open("big", flow::OpenMode::kReadWriteCreate));
    flow::wait(f->write(filled(2000, 7), 0));
  });
  rt.run_until(full);
  REQUIRE(full.is_error());
  CHECK(full.get_error().code() == ErrorCode::disk_full);
  // Growing a file by truncate or allocate takes space too; shrinking never fails.
  auto grow = flow::spawn_in(*p.process, [&] {
    auto f = flow::wait(
        flow::current_process().file_system().open("grown", flow::OpenMode::kReadWriteCreate));
    flow::wait(f->truncate(900));
    for (auto attempt : {0, 1}) {
      try {
        if (attempt == 0)
          flow::wait(f->truncate(2000));
        else
          flow::wait(f->allocate(2000));
        FAIL("grew past the capacity");
      } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::disk_full);
      }
    }
    flow::wait(f->truncate(10));
    return flow::wait(f->size());
  });
  rt.run_until(grow);
  REQUIRE(!grow.is_error());
  CHECK(grow.get() == 10);

  p.machine->disk.faults().io_error_probability = 1;
  s.set_faults_enabled(true);
  auto failing = flow::spawn_in(*p.process, [&] {
    (void)flow::wait(
        flow::current_process().file_system().open("x", flow::OpenMode::kReadWriteCreate));
  });
  rt.run_until(failing);
  REQUIRE(failing.is_error());
  CHECK(failing.get_error().code() == ErrorCode::io_error);

  auto missing = flow::spawn_in(*p.process, [&] {
    s.set_faults_enabled(false);
    (void)flow::wait(
        flow::current_process().file_system().open("absent", flow::OpenMode::kReadOnly));
  });
  rt.run_until(missing);
  REQUIRE(missing.is_error());
  CHECK(missing.get_error().code() == ErrorCode::file_not_found);
}

TEST_CASE("sim disk: a bit flip changes exactly one bit of durable data") {
  flow::Runtime rt({.seed = 6});
  sim::Simulator s(rt, one_machine(0, 0));
  sim::SimDisk& disk = s.process(0).machine->disk;
  CHECK_FALSE(disk.corrupt_random_bit());  // nothing to corrupt yet
  auto& p = *s.process(0).process;
  auto w = flow::spawn_in(p, [&] {
    auto f = flow::wait(
        flow::current_process().file_system().open("d", flow::OpenMode::kReadWriteCreate));
    flow::wait(f->write(filled(256, 0), 0));
    flow::wait(f->sync());
  });
  rt.run_until(w);
  REQUIRE(disk.corrupt_random_bit());
  auto r = flow::spawn_in(p, [&] {
    auto f = flow::wait(flow::current_process().file_system().open("d", flow::OpenMode::kReadOnly));
    std::vector<uint8_t> got(256);
    got.resize(flow::wait(f->read(got, 0)));
    return got;
  });
  rt.run_until(r);
  int bits = 0;
  for (uint8_t b : r.get())
    bits += std::popcount(b);
  CHECK(bits == 1);
}

TEST_CASE("sim clock: skew and drift, and never backwards") {
  flow::Runtime rt({.seed = 7});
  sim::SimClock clock(5ms, 100.0);
  auto f = flow::spawn([&] {
    flow::wait(flow::delay(10s));
    CHECK(clock.now() - flow::now() == 5ms + 1ms);  // 100 ppm of 10 s is 1 ms
    flow::Time last = clock.now();
    for (int i = 0; i < 1000; ++i) {
      flow::wait(flow::delay(std::chrono::nanoseconds(i % 7)));
      CHECK(clock.now() >= last);
      last = clock.now();
    }
  });
  rt.run_until(f);
  CHECK(f.is_ready());
  CHECK(sim::SimClock(-3ms, -50.0).drift_ppm() == -50.0);
}

TEST_CASE("sim disk: used bytes follow writes, truncates, removes, kills and wipes") {
  flow::Runtime rt({.seed = 8});
  sim::SwarmConfig c = one_machine(0, 0);  // unsynced writes are dropped on a kill
  c.disk.capacity_bytes = 10'000;
  sim::Simulator s(rt, c);
  auto& p = s.process(0);
  sim::SimDisk& disk = p.machine->disk;
  auto steps = flow::spawn_in(*p.process, [&] {
    auto& fs = flow::current_process().file_system();
    auto a = flow::wait(fs.open("a", flow::OpenMode::kReadWriteCreate));
    auto b = flow::wait(fs.open("b", flow::OpenMode::kReadWriteCreate));
    flow::wait(a->write(filled(3000, 1), 0));
    flow::wait(a->sync());
    flow::wait(b->write(filled(2000, 2), 1000));  // a hole counts too: b is 3000 bytes
    CHECK(disk.used_bytes() == 6000);
    flow::wait(a->truncate(1000));
    CHECK(disk.used_bytes() == 4000);
    flow::wait(fs.rename("a", "b"));  // replaces b
    CHECK(disk.used_bytes() == 1000);
    flow::wait(b->write(filled(5000, 3), 0));  // b was replaced: no longer counts
    CHECK(disk.used_bytes() == 1000);
    flow::wait(fs.remove("b"));
    CHECK(disk.used_bytes() == 0);
    auto d = flow::wait(fs.open("d", flow::OpenMode::kReadWriteCreate));
    flow::wait(d->write(filled(500, 4), 0));
    flow::wait(d->sync());
    flow::wait(d->write(filled(700, 5), 500));  // unsynced: dropped by the kill
    CHECK(disk.used_bytes() == 1200);
  });
  rt.run_until(steps);
  REQUIRE(steps.is_ready());
  REQUIRE(!steps.is_error());
  s.kill_machine(*p.machine);
  CHECK(disk.used_bytes() == 500);
  disk.wipe();
  CHECK(disk.used_bytes() == 0);
}

TEST_CASE("sim clock: jumps forward while faults are on, never backwards") {
  flow::Runtime rt({.seed = 22});
  sim::SwarmConfig c = one_machine(0.4, 0.3);
  c.machines_per_datacenter = 3;
  c.max_clock_jump = 500ms;
  sim::Simulator s(rt, c);
  const flow::Duration skew_before = s.process(0).clock->now() - flow::now();
  s.set_faults_enabled(true);
  std::vector<flow::Time> seen(s.process_count(), flow::kTimeZero);
  bool monotonic = true;
  auto watch = flow::spawn_in(rt.main_process(), [&] {
    for (int i = 0; i < 600; ++i) {
      flow::wait(flow::delay(50ms));
      for (size_t p = 0; p < s.process_count(); ++p) {
        const flow::Time t = s.process(p).clock->now();
        if (t < seen[p]) monotonic = false;
        seen[p] = t;
      }
    }
  });
  REQUIRE(rt.run_until(watch));
  s.set_faults_enabled(false);
  CHECK(monotonic);
  flow::Duration jumped_max{0};
  for (size_t p = 0; p < s.process_count(); ++p) {
    const flow::Duration ahead =
        s.process(p).clock->now() - flow::now() - s.process(p).clock->skew();
    jumped_max = std::max(jumped_max, ahead);
  }
  (void)skew_before;
  CHECK(jumped_max > 1ms);  // some clock jumped (drift is 0 here)
}

// ---- issue 15 point 10: bandwidth, partly done failed writes, misdirected writes, read-time
// corruption, and the fault atlas in front of every corruption ----

namespace {

// Runs `body` in process 0 of `s` to the end; it must not fail.
template <typename F>
void run_in(flow::Runtime& rt, sim::Simulator& s, F body) {
  auto f = flow::spawn_in(*s.process(0).process, std::move(body));
  rt.run_until(f);
  REQUIRE(f.is_ready());
  REQUIRE_FALSE(f.is_error());
}

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i)
    v[i] = static_cast<uint8_t>(seed + i * 7 + (i >> 8));
  return v;
}

}  // namespace

TEST_CASE("sim disk: a write's bytes take time at the disk's bandwidth, and hold up the next") {
  flow::Runtime rt({.seed = 21});
  sim::SwarmConfig c = one_machine(0, 0);
  c.disk.bytes_per_second = 100 << 20;  // 100 MiB/s: 64 MiB take 640 ms
  c.disk.max_latency = c.disk.min_latency;
  sim::Simulator s(rt, c);
  run_in(rt, s, [&] {
    auto f = flow::wait(
        flow::current_process().file_system().open("d", flow::OpenMode::kReadWriteCreate));
    flow::Time t0 = flow::now();
    flow::wait(f->write(filled(1, 1), 0));
    const flow::Duration small = flow::now() - t0;
    CHECK(small < 1ms);
    t0 = flow::now();
    flow::Future<flow::Void> big = f->write(filled(64 << 20, 2), 0);
    flow::Future<flow::Void> after = f->write(filled(1, 3), 0);  // queues behind the big one
    flow::wait(after);
    CHECK(flow::now() - t0 >= 640ms);
    CHECK(big.is_ready());
    std::vector<uint8_t> got(1 << 20);
    t0 = flow::now();
    flow::wait(f->read(got, 0));
    CHECK(flow::now() - t0 >= 10ms);  // 1 MiB at 100 MiB/s
  });
}

TEST_CASE("sim disk: a failed write may be left partly done, and only within its own range") {
  flow::Runtime rt({.seed = 22});
  sim::SwarmConfig c = one_machine(0, 0);  // unsynced writes are dropped by a kill
  sim::Simulator s(rt, c);
  sim::SimDisk& disk = s.process(0).machine->disk;
  const std::vector<uint8_t> old_bytes = filled(16 * 512, 0xaa);
  const std::vector<uint8_t> new_bytes = pattern(8 * 512 + 100, 1);
  const size_t at = 3 * 512 + 17;  // not sector-aligned: the first and last sectors are partial
  int partial = 0, none = 0;
  for (int trial = 0; trial < 20; ++trial) {
    run_in(rt, s, [&] {
      auto& fs = flow::current_process().file_system();
      auto f = flow::wait(fs.open("d", flow::OpenMode::kReadWriteCreate));
      flow::wait(f->write(old_bytes, 0));
      flow::wait(f->sync());
      disk.faults().enabled = true;
      disk.faults().io_error_probability = 1;
      flow::Future<flow::Void> w = f->write(new_bytes, static_cast<int64_t>(at));
      flow::wait_any(w);  // ready, value or error
      disk.faults().enabled = false;
      REQUIRE(w.is_error());
      CHECK(w.get_error().code() == ErrorCode::io_error);
      std::vector<uint8_t> got(old_bytes.size());
      flow::wait(f->read(got, 0));
      size_t landed = 0;
      for (size_t i = 0; i < got.size(); ++i) {
        const bool inside = i >= at && i < at + new_bytes.size();
        if (!inside) {
          REQUIRE(got[i] == old_bytes[i]);  // nothing outside the write changes
        } else if (got[i] == new_bytes[i - at] && got[i] != old_bytes[i]) {
          ++landed;
        }
      }
      if (landed > 0 && landed < new_bytes.size()) ++partial;
      if (landed == 0) ++none;
    });
    // What landed is unsynced: a power loss that drops unsynced writes takes it away.
    s.reboot_machine(*s.process(0).machine, false);
    run_in(rt, s, [&] {
      auto f =
          flow::wait(flow::current_process().file_system().open("d", flow::OpenMode::kReadOnly));
      std::vector<uint8_t> got(old_bytes.size());
      flow::wait(f->read(got, 0));
      CHECK(got == old_bytes);
    });
  }
  CHECK(partial > 10);
  CHECK(disk.fault_counts().writes_failed_partly == 20);
}

TEST_CASE("sim disk: a misdirected write lands elsewhere in the file and misses its own place") {
  flow::Runtime rt({.seed = 23});
  sim::Simulator s(rt, one_machine(0, 0), sim::FaultAtlas{.allow_corruption = true, .beyond = {}});
  sim::SimDisk& disk = s.process(0).machine->disk;
  const std::vector<uint8_t> old_bytes = pattern(64 * 512, 9);
  const std::vector<uint8_t> page = filled(512, 0x5c);
  REQUIRE(s.set_disk_corruption(*s.process(0).machine, 1, 0));
  run_in(rt, s, [&] {
    auto f = flow::wait(
        flow::current_process().file_system().open("d", flow::OpenMode::kReadWriteCreate));
    flow::wait(f->write(old_bytes, 0));  // faults off: lands where it should
    disk.faults().enabled = true;
    flow::wait(f->write(page, 10 * 512));  // succeeds, as far as the caller can tell
    disk.faults().enabled = false;
    std::vector<uint8_t> got(old_bytes.size());
    flow::wait(f->read(got, 0));
    // Its own place keeps the old bytes; exactly one other whole sector took the page.
    CHECK(std::equal(got.begin() + 10 * 512, got.begin() + 11 * 512, old_bytes.begin() + 10 * 512));
    int replaced = 0;
    for (size_t sector = 0; sector < 64; ++sector) {
      const auto b = got.begin() + static_cast<std::ptrdiff_t>(sector * 512);
      if (std::equal(b, b + 512, page.begin())) ++replaced;
    }
    CHECK(replaced == 1);
  });
  CHECK(disk.fault_counts().writes_misdirected == 1);
}

TEST_CASE("sim disk: a corrupted read returns one flipped bit; the medium keeps its bytes") {
  flow::Runtime rt({.seed = 24});
  sim::Simulator s(rt, one_machine(0, 0), sim::FaultAtlas{.allow_corruption = true, .beyond = {}});
  sim::SimDisk& disk = s.process(0).machine->disk;
  const std::vector<uint8_t> bytes = pattern(4096, 3);
  REQUIRE(s.set_disk_corruption(*s.process(0).machine, 0, 1));
  run_in(rt, s, [&] {
    auto f = flow::wait(
        flow::current_process().file_system().open("d", flow::OpenMode::kReadWriteCreate));
    flow::wait(f->write(bytes, 0));
    disk.faults().enabled = true;
    std::vector<uint8_t> got(bytes.size());
    flow::wait(f->read(got, 0));
    disk.faults().enabled = false;
    int bits = 0;
    for (size_t i = 0; i < got.size(); ++i)
      bits += std::popcount(static_cast<unsigned>(got[i] ^ bytes[i]));
    CHECK(bits == 1);
    flow::wait(f->read(got, 0));
    CHECK(got == bytes);
  });
  CHECK(disk.fault_counts().reads_corrupted == 1);
}

TEST_CASE("sim disk: the fault atlas refuses corruption a run has not allowed") {
  flow::Runtime rt({.seed = 25});
  sim::Simulator s(rt, one_machine(0, 0));  // the default atlas: no corruption
  sim::Simulator::Machine& m = *s.process(0).machine;
  run_in(rt, s, [&] {
    auto f = flow::wait(
        flow::current_process().file_system().open("d", flow::OpenMode::kReadWriteCreate));
    flow::wait(f->write(filled(4096, 1), 0));
    flow::wait(f->sync());
  });
  CHECK_FALSE(s.corrupt_disk(m));
  CHECK_FALSE(s.set_disk_corruption(m, 1, 1));
  CHECK(m.disk.faults().misdirect_probability == 0);
  CHECK(m.disk.faults().read_corruption_probability == 0);
  CHECK(m.disk.fault_counts().bits_flipped == 0);
  s.atlas().allow_corruption = true;
  CHECK(s.corrupt_disk(m));
  CHECK(m.disk.fault_counts().bits_flipped == 1);
}

TEST_CASE("sim disk: each fate of an unsynced write at a power loss hits its probe") {
  // A fault the simulator stops injecting must show in a sweep as a probe never reached.
  const char* const fates[] = {"a power loss keeps an unsynced write",
                               "a power loss drops an unsynced write",
                               "a power loss tears an unsynced write"};
  struct Case {
    double keep, tear;
    const char* fired;
  };
  for (const Case& c : {Case{1, 0, fates[0]}, Case{0, 0, fates[1]}, Case{0, 1, fates[2]}}) {
    INFO(c.fired);
    flow::Runtime rt({.seed = 5});
    sim::Simulator s(rt, one_machine(c.keep, c.tear));
    for (const char* fate : fates)
      REQUIRE(probe_hits(fate) == 0);
    (void)after_power_loss(s, filled(4096, 1), filled(4096, 2), false);
    for (const char* fate : fates)
      CHECK(probe_hits(fate) == (fate == c.fired ? 1 : 0));
  }
}

TEST_CASE("sim disk: after a power loss a file reads back exactly what the medium kept") {
  // The kill puts back only the ranges pending operations reached (not the whole file): random
  // writes, truncates, allocations and syncs, then a power loss, must leave what a read returns
  // equal to the durable bytes, round after round.
  const uint64_t seed = 11;
  INFO("seed " << seed);
  flow::Runtime rt({.seed = seed});
  sim::Simulator s(rt, one_machine(0.4, 0.3));
  auto& p = s.process(0);
  sim::SimDisk& disk = p.machine->disk;
  for (int round = 0; round < 40; ++round) {
    INFO("round " << round);
    auto ops = flow::spawn_in(*p.process, [&] {
      auto& rng = flow::deterministic_random();
      auto f = flow::wait(
          flow::current_process().file_system().open("data", flow::OpenMode::kReadWriteCreate));
      for (int i = 0, n = static_cast<int>(rng.random_int(1, 12)); i < n; ++i) {
        const int64_t at = rng.random_int(0, 20'000);
        switch (rng.random_int(0, 5)) {
          case 0:
            flow::wait(f->truncate(at));
            break;
          case 1:
            flow::wait(f->allocate(at));
            break;
          case 2:
            flow::wait(f->sync());
            break;
          default:
            flow::wait(f->write(filled(static_cast<size_t>(rng.random_int(1, 3000)),
                                       static_cast<uint8_t>(rng.random_int(1, 256))),
                                at));
        }
      }
    });
    rt.run_until(ops);
    REQUIRE(ops.is_ready());
    REQUIRE(!ops.is_error());
    s.reboot_machine(*p.machine, false);
    const auto data = disk.find("/" + p.name + "/data");
    REQUIRE(data != nullptr);
    CHECK(data->pending.empty());
    CHECK(data->current == data->durable);
    CHECK(disk.used_bytes() == static_cast<int64_t>(data->durable.size()));
  }
}
