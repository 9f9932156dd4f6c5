#!/usr/bin/env bash
# The benchmark budgets (issues 7 and 18). Writes bench/results/<stamp>-<scenario>[-<run>].json and checks
# them with bench/check-budgets.mjs.
#   bench/budgets.sh [cpu|cpu-stream|seed|stress|stream|stream-stress ...]   (default: cpu cpu-stream seed stream)
# cpu / cpu-stream: `ibex bench --measure cpu`, CPU per request of the gateway and of the bare floor over
#   the same fixed request count, 3 rounds, median ratio (budget ≤ 2.0). CPU time holds on a shared
#   machine where a p99 ratio does not, so this is the gate for "ibex costs little over the floor".
# seed / stress / stream / stream-stress: latency phases (100 concurrent, 10 s, floor in the same run),
#   each run RUNS times (default 3) and judged on the median over the runs.
# Env: RUNS (latency runs per scenario, default 3), CPU_REQUESTS (default 20000), CPU_ROUNDS (default 3),
#   IBEX_CLI=path overrides bin/ibex.js. Needs the built CLI (npm run build). Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=$(date -u +%Y%m%dT%H%M%SZ)
scenarios=("$@")
[ ${#scenarios[@]} -eq 0 ] && scenarios=(cpu cpu-stream seed stream)
runs=${RUNS:-3}
cli=${IBEX_CLI:-bin/ibex.js}
files=()
for s in "${scenarios[@]}"; do
  case "$s" in
    cpu|cpu-stream)
      args=(--measure cpu --requests "${CPU_REQUESTS:-20000}" --rounds "${CPU_ROUNDS:-3}" --concurrency 50 --upstream-latency 0)
      [ "$s" = cpu-stream ] && args+=(--stream --chunks 5 --chunk-interval 10)
      out="bench/results/$stamp-$s.json"
      echo "== $s: nproc $(nproc), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
      node "$cli" bench "${args[@]}" --json "$out"
      files+=("$out")
      continue ;;
    seed)   args=(--upstream-latency 500) ;;
    stress) args=(--upstream-latency 50) ;;
    stream) args=(--upstream-latency 500 --stream --chunks 5 --chunk-interval 10) ;;
    stream-stress) args=(--upstream-latency 50 --stream --chunks 5 --chunk-interval 10) ;;
    *) echo "unknown scenario $s (cpu|cpu-stream|seed|stress|stream|stream-stress)" >&2; exit 2 ;;
  esac
  for run in $(seq 1 "$runs"); do
    out="bench/results/$stamp-$s-$run.json"
    echo "== $s run $run/$runs: nproc $(nproc), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    node "$cli" bench --concurrency 100 --duration 10s --baseline bare "${args[@]}" --json "$out" --no-histogram
    files+=("$out")
  done
done
node bench/check-budgets.mjs "${files[@]}"
