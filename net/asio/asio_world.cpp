#include "net/asio/asio_world.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>
#include <thread>
#include <variant>
#include <vector>

#include "flow/actor.h"
#include "flow/error.h"
#include "flow/error_or.h"
#include "flow/trace_event.h"
#include "net/asio/blocking_pool.h"

namespace net {

namespace asio = boost::asio;
using asio::ip::tcp;
using flow::Error;
using flow::ErrorCode;

namespace {

using SteadyClock = std::chrono::steady_clock;

tcp::endpoint to_endpoint(const flow::NetworkAddress& a) {
  return tcp::endpoint(asio::ip::address_v4(a.ip), a.port);
}
flow::NetworkAddress from_endpoint(const tcp::endpoint& e) {
  if (!e.address().is_v4()) return {};
  return flow::NetworkAddress{e.address().to_v4().to_uint(), e.port()};
}

class AsioReactor final : public flow::IReactor {
 public:
  explicit AsioReactor(asio::io_context& io) : io_(io), epoch_(SteadyClock::now()) {}
  ~AsioReactor() override {
    if (schedstat_fd_ >= 0) ::close(schedstat_fd_);
  }
  AsioReactor(const AsioReactor&) = delete;
  AsioReactor& operator=(const AsioReactor&) = delete;

  flow::Time now() const override {
    return flow::Time(std::chrono::duration_cast<flow::Duration>(SteadyClock::now() - epoch_));
  }

  bool wait_for_events(flow::Time deadline) override {
    size_t ran;
    if (deadline == flow::kTimeMax) {
      ran = io_.run_one();
    } else {
      const auto until =
          epoch_ + std::chrono::duration_cast<SteadyClock::duration>(deadline.time_since_epoch());
      ran = io_.run_one_until(until);
      if (ran == 0 && io_.stopped()) std::this_thread::sleep_until(until);  // no I/O pending
    }
    if (io_.stopped()) {
      io_.restart();
      if (ran == 0 && deadline == flow::kTimeMax) return false;  // nothing can happen any more
    }
    poll();
    return true;
  }

  // The scheduler asks between tasks (every reactor_poll_interval of them); each poll is an
  // epoll_wait. One that comes soon after the last look at the world is skipped: under load it
  // was one of a loaded RPC server's six system calls per 64 messages, and finds nothing new
  // that could not wait a few more microseconds.
  void poll_ready_events() override {
    if (SteadyClock::now() - last_look_ < kPollGap) return;
    poll();
  }

 private:
  static constexpr auto kPollGap = std::chrono::microseconds(50);
  // cpu_contended(): over a window of at least kContentionWindow, this thread waited in a run
  // queue for more than 1/kContendedShare of the window's time; it stays so for kContendedHold
  // after such a window (a busy machine is busy for a while, and a short window of no waiting
  // says little).
  static constexpr auto kContentionWindow = std::chrono::milliseconds(5);
  static constexpr auto kContendedHold = std::chrono::milliseconds(200);
  static constexpr int64_t kContendedShare = 20;

  void poll() {
    io_.poll();
    if (io_.stopped()) io_.restart();
    last_look_ = SteadyClock::now();
    if (last_look_ - window_start_ >= kContentionWindow) sample_cpu_wait();
  }

  bool cpu_contended() const override { return last_look_ < contended_until_; }

  // Reads the kernel's run-queue wait of this thread (schedstat: "run_ns wait_ns slices").
  void sample_cpu_wait() {
    if (schedstat_fd_ == -2) {
      schedstat_fd_ = ::open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
    }
    if (schedstat_fd_ < 0) return;
    char text[96];
    const ssize_t n = ::pread(schedstat_fd_, text, sizeof text - 1, 0);
    if (n <= 0) return;
    text[n] = '\0';
    unsigned long long run_ns = 0, wait_ns = 0;
    if (std::sscanf(text, "%llu %llu", &run_ns, &wait_ns) != 2) return;
    const int64_t window_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(last_look_ - window_start_).count();
    const auto waited_ns = static_cast<int64_t>(wait_ns - last_wait_ns_);
    if (last_wait_ns_ != 0 && waited_ns * kContendedShare > window_ns) {
      contended_until_ = last_look_ + kContendedHold;
    }
    last_wait_ns_ = wait_ns;
    window_start_ = last_look_;
  }

