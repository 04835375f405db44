#pragma once
// KnobSet — named, typed tuning parameters, overridable by name=value and randomizable.
//
// A layer keeps its knobs as plain members of a struct (see flow/flow_knobs.h) and declares each
// one here with its name and, optionally, how to randomize it. Under buggify in simulation every
// knob with a randomizer may be given an unusual value, so tests exercise the settings production
// never chooses; an explicit override (--knob name=value) always wins over randomization.
// Names are snake_case and matched case-insensitively, so FoundationDB's spec files apply.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <string_view>
#include <variant>
#include <vector>

#include "flow/error_or.h"
#include "flow/future.h"
#include "flow/time.h"

namespace flow {

class DeterministicRandom;

class KnobSet {
 public:
  // A Duration knob is set and shown in seconds (decimal, 0 to 1e9).
  using Storage = std::variant<int64_t*, double*, bool*, std::string*, Duration*>;

  // Declares a knob stored at `storage`. `randomize`, when given, may change the value.
  template <class T>
  void declare(std::string name, T* storage,
               std::function<void(DeterministicRandom&, T&)> randomize = {}) {
    std::function<void(DeterministicRandom&)> r;
    if (randomize) r = [storage, randomize](DeterministicRandom& rng) { randomize(rng, *storage); };
    add(std::move(name), Storage(storage), std::move(r));
  }

  // Sets a knob from text. unknown_knob if no knob has that name; invalid_knob_value if the text
  // does not parse as the knob's type (integers: decimal, optional sign; doubles: decimal or
  // exponent form; bools: true/false/1/0/on/off; durations: seconds as a double, 0 to 1e9).
  ErrorOr<Void> set(std::string_view name, std::string_view text);
  // Parses "name=value" and sets it.
  ErrorOr<Void> set_assignment(std::string_view assignment);

  // Limits what set() accepts for the numeric (or duration, in seconds) knob `name` to
  // [min, max]: a value outside is invalid_knob_value, and the knob keeps its value. A value from
  // outside the process (a --knob) must never reach a check that asserts. REQUIRES: has(name).
  void bound(std::string_view name, double min, double max);
  // The bounds of `name`, if it has any.
  std::optional<std::pair<double, double>> bounds(std::string_view name) const;

  bool has(std::string_view name) const { return find(name) != nullptr; }
  // The current value as text. REQUIRES: has(name).
  std::string value_text(std::string_view name) const;
  // Every knob name, in declaration order.
  std::vector<std::string> names() const;

  // Runs every randomizer, in declaration order.
  void randomize(DeterministicRandom& random);

 private:
  struct Entry {
    std::string name;
    Storage storage;
    std::function<void(DeterministicRandom&)> randomize;
    std::optional<std::pair<double, double>> bounds;
  };
  void add(std::string name, Storage storage, std::function<void(DeterministicRandom&)> randomize);
  const Entry* find(std::string_view name) const;

  std::vector<Entry> entries_;
};

}  // namespace flow
