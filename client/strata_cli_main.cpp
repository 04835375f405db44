// strata-cli — the operator's command line for a real Strata cluster (docs/operations.md).
//
//   strata-cli --cluster-file strata.cluster                     interactive (line editing,
//   history) strata-cli --cluster-file strata.cluster --exec "status json"  one or more commands,
//   `;` between
//
// Keys and values are written and shown in FoundationDB's printable form (client/printable.h);
// `help` lists the commands. Each command gives up after --timeout seconds. Exit status of
// --exec: 0 when every command succeeded, 1 when one failed (it says why on stderr), 2 for bad
// arguments.

#include <editline/readline.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "client/database.h"
#include "client/printable.h"
#include "client/transaction.h"
#include "embed/cluster_file.h"
#include "flow/flow.h"
#include "net/asio/asio_world.h"
#include "programs/command_line.h"
#include "roles/cluster_controller/cluster_controller_interface.h"
#include "roles/common/cluster_description.h"
#include "roles/worker/worker_interface.h"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kHelp =
    "commands (keys and values printable: \\xNN for any byte, \\\\ for a backslash):\n"
    "  status [json]                 the cluster: processes, roles, replication, recovery, "
    "latency\n"
    "  get KEY                       the value of KEY\n"
    "  getrange BEGIN [END] [LIMIT]  keys in [BEGIN, END) (END: BEGIN\\xff), at most LIMIT (25)\n"
    "  set KEY VALUE                 sets KEY (needs writemode on)\n"
    "  clear KEY                     clears KEY (needs writemode on)\n"
    "  clearrange BEGIN END          clears [BEGIN, END) (needs writemode on)\n"
    "  writemode on|off              allows or refuses the commands that write\n"
    "  configure new [single|double|triple] [memory|ssd] [grv_proxies=N commit_proxies=N logs=N "
    "resolvers=N]\n"
    "                                creates the database\n"
    "  configure grv_proxies=N commit_proxies=N logs=N resolvers=N\n"
    "                                changes the role counts (a recovery)\n"
    "  coordinators auto|ADDRESS...  moves the cluster state to other coordinators\n"
    "  lock                          locks the database; prints the lock's uid\n"
    "  unlock UID                    unlocks the database locked by UID\n"
    "  kill [ADDRESS...]             lists the processes, or ends those named (to be started "
    "again)\n"
    "  help                          this list\n"
    "  exit, quit                    leaves the interactive mode\n";

