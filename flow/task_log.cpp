#include "flow/task_log.h"

#include <fmt/format.h>

#include <algorithm>

#include "flow/process.h"

namespace flow {

uint32_t TaskLog::process_index(const Process& p) {
  // Consecutive tasks are mostly in one process; the name check guards against a process that
  // was destroyed and another made at the same address.
  if (&p == last_process_ && process_names_[last_process_index_] == p.name()) {
    return last_process_index_;
  }
  auto [it, added] =
      index_of_name_.try_emplace(p.name(), static_cast<uint32_t>(process_names_.size()));
  if (added) process_names_.push_back(p.name());
  last_process_ = &p;
  last_process_index_ = it->second;
  return it->second;
}

void TaskLog::record(uint64_t actor, const Process& process, TaskPriority priority, Kind kind) {
  const Task t{actor, process_index(process), priority, kind};
  // A running 64-bit mix of every entry (the process by its index: names map to indices in
  // order of first appearance, itself part of what must match).
  const uint64_t word = (actor << 24) ^ (uint64_t{t.process} << 10) ^
                        (uint64_t{static_cast<uint8_t>(priority)} << 2) ^
                        static_cast<uint64_t>(kind);
  digest_ = (digest_ ^ word) * 0x9e3779b97f4a7c15ull;
  digest_ ^= digest_ >> 29;
  ++count_;
  if (tasks_.size() < kTasksKeptMax) tasks_.push_back(t);
}

std::string TaskLog::describe(const Task& t) const {
  const char* kind = t.kind == Kind::kRun ? "run" : t.kind == Kind::kStart ? "started" : "cancelled";
  return fmt::format("actor #{} of process '{}' {} at priority {}", t.actor,
                     process_names_.at(t.process), kind, task_priority_name(t.priority));
}

uint64_t TaskLog::first_difference_index(const TaskLog& a, const TaskLog& b) {
  const size_t kept = std::min(a.tasks_.size(), b.tasks_.size());
  for (size_t i = 0; i < kept; ++i) {
    const Task& x = a.tasks_[i];
    const Task& y = b.tasks_[i];
    if (x.actor != y.actor || x.priority != y.priority || x.kind != y.kind ||
        a.process_names_[x.process] != b.process_names_[y.process]) {
      return i;
    }
  }
  if (a.count_ == b.count_ && a.digest_ == b.digest_) return a.count_;
  return kept;
}

std::string TaskLog::first_difference(const TaskLog& a, const TaskLog& b) {
  const uint64_t i = first_difference_index(a, b);
  if (i == a.count_ && a.count_ == b.count_ && a.digest_ == b.digest_) return "";
  if (i < a.tasks_.size() && i < b.tasks_.size()) {
    return fmt::format("task #{} differs\n  first:  {}\n  second: {}", i + 1,
                       a.describe(a.tasks_[i]), b.describe(b.tasks_[i]));
  }
  if (i < a.tasks_.size() || i < b.tasks_.size()) {
    const bool first_longer = i < a.tasks_.size();
    const TaskLog& longer = first_longer ? a : b;
    return fmt::format("one run ran {} tasks, the other {}; the first extra one ({} run): {}",
                       a.count_, b.count_, first_longer ? "first" : "second",
                       longer.describe(longer.tasks_[i]));
  }
  return fmt::format(
      "the order of tasks differs after the first {} (not kept): {} vs {} tasks, digests {:#x} vs "
      "{:#x}",
      i, a.count_, b.count_, a.digest_, b.digest_);
}

}  // namespace flow
