#pragma once
// run_in_child — runs a function in a forked child process, for tests of crashes (death tests):
// what the child printed and how it ended come back to the test, which survives the crash. The
// child's stdout goes to the same pipe, so that doctest's own crash report (its signal handlers
// are inherited) does not mix into the parent's output.

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

namespace flow::testing {

struct ChildResult {
  int signal = 0;      // the signal that ended the child, or 0
  int exit_code = -1;  // its exit code when it exited, else -1
  std::string err;     // everything it wrote to stderr (and stdout)
};

// Forks; the child runs fn() with stderr and stdout going to a pipe, and exits 0 if fn returns.
inline ChildResult run_in_child(const std::function<void()>& fn) {
  // Whatever the parent has buffered would otherwise be written twice, once by the child.
  std::fflush(stdout);
  std::fflush(stderr);
  int fds[2];
  if (pipe(fds) != 0) std::abort();
  const pid_t pid = fork();
  if (pid < 0) std::abort();
  if (pid == 0) {
    close(fds[0]);
    dup2(fds[1], STDERR_FILENO);
    dup2(fds[1], STDOUT_FILENO);
    close(fds[1]);
    fn();
    _exit(0);
  }
  close(fds[1]);
  ChildResult r;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fds[0], buf, sizeof(buf));
    if (n <= 0) break;
    r.err.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
  }
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  return r;
}

}  // namespace flow::testing
