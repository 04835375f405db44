#include "flow/knobs.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <variant>

#include <fmt/format.h>

#include "flow/assert.h"

namespace flow {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

template <class T>
bool parse_number(std::string_view text, T* out) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  T v{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return false;
  *out = v;
  return true;
}

bool parse_bool(std::string_view text, bool* out) {
  const std::string t = lower(text);
  if (t == "true" || t == "1" || t == "on") {
    *out = true;
  } else if (t == "false" || t == "0" || t == "off") {
    *out = false;
  } else {
    return false;
  }
  return true;
}

}  // namespace

void KnobSet::add(std::string name, Storage storage,
                  std::function<void(DeterministicRandom&)> randomize) {
  name = lower(name);
  ASSERT_MSG(find(name) == nullptr, "knob {} declared twice", name);
  entries_.push_back(Entry{std::move(name), storage, std::move(randomize), std::nullopt});
}

const KnobSet::Entry* KnobSet::find(std::string_view name) const {
  const std::string key = lower(trim(name));
  for (const Entry& e : entries_) {
    if (e.name == key) return &e;
  }
  return nullptr;
}

ErrorOr<Void> KnobSet::set(std::string_view name, std::string_view text) {
  const Entry* e = find(name);
  if (e == nullptr) return Error(ErrorCode::unknown_knob);
  text = trim(text);
  // The value before, to restore if the new one is out of bounds.
  const std::variant<int64_t, double, bool, std::string, Duration> before =
      std::visit([](auto* p) -> std::variant<int64_t, double, bool, std::string, Duration> { return *p; }, e->storage);
  const bool ok = std::visit(
      [&](auto* p) -> bool {
        using T = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_same_v<T, bool>) {
          return parse_bool(text, p);
        } else if constexpr (std::is_same_v<T, std::string>) {
          *p = std::string(text);
          return true;
        } else if constexpr (std::is_same_v<T, Duration>) {
          double seconds = 0;
          if (!parse_number(text, &seconds) || !(seconds >= 0 && seconds <= 1e9)) return false;
          *p = from_seconds(seconds);
          return true;
        } else {
          return parse_number(text, p);
        }
      },
      e->storage);
  if (!ok) return Error(ErrorCode::invalid_knob_value);
  if (e->bounds) {
    const double v = std::visit(
        [](auto* p) -> double {
          using T = std::remove_pointer_t<decltype(p)>;
          if constexpr (std::is_same_v<T, Duration>) return to_seconds(*p);
          else if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, bool>) return 0;
          else return static_cast<double>(*p);
        },
        e->storage);
    if (!(v >= e->bounds->first && v <= e->bounds->second)) {
      std::visit([&](auto* p) { *p = std::get<std::remove_pointer_t<decltype(p)>>(before); }, e->storage);
      return Error(ErrorCode::invalid_knob_value);
    }
  }
  return Void{};
}

void KnobSet::bound(std::string_view name, double min, double max) {
  const Entry* found = find(name);
  ASSERT_MSG(found != nullptr, "no knob named {}", name);
  const_cast<Entry*>(found)->bounds = std::make_pair(min, max);  // find() is const; the entry is ours
}

std::optional<std::pair<double, double>> KnobSet::bounds(std::string_view name) const {
  const Entry* e = find(name);
  return e == nullptr ? std::nullopt : e->bounds;
}

ErrorOr<Void> KnobSet::set_assignment(std::string_view assignment) {
  const size_t eq = assignment.find('=');
  if (eq == std::string_view::npos) return Error(ErrorCode::invalid_knob_value);
  return set(assignment.substr(0, eq), assignment.substr(eq + 1));
}

std::string KnobSet::value_text(std::string_view name) const {
  const Entry* e = find(name);
  ASSERT_MSG(e != nullptr, "no knob named {}", name);
  return std::visit(
      [](auto* p) {
        if constexpr (std::is_same_v<std::remove_pointer_t<decltype(p)>, Duration>) {
          return fmt::format("{}", to_seconds(*p));
        } else {
          return fmt::format("{}", *p);
        }
      },
      e->storage);
}

std::vector<std::string> KnobSet::names() const {
  std::vector<std::string> out;
  for (const Entry& e : entries_)
    out.push_back(e.name);
  return out;
}

void KnobSet::randomize(DeterministicRandom& random) {
  for (Entry& e : entries_) {
    if (e.randomize) e.randomize(random);
  }
}

}  // namespace flow