  asio::io_context& io_;
  SteadyClock::time_point epoch_;
  SteadyClock::time_point last_look_{};
  SteadyClock::time_point window_start_{};
  int schedstat_fd_ = -2;  // -2: not opened yet; -1: not available
  unsigned long long last_wait_ns_ = 0;
  SteadyClock::time_point contended_until_{};
};

class SteadyProcessClock final : public flow::IClock {
 public:
  explicit SteadyProcessClock(const AsioReactor& r) : reactor_(r) {}
  flow::Time now() const override { return reactor_.now(); }

 private:
  const AsioReactor& reactor_;
};

// A TCP connection. Reads land in a buffer of our own and are copied out on the scheduler's
// thread only if the reader still waits: a cancelled reader's buffer may be gone by then. Writes
// are copied before they start, for the same reason.
class AsioConnection final : public flow::IConnection,
                             public std::enable_shared_from_this<AsioConnection> {
 public:
  explicit AsioConnection(tcp::socket socket) : socket_(std::move(socket)) {
    boost::system::error_code ec;
    socket_.set_option(tcp::no_delay(true), ec);
    peer_ = from_endpoint(socket_.remote_endpoint(ec));
  }

  flow::Future<size_t> read_some(std::span<uint8_t> buffer) override {
    ASSERT(!buffer.empty());
    if (failed_) return Error(ErrorCode::connection_failed);
    if (pending_begin_ < pending_end_) return copy_pending(buffer);
    // Bytes already in the socket are read at once. Through the reactor even a read that is
    // done at once posts its completion: the reader parks, and the loop runs the reactor twice
    // (two epoll_waits) before it resumes. Direct reads are budgeted so that a peer that keeps
    // the socket full still lets the loop poll the world (see kDirectOpsMax).
    // A read that drained the socket (it returned less than it had room for) leaves the next
    // one to the reactor, as asio itself does: trying at once would mostly cost a recv that
    // finds nothing, before asio's own.
    if (direct_reads_left_ > 0 && !drained_) {
      --direct_reads_left_;
      const ssize_t n = ::recv(socket_.native_handle(), buffer.data(), buffer.size(), MSG_DONTWAIT);
      if (n > 0) {
        drained_ = static_cast<size_t>(n) < buffer.size();
        return static_cast<size_t>(n);
      }
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        failed_ = true;  // the peer closed the connection, or it failed
        return Error(ErrorCode::connection_failed);
      }
    }
    flow::Promise<size_t> p;
    flow::Future<size_t> f = p.get_future();
    pending_begin_ = pending_end_ = 0;
    socket_.async_read_some(
        asio::buffer(pending_.get(), kReadBytes),
        [self = shared_from_this(), p, buffer](const boost::system::error_code& ec, size_t n) {
          if (ec) {
            self->failed_ = true;
            if (p.can_be_set()) p.send_error(Error(ErrorCode::connection_failed));
            return;
          }
          self->pending_end_ = n;
          self->direct_reads_left_ = kDirectOpsMax;
          self->drained_ = n < kReadBytes;
          // Copy out only for a reader still waiting; otherwise keep the bytes for the next read.
          if (p.future_count() > 0 && p.can_be_set()) p.send(self->copy_pending(buffer));
        });
    return f;
  }

  flow::Future<flow::Void> write(std::span<const uint8_t> data) override {
    if (failed_) return Error(ErrorCode::connection_failed);
    // Most writes fit in the socket's buffer: hand them over at once. Through the reactor, a
    // write that completes at once still posts its completion, so the writer parks and the loop
    // runs the reactor twice (two epoll_waits) before it resumes: 4 of a loaded RPC client's 9
    // system calls per 64 messages. Only what the socket does not take goes through the reactor.
    if (direct_writes_left_ > 0) {
      --direct_writes_left_;
      const ssize_t sent =
          ::send(socket_.native_handle(), data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        failed_ = true;
        return Error(ErrorCode::connection_failed);
      }
      if (sent > 0) {
        ASSERT_LE(static_cast<size_t>(sent), data.size());
        data = data.subspan(static_cast<size_t>(sent));
        if (data.empty()) return flow::Void{};
      }
    }
    auto owned = std::make_shared<std::vector<uint8_t>>(data.begin(), data.end());
    flow::Promise<flow::Void> p;
    flow::Future<flow::Void> f = p.get_future();
    asio::async_write(
        socket_, asio::buffer(*owned),
        [self = shared_from_this(), p, owned](const boost::system::error_code& ec, size_t) {
          if (ec) {
            self->failed_ = true;
            p.send_error(Error(ErrorCode::connection_failed));
          } else {
            self->direct_writes_left_ = kDirectOpsMax;
            p.send();
          }
        });
    return f;
  }

