#!/usr/bin/env bash
# The real-world kill test (CTest label `real`): a 5-process cluster on loopback with triple
# replication, Ledger and Cycle from a separate client process (strata-workload, the simulation's
# workload code), and kill -9 of random servers every few seconds, never a majority of the
# coordinators, each restarted a little later. Then: the workloads' checks pass (no acknowledged
# transfer lost, none applied twice, the cycle whole) and `status json` shows the cluster healthy
# again (every process registered, commits accepted, no role on a process that is gone).
#
#   tests/real/kill_test.sh BIN_DIR [SECONDS] [SEED]
#
# Prints its seed; the same seed kills the same servers at the same moments (not the same
# interleaving: this is the real world).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="$(cd "${1:?usage: kill_test.sh BIN_DIR [SECONDS] [SEED]}" && pwd)"
seconds="${2:-20}"
seed="${3:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}"
RANDOM=$seed
echo "kill_test: seed $seed, $seconds s of kills"

dir="$(mktemp -d "${TMPDIR:-/tmp}/strata-kill-test.XXXXXX")"
cleanup() {
  local rc=$?
  STRATA_BIN="$bin" "$root/scripts/local-cluster" stop --dir "$dir" >/dev/null 2>&1 || true
  [[ -n "${workload_pid:-}" ]] && kill -9 "$workload_pid" 2>/dev/null || true
  if [[ $rc != 0 ]]; then
    # A failure keeps what explains it: the servers' last words, and the folder.
    for log in "$dir"/logs/*.log; do
      [[ -f $log ]] && { echo "--- tail of $log"; tail -n 5 "$log"; }
    done
    echo "kill_test: kept $dir"
  elif [[ "${keep:-0}" == 1 ]]; then
    echo "kill_test: kept $dir"
  else
    rm -rf "$dir"
  fi
}
trap cleanup EXIT

# Five free ports in a row.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for _ in $(seq 50); do
  base=$((20000 + RANDOM % 30000))
  ok=1
  for i in 0 1 2 3 4; do port_free $((base + i)) || ok=0; done
  [[ $ok == 1 ]] && break
done

STRATA_BIN="$bin" "$root/scripts/local-cluster" 5 --dir "$dir" --port "$base" --redundancy triple
cluster="$dir/strata.cluster"

spec="$dir/ledger_cycle.toml"
sed "s/testDuration = 20.0/testDuration = $seconds.0/" "$root/tests/real/ledger_cycle.toml" >"$spec"
"$bin/strata-workload" --cluster-file "$cluster" "$spec" --seed "$seed" --liveness 120 >"$dir/workload.out" 2>&1 &
workload_pid=$!

# Kills: every 2-4 s one server (sometimes two: never three of the five coordinators), each
# restarted 1-3 s later.
end=$((SECONDS + seconds))
kills=0
while ((SECONDS < end)); do
  sleep $((2 + RANDOM % 3))
  victims=($((base + RANDOM % 5)))
  if ((RANDOM % 4 == 0)); then
    second=$((base + RANDOM % 5))
    [[ $second != "${victims[0]}" ]] && victims+=("$second")
  fi
  for port in "${victims[@]}"; do
    pid=$(awk -v p="$port" '$1 == p { pid = $2 } END { print pid }' "$dir/pids")
    kill -9 "$pid" 2>/dev/null || true
    kills=$((kills + 1))
    echo "kill_test: kill -9 127.0.0.1:$port"
  done
  sleep $((1 + RANDOM % 3))
  for port in "${victims[@]}"; do STRATA_BIN="$bin" "$root/scripts/local-cluster" restart "$port" --dir "$dir" >/dev/null; done
done

status=0
if ! wait "$workload_pid"; then status=1; fi
workload_pid=""
cat "$dir/workload.out"
[[ $status == 0 ]] || { echo "kill_test: FAIL: the workloads failed (seed $seed)"; keep=1; exit 1; }

# Healthy again: within 60 s every process registered, commits accepted, no role host missing.
healthy=0
for _ in $(seq 60); do
  json=$("$bin/strata-cli" --cluster-file "$cluster" --timeout 5 --exec "status json" 2>/dev/null || true)
  registered=$(grep -o '"machine": ' <<<"$json" | wc -l)
  if [[ "$json" == *'"recovery_state": "accepting_commits"'* && "$json" == *'"unregistered_role_hosts": []'* &&
        "$registered" == 5 ]]; then
    healthy=1
    break
  fi
  sleep 1
done
if [[ $healthy != 1 ]]; then
  echo "kill_test: FAIL: the cluster is not healthy again within 60 s (seed $seed): $json"
  keep=1
  exit 1
fi
echo "kill_test: PASS: $kills kills, the workloads' checks passed, the cluster healthy again (seed $seed)"
