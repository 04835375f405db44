// DiskQueue on the simulated disk: what commit promises, pops and laps between the two files,
// recovery after power losses at random moments (torn and lost writes), and corruption found.
#include <doctest/doctest.h>

#include <map>

#include "flow/flow.h"
#include "sim/simulator.h"
#include "sim_world.h"
#include "storage/disk_queue.h"

using namespace std::chrono_literals;
using flow::Error;
using flow::ErrorCode;
using storage::DiskQueue;
using storage::DiskQueueOptions;

namespace {

using World = storage_testing::SimMachine;

// Options for tests that do not care about laps: files of 64 KiB, not the default 64 MiB, which
// the queue preallocates (and the simulated disk holds in memory).
DiskQueueOptions small() {
  DiskQueueOptions o;
  o.file_bytes = 64 * 1024;
  return o;
}

std::vector<uint8_t> record_bytes(uint64_t n, size_t size) {
  std::vector<uint8_t> v(size);
  for (size_t i = 0; i < size; ++i)
    v[i] = static_cast<uint8_t>(n * 131 + i);
  return v;
}

// The payloads recovered by opening queue "q", by sequence.
std::map<uint64_t, std::vector<uint8_t>> reopen(World& w, DiskQueueOptions o = small()) {
  return w.run([o] {
    std::map<uint64_t, std::vector<uint8_t>> got;
    try {
      auto q = DiskQueue::open(flow::current_process().file_system(), "q", o);
      for (auto& r : q->recovered())
        got[r.sequence] = r.payload;
    } catch (const Error& e) {
      if (e.code() == ErrorCode::operation_cancelled) throw;
      FAIL_CHECK("recovery failed: " << std::string(e.name()));
    }
    return got;
  });
}

// Flips one bit of the byte at `at` in `path`, durably. May suspend.
void flip_bit(const std::string& path, int64_t at) {
  auto f = flow::wait(flow::current_process().file_system().open(path, flow::OpenMode::kReadWrite));
  std::vector<uint8_t> b(1);
  REQUIRE(flow::wait(f->read(b, at)) == 1);
  b[0] ^= 0x08;
  flow::wait(f->write(b, at));
  flow::wait(f->sync());
}

// Commits record 1, then records 2-4, all of 50 bytes: each record takes 96 bytes (a 40-byte
// header, 56 padded), so commit 1 and its copy fill 0-192, records 2-4 192-480, their copies
// 480-768.
void commit_one_then_three(World& w) {
  w.run([] {
    auto q = DiskQueue::open(flow::current_process().file_system(), "q", small());
    q->push(record_bytes(1, 50));
    q->commit();
    for (uint64_t i = 2; i <= 4; ++i)
      q->push(record_bytes(i, 50));
    q->commit();
    return 0;
  });
}

}  // namespace

TEST_CASE("disk queue: committed records come back in order; popped ones do not") {
  World w(1);
  w.run([] {
    auto q = DiskQueue::open(flow::current_process().file_system(), "q", small());
    CHECK(q->recovered().empty());
    for (uint64_t i = 1; i <= 10; ++i)
      CHECK(q->push(record_bytes(i, i * 10)) == i);
    q->commit();
    q->pop(4);
    CHECK(q->push({}) == 11);  // an empty record is a record
    q->commit();
    return 0;
  });
  w.power_loss();
  auto got = reopen(w);
  REQUIRE(got.size() == 8);
  CHECK(got.begin()->first == 4);
  for (uint64_t i = 4; i <= 10; ++i)
    CHECK(got[i] == record_bytes(i, i * 10));
  CHECK(got[11].empty());
  // Sequence numbers continue after recovery.
  w.run([] {
    auto q = DiskQueue::open(flow::current_process().file_system(), "q", small());
    CHECK(q->next_sequence() == 12);
    CHECK(q->first_unpopped() == 4);
    return 0;
  });
}