  void close() override {
    failed_ = true;
    boost::system::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }

  flow::NetworkAddress peer_address() const override { return peer_; }

 private:
  static constexpr size_t kReadBytes = 64 * 1024;
  // Reads (writes) in a row done at once, without the reactor, before one goes through it: an
  // actor whose every read is ready never parks, and the loop polls the world only when the
  // current actor parks or yields.
  static constexpr int kDirectOpsMax = 64;

  size_t copy_pending(std::span<uint8_t> buffer) {
    const size_t n = std::min(buffer.size(), pending_end_ - pending_begin_);
    std::memcpy(buffer.data(), pending_.get() + pending_begin_, n);
    pending_begin_ += n;
    return n;
  }

  tcp::socket socket_;
  flow::NetworkAddress peer_;
  // Bytes read but not yet handed out: pending_[pending_begin_, pending_end_).
  std::unique_ptr<uint8_t[]> pending_{new uint8_t[kReadBytes]};
  size_t pending_begin_ = 0;
  size_t pending_end_ = 0;
  int direct_reads_left_ = kDirectOpsMax;
  int direct_writes_left_ = kDirectOpsMax;
  bool drained_ = false;  // the last read found fewer bytes than it had room for
  bool failed_ = false;
};

class AsioListener final : public flow::IListener {
 public:
  AsioListener(tcp::acceptor acceptor, flow::NetworkAddress local)
      : acceptor_(std::make_shared<tcp::acceptor>(std::move(acceptor))), local_(local) {}
  ~AsioListener() override { close(); }

  flow::Future<std::shared_ptr<flow::IConnection>> accept() override {
    flow::Promise<std::shared_ptr<flow::IConnection>> p;
    auto f = p.get_future();
    acceptor_->async_accept([p, keep = acceptor_](const boost::system::error_code& ec,
                                                  tcp::socket socket) {
      if (ec) {
        p.send_error(Error(ErrorCode::connection_failed));
        return;
      }
      p.send(
          std::shared_ptr<flow::IConnection>(std::make_shared<AsioConnection>(std::move(socket))));
    });
    return f;
  }
  flow::NetworkAddress local_address() const override { return local_; }
  void close() override {
    boost::system::error_code ec;
    acceptor_->close(ec);
  }

 private:
  std::shared_ptr<tcp::acceptor> acceptor_;
  flow::NetworkAddress local_;
};

class AsioNetwork final : public flow::INetwork {
 public:
  explicit AsioNetwork(asio::io_context& io) : io_(io) {}

  flow::Future<std::shared_ptr<flow::IConnection>> connect(flow::NetworkAddress peer) override {
    flow::Promise<std::shared_ptr<flow::IConnection>> p;
    auto f = p.get_future();
    auto socket = std::make_shared<tcp::socket>(io_);
    socket->async_connect(to_endpoint(peer), [p, socket](const boost::system::error_code& ec) {
      if (ec) {
        p.send_error(Error(ErrorCode::connection_failed));
        return;
      }
      p.send(
          std::shared_ptr<flow::IConnection>(std::make_shared<AsioConnection>(std::move(*socket))));
    });
    return f;
  }

