// The real world's file system (POSIX files, blocking calls on a thread pool) and its reactor.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "flow/flow.h"
#include "net/asio/asio_world.h"
#include "net/asio/folder_lock.h"

using namespace std::chrono_literals;
using flow::ErrorCode;

namespace {

std::string scratch_folder(const char* name) {
  return fmt::format("/tmp/strata-test-{}-{}", name, ::getpid());
}

flow::RuntimeOptions real(net::AsioWorld& world) {
  flow::RuntimeOptions o;
  o.simulated = false;
  o.reactor = &world.reactor();
  return o;
}

// Runs `body` as the main actor of a real runtime whose files live in a fresh scratch folder
// named after `name`; removes the folder afterwards (the body removes what it created).
template <class Body>
void run_with_files(const char* name, Body body) {
  net::AsioWorld world;
  flow::Runtime rt(real(world));
  const std::string folder = scratch_folder(name);
  world.attach(rt.main_process(), folder);
  rt.run(std::move(body));
  ::rmdir(folder.c_str());
}

}  // namespace

TEST_CASE("asio files: write, sync, read back, size, truncate, rename, list, remove") {
  run_with_files("files", [] {
    flow::IFileSystem& fs = flow::current_process().file_system();
    auto f = flow::wait(fs.open("a.dat", flow::OpenMode::kReadWriteCreate));
    const std::string text = "hello, disk";
    flow::wait(f->write(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()), 4));
    flow::wait(f->sync());
    CHECK(flow::wait(f->size()) == 4 + static_cast<int64_t>(text.size()));
    std::vector<uint8_t> back(64);
    const size_t n = flow::wait(f->read(back, 4));
    CHECK(n == text.size());
    CHECK(std::string(back.begin(), back.begin() + static_cast<long>(n)) == text);
    flow::wait(f->truncate(6));
    CHECK(flow::wait(f->size()) == 6);
    flow::wait(fs.rename("a.dat", "b.dat"));
    CHECK(!flow::wait(fs.exists("a.dat")));
    CHECK(flow::wait(fs.list(".")) == std::vector<std::string>{"b.dat"});
    flow::wait(fs.remove("b.dat"));
    flow::wait(fs.remove("b.dat"));  // removing a missing file is fine
    CHECK(flow::wait(fs.list(".")).empty());
  });
}

TEST_CASE(
    "asio files: a missing file is file_not_found; exclusive create refuses an existing one") {
  run_with_files("missing", [] {
    flow::IFileSystem& fs = flow::current_process().file_system();
    auto missing = fs.open("nope", flow::OpenMode::kReadOnly);
    CHECK_THROWS_AS(flow::wait(missing), flow::Error);
    CHECK(missing.get_error() == ErrorCode::file_not_found);
    flow::wait(fs.open("x", flow::OpenMode::kCreateExclusive));
    auto again = fs.open("x", flow::OpenMode::kCreateExclusive);
    CHECK_THROWS_AS(flow::wait(again), flow::Error);
    flow::wait(fs.remove("x"));
  });
}

TEST_CASE("asio files: many writes in flight at once all land; a dropped read is harmless") {
  run_with_files("many", [] {
    flow::IFileSystem& fs = flow::current_process().file_system();
    auto f = flow::wait(fs.open("m.dat", flow::OpenMode::kReadWriteCreate));
    std::vector<flow::Future<flow::Void>> writes;
    std::vector<std::vector<uint8_t>> blocks;
    for (int i = 0; i < 200; ++i)
      blocks.emplace_back(512, static_cast<uint8_t>(i));
    for (int i = 0; i < 200; ++i)
      writes.push_back(f->write(blocks[static_cast<size_t>(i)], i * 512));
    flow::wait(flow::wait_all(writes));
    flow::wait(f->sync());
    {
      std::vector<uint8_t> gone(4096);
      auto dropped = f->read(gone, 0);  // dropped at once: its buffer must never be written
    }
    std::vector<uint8_t> all(200 * 512);
    CHECK(flow::wait(f->read(all, 0)) == all.size());
    bool same = true;
    for (size_t i = 0; i < all.size(); ++i)
      same = same && all[i] == static_cast<uint8_t>(i / 512);
    CHECK(same);
    flow::wait(flow::delay(10ms));  // the dropped read completes into nothing
    flow::wait(fs.remove("m.dat"));
  });
}