TEST_CASE("disk queue: records pushed but not committed may vanish; a failed push is refused") {
  World w(2);
  w.run([] {
    DiskQueueOptions o = small();
    o.max_record_bytes = 100;
    auto q = DiskQueue::open(flow::current_process().file_system(), "q", o);
    q->push(record_bytes(1, 10));
    q->commit();
    q->push(record_bytes(2, 10));  // never committed
    try {
      q->push(record_bytes(3, 101));
      FAIL("an oversized record was taken");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::value_too_large);
    }
    return 0;
  });
  w.power_loss();
  auto got = reopen(w);
  REQUIRE(got.size() == 1);
  CHECK(got[1] == record_bytes(1, 10));
}

TEST_CASE("disk queue: appends lap between two files, so the disk holds what is not popped") {
  World w(3);
  DiskQueueOptions o = small();
  o.file_bytes = 4096;
  uint64_t first_kept = w.run([o] {
    auto q = DiskQueue::open(flow::current_process().file_system(), "q", o);
    int64_t max_bytes = 0;
    for (uint64_t i = 1; i <= 2000; ++i) {
      q->push(record_bytes(i, 100));
      if (i % 10 == 0) {
        q->pop(i - 20);  // keep about the last 20
        q->commit();
        max_bytes = std::max(max_bytes, q->file_bytes());
      }
    }
    // Each file: up to file_bytes, what is not popped (20 records of 144 bytes), and one more
    // commit (1440 bytes); every record twice (with its copy).
    CHECK(max_bytes <= 2 * (4096 + 2 * (20 * 144 + 1440)));
    return q->first_unpopped();
  });
  w.power_loss();
  auto got = reopen(w, o);
  REQUIRE(!got.empty());
  CHECK(got.begin()->first <= first_kept);
  CHECK(got.rbegin()->first == 2000);
  for (const auto& [seq, bytes] : got)
    CHECK(bytes == record_bytes(seq, 100));
  CHECK(got.size() == 2000 - got.begin()->first + 1);
}