  std::shared_ptr<flow::IListener> listen(flow::NetworkAddress local) override {
    boost::system::error_code ec;
    tcp::acceptor acceptor(io_);
    const tcp::endpoint at = to_endpoint(local);
    acceptor.open(at.protocol(), ec);
    if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor.bind(at, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      flow::TraceEvent(flow::SevWarnAlways, "ListenFailed")
          .detail("Address", local.to_string())
          .detail("Reason", ec.message());
      throw Error(ErrorCode::bind_failed);
    }
    const flow::NetworkAddress bound = from_endpoint(acceptor.local_endpoint(ec));
    return std::make_shared<AsioListener>(std::move(acceptor), bound);
  }

 private:
  asio::io_context& io_;
};

Error errno_error(int e) {
  if (e == ENOENT) return Error(ErrorCode::file_not_found);
  if (e == ENOSPC || e == EDQUOT) return Error(ErrorCode::disk_full);
  return Error(ErrorCode::io_error);
}

}  // namespace

struct AsioWorld::Impl {
  explicit Impl(int io_threads) : pool(io_threads), reactor(io), clock(reactor), network(io) {}

  // Runs `fn` on a pool thread and delivers its result on the scheduler's thread. `fn` must touch
  // only plain data it owns (no flow objects): the promise never leaves this thread.
  template <class T, class Fn>
  flow::Future<T> run_blocking(Fn fn) {
    return run_blocking_holding<T>(
        std::monostate{}, [fn = std::move(fn)](std::monostate&) mutable { return fn(); },
        [](std::monostate&&) {});
  }

  // Runs `fn(bytes)` on a pool thread, with a copy of `data` made here into a recycled buffer,
  // and delivers its result on the scheduler's thread, where the buffer goes back to the spares.
  // The caller's `data` may change or go away as soon as this returns. Recycling matters: a log
  // writes a fresh batch of up to megabytes per commit, and a new buffer each time costs a page
  // fault per 4 KiB (more than the copy and the kernel's own copy together).
  template <class T, class Fn>
  flow::Future<T> run_blocking_with_copy(std::span<const uint8_t> data, Fn fn) {
    std::vector<uint8_t> bytes;
    if (!spare_buffers.empty()) {
      bytes = std::move(spare_buffers.back());
      spare_buffers.pop_back();
    }
    bytes.assign(data.begin(), data.end());
    return run_blocking_holding<T>(
        std::move(bytes),
        [fn = std::move(fn)](std::vector<uint8_t>& b) mutable {
          return fn(std::span<const uint8_t>(b));
        },
        [this](std::vector<uint8_t>&& b) {
          if (spare_buffers.size() < kSpareBuffersMax && b.capacity() <= kSpareBufferBytesMax)
            spare_buffers.push_back(std::move(b));
        });
  }

  // The two above: `fn(held)` runs on a pool thread; `release(held)` and the result's delivery
  // happen on the scheduler's thread, after the pool thread is done with `held`.
  template <class T, class Held, class Fn, class Release>
  flow::Future<T> run_blocking_holding(Held held, Fn fn, Release release) {
    struct Op {
      flow::Promise<T> promise;
      Held held;
      std::optional<flow::ErrorOr<T>> result;
    };
    auto* op = new Op{flow::Promise<T>(), std::move(held), std::nullopt};
    flow::Future<T> f = op->promise.get_future();
    io.get_executor().on_work_started();
    pool.post([this, op, fn = std::move(fn), release = std::move(release)]() mutable {
      op->result.emplace(fn(op->held));
      asio::post(io, [this, op, release = std::move(release)]() mutable {
        io.get_executor().on_work_finished();
        release(std::move(op->held));
        if (op->result->ok()) {
          op->promise.send(std::move(op->result->get()));
        } else {
          op->promise.send_error(op->result->error());
        }
        delete op;
      });
    });
    return f;
  }

  static constexpr size_t kSpareBuffersMax = 8;
  static constexpr size_t kSpareBufferBytesMax = size_t{16} << 20;
  std::vector<std::vector<uint8_t>> spare_buffers;  // this thread only