// The words of a command line: split at spaces, "double quotes" keep spaces in one word.
std::optional<std::vector<std::string>> words_of(const std::string& line, std::string* why) {
  std::vector<std::string> out;
  std::string word;
  bool quoted = false, in_word = false;
  for (const char c : line) {
    if (c == '"') {
      quoted = !quoted;
      in_word = true;
    } else if (c == ' ' && !quoted) {
      if (in_word) out.push_back(word);
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (quoted) {
    *why = "a quote is not closed";
    return std::nullopt;
  }
  if (in_word) out.push_back(word);
  return out;
}

// Commands separated by `;` (outside quotes).
std::vector<std::string> split_commands(const std::string& text) {
  std::vector<std::string> out;
  std::string current;
  bool quoted = false;
  for (const char c : text) {
    if (c == '"') quoted = !quoted;
    if (c == ';' && !quoted) {
      out.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  out.push_back(current);
  return out;
}

struct Session {
  client::Database* db = nullptr;
  roles::ClusterDescription cluster;
  std::string cluster_file;
  bool write_mode = false;
};

// A command's failure, said in words.
struct CommandError {
  std::string why;
};

std::string key_arg(const std::string& text) {
  std::string why;
  flow::ErrorOr<std::string> bytes = client::unprintable(text, &why);
  if (!bytes.ok()) throw CommandError{"'" + text + "': " + why};
  return bytes.get();
}

void need_args(const std::vector<std::string>& w, size_t lo, size_t hi, const char* usage) {
  if (w.size() < lo || w.size() > hi) throw CommandError{std::string("usage: ") + usage};
}

void need_write_mode(const Session& s) {
  if (!s.write_mode)
    throw CommandError{"writemode is off: 'writemode on' allows commands that write"};
}

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// The controller's status with the client's own: the cluster file and a latency probe. May suspend.
std::string status_json(Session& s) {
  const std::string controller = s.db->controller_status();
  std::string probe = "null";
  if (controller.find("\"recovery_state\": \"accepting_commits\"") != std::string::npos) {
    client::Transaction t(*s.db);
    t.set_access_system_keys(true);
    t.set_lock_aware(true);
    auto t0 = Clock::now();
    t.get_read_version();
    const double grv = ms_since(t0);
    t0 = Clock::now();
    (void)t.get("\xff/status/probe");
    const double read = ms_since(t0);
    t.set("\xff/status/probe", "");
    t.clear("\xff/status/probe");
    t0 = Clock::now();
    t.commit();
    const double commit = ms_since(t0);
    probe = fmt::format("{{\"grv_ms\": {:.3f}, \"read_ms\": {:.3f}, \"commit_ms\": {:.3f}}}", grv,
                        read, commit);
  }
  // Splice the client's fields into the controller's object.
  std::string out = controller;
  if (out.empty() || out.back() != '}')
    throw CommandError{"the controller's status is not a JSON object"};
  out.pop_back();
  out += fmt::format(", \"cluster_file\": \"{}\", \"latency_probe\": {}}}",
                     client::printable(s.cluster_file), probe);
  return out;
}

// The status, for people: a few lines out of the JSON's fields. May suspend.
std::string status_text(Session& s) {
  const std::string j = s.db->controller_status();
  // The value of a top-level scalar field (a string's quotes dropped); the fields are ours.
  const auto field = [&j](const std::string& name) -> std::string {
    const size_t at = j.find("\"" + name + "\": ");
    if (at == std::string::npos) return "?";
    size_t begin = at + name.size() + 4;
    if (begin < j.size() && j[begin] == '"') {
      const size_t end = j.find('"', begin + 1);
      return j.substr(begin + 1, end - begin - 1);
    }
    const size_t end = j.find_first_of(",}", begin);
    return j.substr(begin, end - begin);
  };
  size_t processes = 0;
  for (size_t at = j.find("{\"address\": "); at != std::string::npos;
       at = j.find("{\"address\": ", at + 1))
    ++processes;
  std::string out;
  out += "cluster:\n";
  out += fmt::format("  description       {}\n", field("cluster_description"));
  out += fmt::format("  controller        {}\n", field("controller"));
  out += fmt::format("  recovery state    {}\n", field("recovery_state"));
  out += fmt::format("  processes         {} registered\n", processes);
  if (field("recovery_state") == "unconfigured") {
    out += "  database          not created: 'configure new single memory' creates it\n";
    return out;
  }
  const std::string r = field("replication");
  out += fmt::format("  replication       {}\n", r == "1"   ? "single"
                                                 : r == "2" ? "double"
                                                 : r == "3" ? "triple"
                                                            : r);
  out += fmt::format("  epoch             {}\n", field("epoch"));
  if (const size_t at = j.find("\"logical_bytes\": "); at != std::string::npos) {
    const auto number = [&j](const std::string& name) {
      const size_t begin = j.find("\"" + name + "\": ");
      if (begin == std::string::npos) return 0.0;
      return std::strtod(j.c_str() + begin + name.size() + 4, nullptr);
    };
    out += fmt::format(
        "  data              {:.1f} MB of keys and values ({:.1f} MB with copies, {:.1f} MB of "
        "files; "
        "{} of {} storage servers answering)\n",
        number("logical_bytes") / 1e6, number("stored_bytes") / 1e6, number("disk_bytes") / 1e6,
        field("storage_servers_answering"), field("storage_servers"));
  }
  out += fmt::format("  locked            {}\n", field("locked"));
  out += fmt::format("  recoveries        {} (last {} s) while this controller leads\n",
                     field("recoveries"), field("last_recovery_seconds"));
  const std::string json = status_json(s);
  const auto probe_field = [&json](const std::string& name) {
    const size_t at = json.find("\"" + name + "\": ");
    if (at == std::string::npos) return std::string("?");
    const size_t begin = at + name.size() + 4;
    return json.substr(begin, json.find_first_of(",}", begin) - begin);
  };
  out += fmt::format(
      "latency probe:\n  read version      {} ms\n  read              {} ms\n  commit            "
      "{} ms\n",
      probe_field("grv_ms"), probe_field("read_ms"), probe_field("commit_ms"));
  out += "(status json shows every process and role)\n";
  return out;
}

// Runs fn(Transaction&) and commits, retrying as client::Database::run does, except on
// database_locked, which it throws: a person at the prompt is told the database is locked,
// where a program's transaction would wait for the unlock. May suspend.
template <class Fn>
auto run_once_locked(client::Database& db, Fn fn) {
  client::Transaction t(db);
  for (;;) {
    std::optional<flow::Error> failed;
    try {
      if constexpr (std::is_void_v<decltype(fn(t))>) {
        fn(t);
        t.commit();
        return;
      } else {
        auto result = fn(t);
        t.commit();
        return result;
      }
    } catch (const flow::Error& e) {
      if (e.code() == flow::ErrorCode::operation_cancelled ||
          e.code() == flow::ErrorCode::database_locked)
        throw;
      failed = e;
    }
    t.on_error(*failed);
  }
}

// Runs one command; returns what to print. May suspend.
std::string run_command(Session& s, const std::vector<std::string>& w) {
  const std::string& c = w[0];
  if (c == "help") return kHelp;
  if (c == "status") {
    need_args(w, 1, 2, "status [json]");
    if (w.size() == 2 && w[1] != "json") throw CommandError{"usage: status [json]"};
    return w.size() == 2 ? status_json(s) + "\n" : status_text(s);
  }
  if (c == "writemode") {
    need_args(w, 2, 2, "writemode on|off");
    if (w[1] != "on" && w[1] != "off") throw CommandError{"usage: writemode on|off"};
    s.write_mode = w[1] == "on";
    return "";
  }
  if (c == "get") {
    need_args(w, 2, 2, "get KEY");
    const std::string key = key_arg(w[1]);
    const std::optional<std::string> v =
        run_once_locked(*s.db, [&](client::Transaction& t) { return t.get(key); });
    return v ? fmt::format("`{}' is `{}'\n", w[1], client::printable(*v))
             : fmt::format("`{}': not found\n", w[1]);
  }
  if (c == "getrange") {
    need_args(w, 2, 4, "getrange BEGIN [END] [LIMIT]");
    const std::string begin = key_arg(w[1]);
    const std::string end = w.size() >= 3 ? key_arg(w[2]) : begin + "\xff";
    int limit = 25;
    if (w.size() == 4) {
      const std::string& text = w[3];
      limit = -1;
      if (!text.empty() && text.size() <= 6 &&
          std::all_of(text.begin(), text.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
        limit = std::stoi(text);
      if (limit < 1 || limit > 100000) throw CommandError{"LIMIT must be 1..100000"};
    }
    const client::RangeResult r = run_once_locked(
        *s.db, [&](client::Transaction& t) { return t.get_range(begin, end, {.rows = limit}); });
    std::string out = "Range limited to " + std::to_string(limit) + " keys\n";
    for (const client::KeyValue& kv : r.rows)
      out += fmt::format("`{}' is `{}'\n", client::printable(kv.key), client::printable(kv.value));
    return out;
  }
  if (c == "set") {
    need_args(w, 3, 3, "set KEY VALUE");
    need_write_mode(s);
    const std::string key = key_arg(w[1]), value = key_arg(w[2]);
    run_once_locked(*s.db, [&](client::Transaction& t) { t.set(key, value); });
    return "Committed\n";
  }
  if (c == "clear") {
    need_args(w, 2, 2, "clear KEY");
    need_write_mode(s);
    const std::string key = key_arg(w[1]);
    run_once_locked(*s.db, [&](client::Transaction& t) { t.clear(key); });
    return "Committed\n";
  }
  if (c == "clearrange") {
    need_args(w, 3, 3, "clearrange BEGIN END");
    need_write_mode(s);
    const std::string begin = key_arg(w[1]), end = key_arg(w[2]);
    run_once_locked(*s.db, [&](client::Transaction& t) { t.clear_range(begin, end); });
    return "Committed\n";
  }
  if (c == "configure") {
    need_args(w, 2, 12,
              "configure new [single|double|triple] [memory|ssd] | configure grv_proxies=N ...");
    std::string text;
    for (size_t i = 1; i < w.size(); ++i)
      text += (i > 1 ? " " : "") + w[i];
    std::string why;
    const bool ok = roles::is_new_database(text) ? roles::parse_new_database(text, &why).ok()
                                                 : roles::parse_configuration(text, {}, &why).ok();
    if (!ok) throw CommandError{why};
    s.db->configure(text);
    return roles::is_new_database(text) ? "Database created\n" : "Configuration changed\n";
  }
  if (c == "coordinators") {
    need_args(w, 2, 16, "coordinators auto|ADDRESS...");
    std::vector<flow::NetworkAddress> addresses;
    std::string mode;
    if (w[1] == "auto" || w[1] == "random") {
      mode = w[1];
    } else {
      for (size_t i = 1; i < w.size(); ++i) {
        const flow::ErrorOr<flow::NetworkAddress> a = flow::NetworkAddress::parse(w[i]);
        if (!a.ok()) throw CommandError{"'" + w[i] + "' is not a.b.c.d:port"};
        addresses.push_back(a.get());
      }
    }
    const roles::ClusterDescription after = s.db->change_coordinators(mode, addresses);
    return "Coordinators: " + after.to_string() + "\n";
  }
  if (c == "lock") {
    need_args(w, 1, 1, "lock");
    std::string uid;
    // From the run's random, which main seeded from the OS: unique enough for a lock's holder.
    auto& rng = flow::deterministic_random();
    for (int i = 0; i < 16; ++i) uid += fmt::format("{:02x}", rng.random_int(0, 256));
    // Said before asking: a lock whose answer never comes may still take, and its uid is then
    // the only way to unlock.
    std::fprintf(stdout, "Locking the database with uid %s\n", uid.c_str());
    std::fflush(stdout);
    s.db->lock(uid);
    return "Database locked, uid " + uid + "\n";
  }
  if (c == "unlock") {
    need_args(w, 2, 2, "unlock UID");
    s.db->unlock(w[1]);
    return "Database unlocked\n";
  }
  if (c == "kill") {
    need_args(w, 1, 16, "kill [ADDRESS...]");
    if (w.size() == 1) {
      // The processes registered with the controller, to choose from.
      const std::string j = s.db->controller_status();
      std::string out =
          "processes (kill ADDRESS... ends them; their supervisor starts them again):\n";
      const std::string mark = "{\"address\": \"";
      for (size_t at = j.find(mark); at != std::string::npos; at = j.find(mark, at + 1)) {
        const size_t begin = at + mark.size();
        out += "  " + j.substr(begin, j.find('"', begin) - begin) + "\n";
      }
      return out;
    }
    std::vector<flow::NetworkAddress> addresses;
    for (size_t i = 1; i < w.size(); ++i) {
      const flow::ErrorOr<flow::NetworkAddress> a = flow::NetworkAddress::parse(w[i]);
      if (!a.ok()) throw CommandError{"'" + w[i] + "' is not a.b.c.d:port"};
      addresses.push_back(a.get());
    }
    std::string out;
    for (const flow::NetworkAddress& a : addresses) {
      flow::wait(roles::WorkerInterface::remote(a).reboot.get_reply({}));
      out += "Killed " + a.to_string() + "\n";
    }
    return out;
  }
  throw CommandError{"unknown command '" + c + "' (help lists them)"};
}

// Why a command may have had no answer, from a quick look at the controller's status: the
// database not created, locked, recovering, or no controller reached. May suspend.
std::string why_no_answer(Session& s) {
  const std::optional<std::string> j = flow::wait(flow::timeout(
      flow::spawn([&s] { return s.db->controller_status(); }), std::chrono::seconds(2)));
  if (!j) return "no cluster controller answered either: are a majority of the coordinators up?";
  if (j->find("\"recovery_state\": \"unconfigured\"") != std::string::npos)
    return "the database has not been created: 'configure new' creates it";
  if (j->find("\"locked\": true") != std::string::npos)
    return "the database is locked: only lock-aware transactions commit";
  if (j->find("\"recovery_state\": \"recovering\"") != std::string::npos)
    return "the cluster is recovering: 'status' shows when it accepts commits again";
  return "the controller answers: 'status' shows the processes and their roles";
}

// Runs `line`; prints its output or its error. Returns false if it failed. May suspend.
bool run_line(Session& s, const std::string& line, double timeout_s) {
  std::string why;
  const std::optional<std::vector<std::string>> w = words_of(line, &why);
  if (!w) {
    std::fprintf(stderr, "ERROR: %s\n", why.c_str());
    return false;
  }
  if (w->empty()) return true;
  const auto within =
      std::chrono::duration_cast<flow::Duration>(std::chrono::duration<double>(timeout_s));
  // What the command printed, or (error set) why it failed: a CommandError never leaves the
  // actor (an actor may end only with a flow::Error).
  struct Outcome {
    std::string text;
    std::optional<std::string> error;
  };
  try {
    const std::optional<Outcome> out =
        flow::wait(flow::timeout(flow::spawn([&s, &w] {
                                   try {
                                     return Outcome{run_command(s, *w), std::nullopt};
                                   } catch (const CommandError& e) {
                                     return Outcome{"", e.why};
                                   }
                                 }),
                                 within));
    if (!out) {
      std::fprintf(stderr, "ERROR: no answer within %.1f s (%s)\n", timeout_s,
                   why_no_answer(s).c_str());
      return false;
    }
    if (out->error) {
      std::fprintf(stderr, "ERROR: %s\n", out->error->c_str());
      return false;
    }
    std::fputs(out->text.c_str(), stdout);
    std::fflush(stdout);
    return true;
  } catch (const flow::Error& e) {
    std::fprintf(stderr, "ERROR: %s (%s)\n", std::string(e.description()).c_str(),
                 std::string(e.name()).c_str());
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  std::string cluster_file;
  std::string exec;
  double timeout_s = 10;
  std::string history =
      std::string(std::getenv("HOME") ? std::getenv("HOME") : ".") + "/.strata_cli_history";
  CLI::App app{
      "strata-cli: the command line of a Strata cluster (help, once connected, lists the commands)",
      "strata-cli"};
  app.add_option("--cluster-file,-C", cluster_file, "the cluster file")->required();
  app.add_option("--exec", exec, "run these commands (separated by ';') and exit");
  app.add_option("--timeout", timeout_s, "seconds each command may take")
      ->check(CLI::Range(0.1, 86400.0))
      ->capture_default_str();
  app.footer(kHelp);
  programs::parse_or_exit(app, argc, argv);
  if (!(timeout_s >= 0.1 && timeout_s <= 86400))
    programs::usage_error(app, "--timeout must be in [0.1, 86400] seconds");
  std::string why;
  const flow::ErrorOr<roles::ClusterDescription> cluster =
      embed::read_cluster_file(cluster_file, &why);
  if (!cluster.ok()) {
    std::fprintf(stderr, "strata-cli: %s\n", why.c_str());
    return 1;
  }
  int status = 0;
  try {
    net::AsioWorld world;
    flow::RuntimeOptions options;
    options.seed = std::random_device{}();
    options.simulated = false;
    options.reactor = &world.reactor();
    options.main_process_name = "strata-cli";
    flow::Runtime rt(options);
    world.attach(rt.main_process(), ".");
    rt.run([&] {
      client::Database db(cluster.get());
      Session s{&db, cluster.get(), cluster_file, false};
      if (app.count("--exec") > 0) {
        for (const std::string& line : split_commands(exec))
          if (!run_line(s, line, timeout_s)) status = 1;
        return;
      }
      const bool interactive = ::isatty(STDIN_FILENO) != 0;
      if (interactive) {
        read_history(history.c_str());
        std::printf("Using cluster file `%s'. 'help' lists the commands.\n", cluster_file.c_str());
      }
      for (;;) {
        // The line is read with the run loop held: the connections catch up after each command.
        char* raw = readline(interactive ? "strata> " : "");
        if (raw == nullptr) break;
        const std::string line = raw;
        std::free(raw);
        if (line == "exit" || line == "quit") break;
        if (interactive && !line.empty()) {
          add_history(line.c_str());
          write_history(history.c_str());
        }
        if (!run_line(s, line, timeout_s)) status = 1;
      }
    });
  } catch (const flow::Error& e) {
    std::fprintf(stderr, "strata-cli: failed: %s\n", std::string(e.name()).c_str());
    return 1;
  }
  return status;
}