TEST_CASE("disk queue: after a power loss at a random moment, recovery is a committed prefix") {
  // 1,000 seeds, and four that once failed: 951 (a torn first commit of a lap, read from its
  // copies, then unreadable at the next recovery), 2498 (leftovers of a torn commit taken for
  // the new records of the same numbers), 32094 and 44579 (a torn record's old header, kept past
  // the log's end, completed by a later write of matching bytes). Change the 1100 to run more.
  std::vector<uint64_t> seeds = {951, 2498, 32094, 44579};
  for (uint64_t seed = 100; seed < 1100; ++seed)
    seeds.push_back(seed);
  for (const uint64_t seed : seeds) {
    INFO("seed " << seed);
    World w(seed);
    DiskQueueOptions o = small();
    o.file_bytes = 2048;  // lap often
    // What the test knows: every record pushed, with the pop point its header carries, and the
    // newest record of the last acknowledged commit.
    std::map<uint64_t, std::vector<uint8_t>> pushed;
    std::map<uint64_t, uint64_t> pop_carried;
    uint64_t acknowledged = 0;
    for (int life = 0; life < 4; ++life) {
      INFO("life " << life);
      auto writer = flow::spawn_in(*w.p().process, [&] {
        auto q = DiskQueue::open(flow::current_process().file_system(), "q", o);
        auto& rng = flow::deterministic_random();
        for (;;) {
          const int n = rng.random_int(1, 6);
          for (int i = 0; i < n; ++i) {
            const uint64_t s = q->next_sequence();
            pushed[s] = record_bytes(s, static_cast<size_t>(rng.random_int(0, 300)));
            pop_carried[s] = q->first_unpopped();
            q->push(pushed[s]);
          }
          if (rng.random01() < 0.5)
            q->pop(q->next_sequence() - static_cast<uint64_t>(rng.random_int(1, 30)));
          const uint64_t last = q->next_sequence() - 1;
          q->commit();
          acknowledged = last;
        }
      });
      w.rt.run_until(flow::delay(std::chrono::microseconds(w.rt.random().random_int(1, 40'000))));
      w.power_loss();
      auto got = reopen(w, o);
      if (acknowledged == 0 && got.empty()) continue;
      REQUIRE(!got.empty());
      // The newest record back is at least the last acknowledged one; everything from the pop
      // point it carries up to it is back, unchanged, and nothing else.
      const uint64_t newest = got.rbegin()->first;
      CHECK(newest >= acknowledged);
      REQUIRE(pushed.count(newest) == 1);
      CHECK(got.begin()->first == pop_carried[newest]);
      CHECK(got.size() == newest - pop_carried[newest] + 1);
      for (const auto& [s, bytes] : got) {
        REQUIRE(pushed.count(s) == 1);
        CHECK(bytes == pushed[s]);
      }
      acknowledged = newest;
      // The next life reuses the sequence numbers after what came back.
      pushed.erase(pushed.upper_bound(newest), pushed.end());
    }
  }
}

TEST_CASE("disk queue: a committed record made unreadable is checksum_failed, not a shorter log") {
  World w(7);
  w.run([] {
    auto q = DiskQueue::open(flow::current_process().file_system(), "q", small());
    for (uint64_t i = 1; i <= 3; ++i) {
      q->push(record_bytes(i, 100));
      q->commit();
    }
    return 0;
  });
  // Flip a bit in the middle record's payload, and in its copy (records are 40-byte headers + 104
  // padded bytes, each commit a record and its copy). One flip alone would be read past.
  w.run([] {
    for (const int64_t at : {2 * 144 + 40 + 7, 3 * 144 + 40 + 7})
      flip_bit("q.0", at);
    return 0;
  });
  auto outcome = w.run([] {
    try {
      DiskQueue::open(flow::current_process().file_system(), "q", small());
      return ErrorCode::success;
    } catch (const Error& e) {
      return e.code();
    }
  });
  CHECK(outcome == ErrorCode::checksum_failed);
}

TEST_CASE("disk queue: records after a torn one never come back behind newer records") {
  World w(8);
  commit_one_then_three(w);
  // Record 2 (at 192: record 1 and its copy are each a 40-byte header and 56 padded bytes) loses
  // its first sector's new bytes, as a torn write would leave it, and so does its copy (at 480,
  // after records 2-4); 3 and 4 are whole.
  w.run([] {
    auto f =
        flow::wait(flow::current_process().file_system().open("q.0", flow::OpenMode::kReadWrite));
    const std::vector<uint8_t> old_bytes(8, 0xee);
    flow::wait(f->write(old_bytes, 192));
    flow::wait(f->write(old_bytes, 480));
    flow::wait(f->sync());
    return 0;
  });
  auto first = reopen(w);
  REQUIRE(first.size() == 1);  // 3 and 4 do not vouch for 2: a torn tail
  // A new record 2 of the same size lands where the old one was; 3 and 4 must not follow it.
  w.run([] {
    auto q = DiskQueue::open(flow::current_process().file_system(), "q", small());
    CHECK(q->push(record_bytes(20, 50)) == 2);
    q->commit();
    return 0;
  });
  auto second = reopen(w);
  REQUIRE(second.size() == 2);
  CHECK(second[2] == record_bytes(20, 50));
}

TEST_CASE("disk queue: a bit flipped in the last commit is read from the commit's copy") {
  World w(10);
  commit_one_then_three(w);
  // One bit of record 3's payload (at 288 + 40) flips; no later commit vouches for it.
  w.run([] {
    flip_bit("q.0", 328);
    return 0;
  });
  for (int round = 0; round < 2; ++round) {  // read from the copy, twice
    auto got = reopen(w);
    REQUIRE(got.size() == 4);
    for (uint64_t i = 1; i <= 4; ++i)
      CHECK(got[i] == record_bytes(i, 50));
  }
}

TEST_CASE("disk queue: a commit whose sync fails ends the process, which recovers on reboot") {
  World w(9);
  w.run([] {
    auto q = DiskQueue::open(flow::current_process().file_system(), "q", small());
    q->push(record_bytes(1, 10));
    q->commit();
    return 0;
  });
  // The commit's write lands in the cache and its sync fails: continuing, or reopening the queue
  // in this process, could build on bytes that never reach the disk. The process ends instead.
  bool returned = false;
  w.run_until_fail_stop([&w, &returned] {
    auto q = DiskQueue::open(flow::current_process().file_system(), "q", small());
    sim::DiskFaults& faults = w.p().machine->disk.faults();
    faults.enabled = true;
    faults.sync_error_probability = 1;
    q->push(record_bytes(2, 10));
    try {
      q->commit();
    } catch (...) {
      faults.enabled = false;
      throw;
    }
    returned = true;
  });
  CHECK(!returned);
  // Rebooted, it reads the disk: record 1, and record 2 as a commit under way may leave it.
  auto got = reopen(w);
  CHECK(got.count(1) == 1);
  CHECK(got.size() <= 2);
  w.power_loss();
  CHECK(reopen(w) == got);
}

TEST_CASE(
    "disk queue: a commit the disk refuses for space fails every later call; reopening "
    "recovers") {
  World w(19);
  auto outcome = w.run([&w] {
    auto q = DiskQueue::open(flow::current_process().file_system(), "q", small());
    q->push(record_bytes(1, 10));
    q->commit();
    // Past the preallocated 64 KiB, on a disk with no room left.
    sim::SimDisk& disk = w.p().machine->disk;
    disk.set_capacity(disk.used_bytes());
    q->push(std::vector<uint8_t>(70 * 1024));
    std::vector<ErrorCode> codes;
    const auto code_of = [](auto fn) {
      try {
        fn();
        return ErrorCode::success;
      } catch (const Error& e) {
        return e.code();
      }
    };
    codes.push_back(code_of([&] { q->commit(); }));
    disk.set_capacity(int64_t{1} << 30);
    codes.push_back(code_of([&] { q->push(record_bytes(3, 10)); }));
    codes.push_back(code_of([&] { q->commit(); }));
    return codes;
  });
  CHECK(outcome == std::vector<ErrorCode>(3, ErrorCode::disk_full));
  CHECK(w.p().alive);  // a full disk refuses a write before it happens: no reason to die
  auto got = reopen(w);
  CHECK(got.count(1) == 1);
  CHECK(got.size() == 1);
}

TEST_CASE("disk queue: records whose sync failed are made durable before a reopen builds on them") {
  // A commit's write lands in the cache and its sync fails, which ends the process. Rebooted (its
  // machine's cache survives a process crash), it reads those records back. The next commit laps
  // to the other file, so its sync does not cover them: unless recovery synced them, a power loss
  // then takes them from under a newer, committed record that still needs them.
  DiskQueueOptions o;
  o.file_bytes = 64;  // every commit (two 56-byte records) fills a file
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    CAPTURE(seed);
    World w(seed);
    w.run_until_fail_stop([&w, o] {
      auto q = DiskQueue::open(flow::current_process().file_system(), "q", o);
      q->push(record_bytes(1, 10));
      q->commit();  // file 0
      q->push(record_bytes(2, 10));
      q->commit();  // file 1 (file 0 is full; file 1 holds nothing)
      q->pop(2);
      sim::DiskFaults& faults = w.p().machine->disk.faults();
      faults.enabled = true;
      faults.sync_error_probability = 1;
      q->push(record_bytes(3, 10));
      try {
        q->commit();  // file 1 again: file 0's record 1 was not durably popped yet
      } catch (...) {
        faults.enabled = false;
        throw;
      }
    });
    REQUIRE(reopen(w, o).count(3) == 1);  // read from the cache
    w.run([o] {
      auto q = DiskQueue::open(flow::current_process().file_system(), "q", o);
      q->push(record_bytes(4, 10));
      q->commit();  // laps to file 0: record 3 popped record 1
      return 0;
    });
    w.power_loss();
    const auto recovered = w.run([o] {
      std::vector<uint64_t> sequences;
      try {
        auto q = DiskQueue::open(flow::current_process().file_system(), "q", o);
        for (auto& r : q->recovered())
          sequences.push_back(r.sequence);
      } catch (const Error& e) {
        FAIL_CHECK("recovery failed: " << std::string(e.name()));
      }
      return sequences;
    });
    CHECK(recovered == std::vector<uint64_t>{2, 3, 4});
  }
}

TEST_CASE("disk queue: a bit flipped in a file's first record is read from its copy") {
  // Records of 10 bytes take 56 (a 40-byte header, 16 padded), and each commit writes its
  // records and then their copies.
  SUBCASE("the first commit, of several records") {
    World w(11);
    w.run([] {
      auto q = DiskQueue::open(flow::current_process().file_system(), "q", small());
      for (uint64_t i = 1; i <= 3; ++i)
        q->push(record_bytes(i, 10));
      q->commit();
      q->push(record_bytes(4, 10));
      q->commit();
      flip_bit("q.0", 40 + 3);  // record 1's payload
      return 0;
    });
    const auto got = reopen(w);
    REQUIRE(got.size() == 4);
    for (uint64_t i = 1; i <= 4; ++i)
      CHECK(got.at(i) == record_bytes(i, 10));
  }
  SUBCASE("the first commit, of one record") {
    World w(12);
    w.run([] {
      auto q = DiskQueue::open(flow::current_process().file_system(), "q", small());
      q->push(record_bytes(1, 10));
      q->commit();
      flip_bit("q.0", 8);  // record 1's sequence number
      return 0;
    });
    const auto got = reopen(w);
    REQUIRE(got.size() == 1);
    CHECK(got.at(1) == record_bytes(1, 10));
  }
  SUBCASE("the older file, whose records are still needed") {
    DiskQueueOptions o = small();
    o.file_bytes = 64;  // the second commit goes to the other file
    World w(13);
    w.run([o] {
      auto q = DiskQueue::open(flow::current_process().file_system(), "q", o);
      q->push(record_bytes(1, 10));
      q->push(record_bytes(2, 10));
      q->commit();
      q->push(record_bytes(3, 10));
      q->commit();
      flip_bit("q.0", 40 + 3);
      return 0;
    });
    const auto got = reopen(w, o);
    REQUIRE(got.size() == 3);
    for (uint64_t i = 1; i <= 3; ++i)
      CHECK(got.at(i) == record_bytes(i, 10));
  }
  SUBCASE("the newer file, after a lap") {
    DiskQueueOptions o = small();
    o.file_bytes = 64;
    World w(14);
    w.run([o] {
      auto q = DiskQueue::open(flow::current_process().file_system(), "q", o);
      q->push(record_bytes(1, 10));
      q->commit();  // file 0
      q->pop(2);
      q->push(record_bytes(2, 10));
      q->commit();  // file 1
      q->pop(3);
      q->push(record_bytes(3, 10));
      q->commit();  // file 0 again, from its start: record 2 popped record 1
      flip_bit("q.0", 40 + 3);
      return 0;
    });
    const auto got = reopen(w, o);
    REQUIRE(got.size() == 1);
    CHECK(got.at(3) == record_bytes(3, 10));
  }
}

namespace {

// The bytes [at, at + n) of `path`. May suspend.
std::vector<uint8_t> read_bytes(const std::string& path, int64_t at, size_t n) {
  auto f = flow::wait(flow::current_process().file_system().open(path, flow::OpenMode::kReadOnly));
  std::vector<uint8_t> b(n);
  b.resize(flow::wait(f->read(b, at)));
  return b;
}

// Writes `bytes` at `at` in `path`, durably. May suspend.
void put_bytes(const std::string& path, int64_t at, const std::vector<uint8_t>& bytes) {
  auto f = flow::wait(flow::current_process().file_system().open(path, flow::OpenMode::kReadWrite));
  flow::wait(f->write(bytes, at));
  flow::wait(f->sync());
}

ErrorCode open_outcome(World& w, DiskQueueOptions o) {
  return w.run([o] {
    try {
      DiskQueue::open(flow::current_process().file_system(), "q", o);
      return ErrorCode::success;
    } catch (const Error& e) {
      return e.code();
    }
  });
}

}  // namespace

TEST_CASE(
    "disk queue: a lost write at the start of a lap, vouched for in that file, is "
    "checksum_failed and cuts nothing") {
  // Records of 10 bytes take 56 bytes, a commit of one record and its copy 112. With files of 400
  // bytes, commits 1-4 go to q.0, 5-8 to q.1, and 9 laps back to the start of q.0 (record 8 popped
  // 1-4), followed there by 10 and 11, which say that 9 was durable.
  DiskQueueOptions o;
  o.file_bytes = 400;
  World w(21);
  std::vector<uint8_t> old_start, lap;
  w.run([o, &old_start, &lap] {
    auto q = DiskQueue::open(flow::current_process().file_system(), "q", o);
    for (uint64_t i = 1; i <= 11; ++i) {
      if (i == 9) old_start = read_bytes("q.0", 0, 112);
      q->pop(i > 3 ? i - 3 : 1);
      q->push(record_bytes(i, 10));
      q->commit();
    }
    lap = read_bytes("q.0", 0, 336);
    return 0;
  });
  REQUIRE(old_start.size() == 112);
  REQUIRE(lap.size() == 336);
  // Commit 9's write was lost: the disk still holds commit 1 there.
  const std::vector<uint8_t> q1 = w.run([&old_start] {
    put_bytes("q.0", 0, old_start);
    return read_bytes("q.1", 0, 448);
  });
  CHECK(open_outcome(w, o) == ErrorCode::checksum_failed);
  // Recovery cut and scrubbed nothing: commits 10 and 11 are still there, and q.1 is whole.
  w.run([&lap, &q1] {
    CHECK(read_bytes("q.0", 112, 224) == std::vector<uint8_t>(lap.begin() + 112, lap.end()));
    CHECK(read_bytes("q.1", 0, 448) == q1);
    return 0;
  });
}

TEST_CASE("disk queue: flipped bits in a record and in another record's copy lose nothing") {
  World w(22);
  commit_one_then_three(w);
  // Record 3 (at 288) and the copy of record 4 (at 672) each get a flipped bit; record 4 and the
  // copy of record 3 are intact. Commit 2-4 is the last: nothing after it vouches for it.
  w.run([] {
    flip_bit("q.0", 288 + 40 + 3);
    flip_bit("q.0", 672 + 40 + 3);
    return 0;
  });
  for (int round = 0; round < 2; ++round) {
    CAPTURE(round);
    auto got = reopen(w);
    REQUIRE(got.size() == 4);
    for (uint64_t i = 1; i <= 4; ++i)
      CHECK(got[i] == record_bytes(i, 50));
  }
  // Record 4 itself was kept (not scrubbed as a leftover), and record 3 was repaired in place.
  w.run([] {
    const std::vector<uint8_t> r3 = read_bytes("q.0", 288 + 40, 50);
    const std::vector<uint8_t> r4 = read_bytes("q.0", 384 + 40, 50);
    CHECK(r3 == record_bytes(3, 50));
    CHECK(r4 == record_bytes(4, 50));
    return 0;
  });
}

TEST_CASE("disk queue: a record read from its copy is repaired, so damage does not build up") {
  World w(23);
  commit_one_then_three(w);
  w.run([] {
    auto q = DiskQueue::open(flow::current_process().file_system(), "q", small());
    q->push(record_bytes(5, 50));  // 768-960: commit 5 vouches for 2-4
    q->commit();
    return 0;
  });
  // A bit of record 3 flips; recovery reads it from its copy. Later a bit of that copy flips:
  // unless recovery repaired the original, record 3 is then gone in both places.
  w.run([] {
    flip_bit("q.0", 288 + 40 + 3);
    return 0;
  });
  REQUIRE(reopen(w).size() == 5);
  w.power_loss();
  w.run([] {
    flip_bit("q.0", 576 + 40 + 3);
    return 0;
  });
  const auto got = reopen(w);
  REQUIRE(got.size() == 5);
  for (uint64_t i = 1; i <= 5; ++i)
    CHECK(got.at(i) == record_bytes(i, 50));
}

TEST_CASE("disk queue: a damaged copy of a record read from its original is repaired") {
  // Records 1..5 as in the test above: record r at `original`, its copy at `copy`. A bit of the
  // copy flips and a recovery reads the record from its original; later a bit of the original
  // flips. Unless the first recovery wrote the copy back, the record is then gone in both places
  // (checksum_failed, or for the last commit a shorter log). Each record's place in its commit
  // is tried: the first copy after the commit's records, a middle one, the commit's last, and
  // the last commit's.
  struct Case {
    uint64_t record;
    int64_t original;
    int64_t copy;
  };
  for (const Case c : {Case{1, 0, 96}, Case{2, 192, 480}, Case{3, 288, 576}, Case{4, 384, 672},
                       Case{5, 768, 864}}) {
    CAPTURE(c.record);
    World w(24 + c.record);
    commit_one_then_three(w);
    w.run([] {
      auto q = DiskQueue::open(flow::current_process().file_system(), "q", small());
      q->push(record_bytes(5, 50));  // 768-960
      q->commit();
      return 0;
    });
    w.run([c] {
      flip_bit("q.0", c.copy + 40 + 3);
      return 0;
    });
    REQUIRE(reopen(w).size() == 5);
    w.power_loss();
    w.run([c] {
      CHECK(read_bytes("q.0", c.copy + 40, 50) == record_bytes(c.record, 50));  // written back
      flip_bit("q.0", c.original + 40 + 3);
      return 0;
    });
    const auto got = reopen(w);
    REQUIRE(got.size() == 5);
    for (uint64_t i = 1; i <= 5; ++i)
      CHECK(got.at(i) == record_bytes(i, 50));
  }
}

TEST_CASE("disk queue: a damaged record is not taken for the damaged copy of its twin") {
  // Records 2-4 carry the same payload, so record 3 differs from record 2 by a bit of its
  // sequence number. A bit of record 3 flips: right after record 2 the slot could be record 3
  // or, were 2 the commit's last, 2's copy; 3's copy further on says which. Writing a copy of 2
  // there would leave record 3 in its copy only, and a flip there would lose it.
  World w(30);
  const std::vector<uint8_t> same = record_bytes(7, 50);
  w.run([&same] {
    auto q = DiskQueue::open(flow::current_process().file_system(), "q", small());
    q->push(record_bytes(1, 50));
    q->commit();
    for (int i = 0; i < 3; ++i)
      q->push(same);
    q->commit();
    q->push(record_bytes(5, 50));  // 768-960: commit 5 vouches for 2-4
    q->commit();
    return 0;
  });
  w.run([] {
    flip_bit("q.0", 288 + 40 + 3);
    return 0;
  });
  REQUIRE(reopen(w).size() == 5);
  w.power_loss();
  w.run([] {
    flip_bit("q.0", 576 + 40 + 3);  // record 3's copy
    return 0;
  });
  const auto got = reopen(w);
  REQUIRE(got.size() == 5);
  CHECK(got.at(3) == same);
}

TEST_CASE("disk queue: recovery on a full disk needs no new space") {
  // Commit 2-4's copies are gone (a power loss cut the commit after its records), so recovery
  // writes them again, after the records; and the disk has no free byte.
  SUBCASE("inside the preallocated files") {
    World w(24);
    commit_one_then_three(w);
    w.run([&w] {
      put_bytes("q.0", 480, std::vector<uint8_t>(288, 0));
      sim::SimDisk& disk = w.p().machine->disk;
      disk.set_capacity(disk.used_bytes());
      return 0;
    });
    REQUIRE(reopen(w).size() == 4);
    // The copies are back: a flipped bit in record 3 is read past.
    w.run([] {
      flip_bit("q.0", 288 + 40 + 3);
      return 0;
    });
    const auto got = reopen(w);
    REQUIRE(got.size() == 4);
    CHECK(got.at(3) == record_bytes(3, 50));
  }
  SUBCASE("a file that ends right after the records") {
    World w(25);
    commit_one_then_three(w);
    w.run([&w] {
      auto f =
          flow::wait(flow::current_process().file_system().open("q.0", flow::OpenMode::kReadWrite));
      flow::wait(f->truncate(480));
      flow::wait(f->sync());
      sim::SimDisk& disk = w.p().machine->disk;
      disk.set_capacity(disk.used_bytes());
      return 0;
    });
    const auto got = reopen(w);
    REQUIRE(got.size() == 4);
    for (uint64_t i = 1; i <= 4; ++i)
      CHECK(got.at(i) == record_bytes(i, 50));
  }
}

namespace {

// Records of 88 bytes (128 on disk). q.0: commit 1 at 0 (copy 128); commit 2-4 at 256/384/512
// (copies 640/768/896); commit 5-8 at 1024-1536 (one 512-byte sector), copies 1536-2048 (the
// next). With `same`, records 2-8 carry one payload.
void commit_1_3_4(World& w, bool same) {
  w.run([same] {
    auto q = DiskQueue::open(flow::current_process().file_system(), "q", small());
    q->push(record_bytes(1, 88));
    q->commit();
    for (uint64_t i = 2; i <= 8; ++i) {
      q->push(record_bytes(same ? 99 : i, 88));
      if (i == 4 || i == 8) q->commit();
    }
    return 0;
  });
}

}  // namespace

TEST_CASE("disk queue: a damaged first copy is repaired though the next commit was torn") {
  // Copy 2 (the first of its commit's copies) flips; the power loss tore commit 5-8, losing its
  // records' sector and keeping its copies'. Recovery must put copy 2 back (not the record 5 a
  // jump to copy 5 suggests, nor nothing), or a later flip in record 2 loses it.
  for (const bool same : {false, true}) {
    CAPTURE(same);
    World w(40 + same);
    commit_1_3_4(w, same);
    w.run([] {
      flip_bit("q.0", 640 + 40 + 3);
      put_bytes("q.0", 1024, std::vector<uint8_t>(512, 0));
      return 0;
    });
    REQUIRE(reopen(w).size() == 8);
    w.run([same] {
      const auto slot = read_bytes("q.0", 640, 128);
      CHECK(slot[3] == 'C');  // "SDQC": a copy
      CHECK(slot[8] == 2);    // of record 2
      CHECK(std::vector<uint8_t>(slot.begin() + 40, slot.end()) ==
            record_bytes(same ? 99 : 2, 88));
      return 0;
    });
    REQUIRE(reopen(w).size() == 8);
    w.run([] {
      flip_bit("q.0", 256 + 40 + 3);
      return 0;
    });
    CHECK(open_outcome(w, small()) == ErrorCode::success);
  }
}

TEST_CASE("disk queue: a torn commit read partly from its copies gets its copies back") {
  // Record 1 (88 B) at 0, copy 128; 2 (280 B) at 256, copy 576; 3 and 4 (88 B) at 896 and 1024,
  // copies 1152 and 1280. The power loss tore commit 3-4: record 3's sector is old (zeros), the
  // rest landed; and copy 4 flips. Recovery reads 3 from its copy and repairs copy 4 — and must
  // still write the commit's copies again, for record 3 is left with one.
  World w(50);
  w.run([] {
    auto q = DiskQueue::open(flow::current_process().file_system(), "q", small());
    q->push(record_bytes(1, 88));
    q->commit();
    q->push(record_bytes(2, 280));
    q->commit();
    q->push(record_bytes(3, 88));
    q->push(record_bytes(4, 88));
    q->commit();
    return 0;
  });
  w.run([] {
    put_bytes("q.0", 896, std::vector<uint8_t>(128, 0));
    flip_bit("q.0", 1280 + 40 + 3);
    return 0;
  });
  REQUIRE(reopen(w).size() == 4);
  w.run([] {  // commit 5 vouches for 3 and 4
    auto q = DiskQueue::open(flow::current_process().file_system(), "q", small());
    q->push(record_bytes(5, 88));
    q->commit();
    return 0;
  });
  REQUIRE(reopen(w).size() == 5);
  w.run([] {
    flip_bit("q.0", 1152 + 40 + 3);  // record 3's copy where the commit wrote it
    return 0;
  });
  CHECK(open_outcome(w, small()) == ErrorCode::success);
}

TEST_CASE("disk queue: the copy recovery restores is not overwritten by the next commit") {
  // Commit 5-8's copies were lost to a torn write; recovery writes them again at the log's end.
  // The same queue's next commit must go after them, not over them.
  World w(60);
  commit_1_3_4(w, false);
  w.run([] {
    put_bytes("q.0", 1536, std::vector<uint8_t>(512, 0));
    return 0;
  });
  w.run([] {
    auto q = DiskQueue::open(flow::current_process().file_system(), "q", small());
    CHECK(read_bytes("q.0", 1536 + 40, 88) == record_bytes(5, 88));  // copies 5-8 restored
    q->push(record_bytes(9, 88));
    q->commit();
    CHECK(read_bytes("q.0", 1536 + 40, 88) == record_bytes(5, 88));  // and still there
    return 0;
  });
  REQUIRE(reopen(w).size() == 9);
  w.run([] {
    flip_bit("q.0", 1152 + 40 + 3);  // record 6
    return 0;
  });
  CHECK(open_outcome(w, small()) == ErrorCode::success);
}
