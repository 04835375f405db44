#!/usr/bin/env bash
# strata-cli against a real one-process cluster (CTest real.cli): every command once, its output
# checked, and every kind of bad input refused with a line that says why, never a crash.
#
#   tests/real/cli_test.sh BIN_DIR
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="$(cd "${1:?usage: cli_test.sh BIN_DIR}" && pwd)"
dir="$(mktemp -d "${TMPDIR:-/tmp}/strata-cli-test.XXXXXX")"
trap 'STRATA_BIN="$bin" "$root/scripts/local-cluster" stop --dir "$dir" >/dev/null 2>&1; rm -rf "$dir"' EXIT
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for _ in $(seq 50); do base=$((20000 + RANDOM % 30000)); port_free "$base" && break; done
STRATA_BIN="$bin" "$root/scripts/local-cluster" 1 --dir "$dir" --port "$base" --no-create >/dev/null || exit 1
failures=0
# expect NAME STATUS PATTERN COMMANDS: runs the commands with --exec; the exit status must be
# STATUS and stdout+stderr must match PATTERN (grep -E).
expect() {
  local name="$1" status="$2" pattern="$3" commands="$4" out rc
  out=$("$bin/strata-cli" -C "$dir/strata.cluster" --timeout 30 --exec "$commands" 2>&1)
  rc=$?
  if [[ $rc != "$status" ]] || ! grep -Eq -- "$pattern" <<<"$out"; then
    echo "FAIL $name: exit $rc (want $status), output:"
    echo "$out" | sed 's/^/    /'
    failures=$((failures + 1))
  else
    echo "ok   $name"
  fi
}
expect "unconfigured status" 0 "recovery state +unconfigured" "status"
expect "configure before new" 1 "database_not_created" "configure logs=2"
out=$("$bin/strata-cli" -C "$dir/strata.cluster" --timeout 1 --exec "get a" 2>&1)
[[ "$out" == *"has not been created"* ]] && echo "ok   a read before configure new says why it waits" ||
  { echo "FAIL a read before configure new: $out"; failures=$((failures + 1)); }
expect "configure new" 0 "Database created" "configure new single memory"
expect "configure new again" 1 "database_already_created" "configure new single"
expect "set needs writemode" 1 "writemode is off" "set a b"
expect "set, get" 0 "\`hello' is \`world'" "writemode on; set hello world; get hello"
expect "escapes both ways" 0 "\`k\\\\x00\\\\xff' is \`v\\\\x01'" "writemode on; set k\\x00\\xff v\\x01; getrange k"
expect "quoted words" 0 "\`a b' is \`c d'" 'writemode on; set "a b" "c d"; get "a b"'
expect "clear" 0 "not found" "writemode on; set gone x; clear gone; get gone"
expect "clearrange" 0 "Range limited to 25 keys$" "writemode on; set r1 x; set r2 x; clearrange r r\\xff; getrange r"
expect "unknown command" 1 "unknown command 'bogus'" "bogus"
expect "wrong arity" 1 "usage: set KEY VALUE" "set x"
expect "open quote" 1 "quote is not closed" 'get "x'
expect "bad escape" 1 "neither" 'get \q'
expect "bad limit" 1 "LIMIT must be" "getrange a b 0"
expect "bad configure" 1 "is not a redundancy mode" "configure new quadruple"
expect "bad count" 1 "logs must be 1..8" "configure logs=99"
uid=$("$bin/strata-cli" -C "$dir/strata.cluster" --exec "lock" 2>&1 | grep -o 'uid [0-9a-f]*' | tail -1 | cut -d' ' -f2)
[[ -n "$uid" ]] && echo "ok   lock" || { echo "FAIL lock printed no uid"; failures=$((failures + 1)); }
expect "a locked database refuses writes" 1 "database_locked" "writemode on; set l x"
"$bin/strata-cli" -C "$dir/strata.cluster" --exec "status json" 2>/dev/null | grep -q '"locked": true' && echo "ok   status json says locked" ||
  { echo "FAIL status json does not say locked"; failures=$((failures + 1)); }
expect "unlock with the wrong uid" 1 "database_locked" "unlock 00000000000000000000000000000000"
expect "unlock" 0 "Database unlocked" "unlock $uid"
expect "writes after the unlock" 0 "Committed" "writemode on; set l x"
expect "a long value" 0 "Committed" "writemode on; set big $(head -c 20000 /dev/zero | tr '\0' 'v')"
expect "a value over the limit" 1 "value_too_large" "writemode on; set huge $(head -c 100001 /dev/zero | tr '\0' 'v')"
expect "kill lists processes" 0 "127.0.0.1:$base" "kill"
expect "status json is JSON" 0 "" "status json"
"$bin/strata-cli" -C "$dir/strata.cluster" --exec "status json" | python3 -m json.tool >/dev/null ||
  { echo "FAIL status json does not parse"; failures=$((failures + 1)); }
printf 'writemode on\nset piped yes\nbogus\nget piped\nquit\n' | "$bin/strata-cli" -C "$dir/strata.cluster" >"$dir/piped.out" 2>&1
grep -q "\`piped' is \`yes'" "$dir/piped.out" && grep -q "unknown command" "$dir/piped.out" && echo "ok   commands from a pipe" ||
  { echo "FAIL commands from a pipe:"; cat "$dir/piped.out"; failures=$((failures + 1)); }
STRATA_BIN="$bin" "$root/scripts/local-cluster" stop --dir "$dir" >/dev/null
out=$("$bin/strata-cli" -C "$dir/strata.cluster" --timeout 1 --exec "get a" 2>&1)
[[ $? == 1 && "$out" == *"no answer within 1.0 s (no cluster controller answered"* ]] && echo "ok   no cluster: a timeout that says why" ||
  { echo "FAIL no cluster: $out"; failures=$((failures + 1)); }
echo "$failures failed"
exit $((failures > 0))