  // Sockets and timers are touched by this thread alone, so the reactor's per-descriptor locks
  // are off; the I/O threads only post completions, which keeps the scheduler's own lock on.
  asio::io_context io{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  BlockingPool pool;  // after io: its jobs post their results there until it is joined
  AsioReactor reactor;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> kept_running;  // keep_running(true)
  SteadyProcessClock clock;
  AsioNetwork network;
};

namespace {

std::string join_path(const std::string& folder, const std::string& path) {
  if (!path.empty() && path.front() == '/') return path;
  return folder + "/" + path;
}

int sync_directory_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string dir =
      slash == std::string::npos ? "." : path.substr(0, std::max<size_t>(slash, 1));
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  const int rc = ::fsync(fd);
  const int e = rc < 0 ? errno : 0;
  ::close(fd);
  return e;
}

// Makes `folder` if it is missing, durably: the folder itself is synced (so what is later
// created in it starts from a durable entry), then the folder that holds it (so the new entry is
// durable). Throws (io_error, disk_full, ...) if it cannot be made, or exists and is no folder.
void create_folder_durably(const std::string& folder) {
  if (::mkdir(folder.c_str(), 0755) < 0) {
    const int e = errno;
    struct stat st {};
    if (e == EEXIST && ::stat(folder.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return;
    throw e == EEXIST ? Error(ErrorCode::io_error) : errno_error(e);
  }
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw errno_error(errno);
  const int rc = ::fsync(fd);
  const int e = rc < 0 ? errno : 0;
  ::close(fd);
  if (e != 0) throw errno_error(e);
  std::string path = folder;
  while (path.size() > 1 && path.back() == '/')
    path.pop_back();
  if (const int parent = sync_directory_of(path)) throw errno_error(parent);
}

// Writes all of `bytes` at `offset`; returns 0, or the errno that stopped it.
int write_all(int fd, std::span<const uint8_t> bytes, int64_t offset) {
  size_t put = 0;
  while (put < bytes.size()) {
    const ssize_t n = ::pwrite(fd, bytes.data() + put, bytes.size() - put,
                               static_cast<off_t>(offset + static_cast<int64_t>(put)));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    put += static_cast<size_t>(n);
  }
  return 0;
}

// A file descriptor closed when the file and every operation in flight are done with it, so a
// pool thread never uses a closed (or reused) descriptor.
struct Fd {
  int fd;
  explicit Fd(int f) : fd(f) {}
  ~Fd() { ::close(fd); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

class PosixFile final : public flow::IAsyncFile {
 public:
  PosixFile(AsioWorld::Impl& world, std::shared_ptr<Fd> fd, std::string path)
      : world_(world), fd_(std::move(fd)), path_(std::move(path)) {}

  flow::Future<size_t> read(std::span<uint8_t> buffer, int64_t offset) override {
    // Bytes already in the OS page cache are read here at once: RWF_NOWAIT fails (EAGAIN) or
    // comes back short instead of waiting for the disk, and then the pool does the read. A
    // round trip through the pool costs tens of microseconds; a cached read, about one.
    if (std::optional<size_t> n = read_cached(buffer, offset)) return flow::Future<size_t>(*n);
    // Read into our own vector on the pool; copy out here, if the reader still waits.
    auto data = std::make_shared<std::vector<uint8_t>>(buffer.size());
    flow::Promise<size_t> done;
    flow::Future<size_t> result = done.get_future();
    flow::Future<size_t> read =
        world_.run_blocking<size_t>([fd_ref = fd_, data, offset]() -> flow::ErrorOr<size_t> {
          size_t got = 0;
          while (got < data->size()) {
            const ssize_t n = ::pread(fd_ref->fd, data->data() + got, data->size() - got,
                                      static_cast<off_t>(offset + static_cast<int64_t>(got)));
            if (n < 0) {
              if (errno == EINTR) continue;
              return errno_error(errno);
            }
            if (n == 0) break;
            got += static_cast<size_t>(n);
          }
          return got;
        });
    return copy_out(std::move(read), data, buffer);
  }

  flow::Future<flow::Void> write(std::span<const uint8_t> data, int64_t offset) override {
    return world_.run_blocking_with_copy<flow::Void>(
        data, [fd_ref = fd_, offset](std::span<const uint8_t> bytes) -> flow::ErrorOr<flow::Void> {
          if (const int e = write_all(fd_ref->fd, bytes, offset)) return errno_error(e);
          return flow::Void{};
        });
  }

  flow::Future<flow::Void> write_and_sync(std::span<const uint8_t> data, int64_t offset) override {
    return world_.run_blocking_with_copy<flow::Void>(
        data, [fd_ref = fd_, offset](std::span<const uint8_t> bytes) -> flow::ErrorOr<flow::Void> {
          if (const int e = write_all(fd_ref->fd, bytes, offset)) return errno_error(e);
          if (::fdatasync(fd_ref->fd) < 0) return errno_error(errno);
          return flow::Void{};
        });
  }

  flow::Future<flow::Void> truncate(int64_t size) override {
    return world_.run_blocking<flow::Void>([fd_ref = fd_, size]() -> flow::ErrorOr<flow::Void> {
      if (::ftruncate(fd_ref->fd, static_cast<off_t>(size)) < 0) return errno_error(errno);
      return flow::Void{};
    });
  }

  flow::Future<flow::Void> allocate(int64_t bytes) override {
    return world_.run_blocking<flow::Void>([fd_ref = fd_, bytes]() -> flow::ErrorOr<flow::Void> {
      struct stat st {};
      if (::fstat(fd_ref->fd, &st) < 0) return errno_error(errno);
      if (st.st_size >= bytes) return flow::Void{};
      // posix_fallocate returns the error rather than setting errno.
      if (const int e = ::posix_fallocate(fd_ref->fd, 0, static_cast<off_t>(bytes)))
        return errno_error(e);
      return flow::Void{};
    });
  }

  flow::Future<flow::Void> sync() override {
    return world_.run_blocking<flow::Void>([fd_ref = fd_]() -> flow::ErrorOr<flow::Void> {
      if (::fdatasync(fd_ref->fd) < 0) return errno_error(errno);
      return flow::Void{};
    });
  }

  flow::Future<int64_t> size() override {
    return world_.run_blocking<int64_t>([fd_ref = fd_]() -> flow::ErrorOr<int64_t> {
      struct stat st {};
      if (::fstat(fd_ref->fd, &st) < 0) return errno_error(errno);
      return static_cast<int64_t>(st.st_size);
    });
  }

  const std::string& path() const override { return path_; }

 private:
  // The whole read, if the page cache holds all of it (or it is wholly past the end).
  std::optional<size_t> read_cached(std::span<uint8_t> buffer, int64_t offset) const {
#ifdef RWF_NOWAIT
    iovec v{buffer.data(), buffer.size()};
    const ssize_t n = ::preadv2(fd_->fd, &v, 1, static_cast<off_t>(offset), RWF_NOWAIT);
    if (n >= 0 && static_cast<size_t>(n) == buffer.size()) return buffer.size();
    if (n == 0) return size_t{0};  // at or past the end
#else
    (void)buffer, (void)offset;
#endif
    return std::nullopt;
  }

  static flow::Future<size_t> copy_out(flow::Future<size_t> read,
                                       std::shared_ptr<std::vector<uint8_t>> data,
                                       std::span<uint8_t> buffer);

  AsioWorld::Impl& world_;
  std::shared_ptr<Fd> fd_;
  std::string path_;
};

flow::Future<size_t> PosixFile::copy_out(flow::Future<size_t> read,
                                         std::shared_ptr<std::vector<uint8_t>> data,
                                         std::span<uint8_t> buffer) {
  // A cancelled reader drops this actor before the copy, so a freed buffer is never written.
  return flow::spawn([read, data, buffer] {
    const size_t n = flow::wait(read);
    if (n) std::memcpy(buffer.data(), data->data(), n);
    return n;
  });
}

class PosixFileSystem final : public flow::IFileSystem {
 public:
  PosixFileSystem(AsioWorld::Impl& world, std::string folder)
      : world_(world), folder_(std::move(folder)) {
    create_folder_durably(folder_);
  }

  flow::Future<std::shared_ptr<flow::IAsyncFile>> open(std::string path,
                                                       flow::OpenMode mode) override {
    const std::string full = join_path(folder_, path);
    int flags = O_CLOEXEC;
    switch (mode) {
      case flow::OpenMode::kReadOnly:
        flags |= O_RDONLY;
        break;
      case flow::OpenMode::kReadWrite:
        flags |= O_RDWR;
        break;
      case flow::OpenMode::kReadWriteCreate:
        flags |= O_RDWR | O_CREAT;
        break;
      case flow::OpenMode::kCreateExclusive:
        flags |= O_RDWR | O_CREAT | O_EXCL;
        break;
    }
    // The descriptor is owned from the start, so an open whose caller gave up still closes it.
    flow::Future<std::shared_ptr<Fd>> opened = world_.run_blocking<std::shared_ptr<Fd>>(
        [full, flags]() -> flow::ErrorOr<std::shared_ptr<Fd>> {
          const int fd = ::open(full.c_str(), flags, 0644);
          if (fd < 0) return errno_error(errno);
          auto owned = std::make_shared<Fd>(fd);
          // A created file's name is durable only once its directory is synced.
          if (flags & O_CREAT) {
            if (const int e = sync_directory_of(full)) return errno_error(e);
          }
          return owned;
        });
    return flow::spawn([this, opened, full]() -> std::shared_ptr<flow::IAsyncFile> {
      return std::make_shared<PosixFile>(world_, flow::wait(opened), full);
    });
  }

  flow::Future<flow::Void> remove(std::string path) override {
    return world_.run_blocking<flow::Void>(
        [full = join_path(folder_, path)]() -> flow::ErrorOr<flow::Void> {
          if (::unlink(full.c_str()) < 0 && errno != ENOENT) return errno_error(errno);
          if (const int e = sync_directory_of(full)) return errno_error(e);
          return flow::Void{};
        });
  }

  flow::Future<bool> exists(std::string path) override {
    return world_.run_blocking<bool>([full = join_path(folder_, path)]() -> flow::ErrorOr<bool> {
      struct stat st {};
      return ::stat(full.c_str(), &st) == 0;
    });
  }

  flow::Future<flow::Void> rename(std::string from, std::string to) override {
    return world_.run_blocking<flow::Void>(
        [a = join_path(folder_, from), b = join_path(folder_, to)]() -> flow::ErrorOr<flow::Void> {
          if (::rename(a.c_str(), b.c_str()) < 0) return errno_error(errno);
          if (const int e = sync_directory_of(b)) return errno_error(e);
          return flow::Void{};
        });
  }

  flow::Future<std::vector<std::string>> list(std::string directory) override {
    return world_.run_blocking<std::vector<std::string>>(
        [full = join_path(folder_, directory)]() -> flow::ErrorOr<std::vector<std::string>> {
          DIR* d = ::opendir(full.c_str());
          if (d == nullptr) return errno_error(errno);
          std::vector<std::string> names;
          while (const dirent* e = ::readdir(d)) {
            const std::string name = e->d_name;
            if (name != "." && name != "..") names.push_back(name);
          }
          ::closedir(d);
          std::sort(names.begin(), names.end());
          return names;
        });
  }

 private:
  AsioWorld::Impl& world_;
  std::string folder_;
};

}  // namespace

AsioWorld::AsioWorld(int io_threads) : impl_(std::make_unique<Impl>(io_threads)) {}
AsioWorld::~AsioWorld() = default;

flow::IReactor& AsioWorld::reactor() {
  return impl_->reactor;
}
flow::INetwork& AsioWorld::network() {
  return impl_->network;
}
flow::IClock& AsioWorld::clock() {
  return impl_->clock;
}

std::unique_ptr<flow::IFileSystem> AsioWorld::make_file_system(std::string data_folder) {
  return std::make_unique<PosixFileSystem>(*impl_, std::move(data_folder));
}

void AsioWorld::attach(flow::Process& p, std::string data_folder) {
  attached_fs_ = make_file_system(std::move(data_folder));
  p.set_network(&impl_->network);
  p.set_clock(&impl_->clock);
  p.set_file_system(attached_fs_.get());
}

void AsioWorld::post(std::function<void()> fn) {
  asio::post(impl_->io, std::move(fn));
}

void AsioWorld::keep_running(bool on) {
  if (on && !impl_->kept_running) impl_->kept_running.emplace(impl_->io.get_executor());
  if (!on) impl_->kept_running.reset();
}

flow::NetworkAddress free_loopback_address() {
  asio::io_context io;
  tcp::acceptor probe(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  return from_endpoint(probe.local_endpoint());
}

}  // namespace net