TEST_CASE("asio files: write_and_sync lands the bytes; reads at and across the end are short") {
  run_with_files("wsync", [] {
    flow::IFileSystem& fs = flow::current_process().file_system();
    auto f = flow::wait(fs.open("w.dat", flow::OpenMode::kReadWriteCreate));
    const std::vector<uint8_t> bytes = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    flow::wait(f->write_and_sync(bytes, 0));
    CHECK(flow::wait(f->size()) == 10);
    for (int pass = 0; pass < 2; ++pass) {  // the second pass reads from the page cache
      std::vector<uint8_t> whole(10), across(64), past(8);
      CHECK(flow::wait(f->read(whole, 0)) == 10);
      CHECK(whole == bytes);
      REQUIRE(flow::wait(f->read(across, 4)) == 6);
      CHECK(std::vector<uint8_t>(across.begin(), across.begin() + 6) ==
            std::vector<uint8_t>(bytes.begin() + 4, bytes.end()));
      CHECK(flow::wait(f->read(past, 10)) == 0);
      CHECK(flow::wait(f->read(past, 1000)) == 0);
    }
    flow::wait(fs.remove("w.dat"));
  });
}

TEST_CASE("asio files: a write owns its bytes once issued, through many recycled buffers") {
  run_with_files("recycle", [] {
    flow::IFileSystem& fs = flow::current_process().file_system();
    auto f = flow::wait(fs.open("r.dat", flow::OpenMode::kReadWriteCreate));
    // Each round issues writes of different sizes from one buffer that is scribbled over (and
    // then freed) before they complete; every write must land as it was when issued, whichever
    // spare buffer carried it.
    std::vector<uint8_t> expected;
    for (int round = 0; round < 20; ++round) {
      std::vector<flow::Future<flow::Void>> writes;
      for (int i = 0; i < 12; ++i) {
        const size_t n = static_cast<size_t>(1 + (round * 12 + i) * 997 % 70000);
        auto source = std::make_unique<std::vector<uint8_t>>(n, static_cast<uint8_t>(round * 12 + i));
        const int64_t at = static_cast<int64_t>(expected.size());
        writes.push_back(i % 2 ? f->write(*source, at) : f->write_and_sync(*source, at));
        expected.insert(expected.end(), source->begin(), source->end());
        std::fill(source->begin(), source->end(), 0xee);
        source.reset();
      }
      for (auto& w : writes)
        flow::wait(w);
    }
    std::vector<uint8_t> got(expected.size());
    REQUIRE(flow::wait(f->read(got, 0)) == expected.size());
    CHECK(got == expected);
    flow::wait(fs.remove("r.dat"));
  });
}

TEST_CASE("asio reactor: timers fire on the steady clock; a quiet world is quiescent") {
  net::AsioWorld world;
  flow::Runtime rt(real(world));
  const flow::Time t0 = flow::now();
  rt.run([] { flow::wait(flow::delay(20ms)); });
  CHECK(flow::now() - t0 >= 20ms);
  rt.run_until_quiescent();  // returns: nothing is pending
}

TEST_CASE("folder lock: a second holder is refused; one that waits takes it once the first lets go, and not before") {
  const std::string folder = scratch_folder("folder-lock");
  {
    auto first = std::make_unique<net::FolderLock>(folder);
    REQUIRE(first->held());
    const net::FolderLock refused(folder);
    CHECK_FALSE(refused.held());
    CHECK(refused.why().find("another process uses the data folder") != std::string::npos);
    // Still held by the first after a short wait: refused too.
    const net::FolderLock waited_too_little(folder, std::chrono::milliseconds(100));
    CHECK_FALSE(waited_too_little.held());
    // The first lets go while the second waits (as a killed process's last thread exits).
    std::thread release([&first] {
      std::this_thread::sleep_for(200ms);
      first.reset();
    });
    const net::FolderLock patient(folder, std::chrono::seconds(10));
    release.join();
    CHECK(patient.held());
  }
  std::filesystem::remove_all(folder);
}
