#pragma once
// What every program's main shares: its arguments parsed with CLI11, --help answered, and a bad
// argument said in one line (exit status 2), the same way in every program.

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace programs {

// Parses argv into `app`'s options. --help: prints the help to stdout and exits 0. A bad
// argument: prints "NAME: what is wrong" and a hint on stderr and exits 2.
inline void parse_or_exit(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    std::exit(0);
  } catch (const CLI::ParseError& e) {
    const std::string name = app.get_name();
    std::fprintf(stderr, "%s: %s\n(%s --help lists the options)\n", name.c_str(), e.what(),
                 name.c_str());
    std::exit(2);
  }
}

// A bad argument found after parsing: says so as parse_or_exit does, and exits 2.
[[noreturn]] inline void usage_error(const CLI::App& app, const std::string& what) {
  const std::string name = app.get_name();
  std::fprintf(stderr, "%s: %s\n(%s --help lists the options)\n", name.c_str(), what.c_str(),
               name.c_str());
  std::exit(2);
}

}  // namespace programs
