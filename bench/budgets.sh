#!/usr/bin/env bash
# The issue-7 budget scenarios, each 100 concurrent for 10 s with the bare floor measured in the same
# run. Writes bench/results/<stamp>-<scenario>.json and checks them with bench/check-budgets.mjs.
#   bench/budgets.sh [seed|stress|stream|stream-stress ...]   (default: seed stress stream)
# stream is the seed load streamed (TTFB 500 ms); stream-stress streams at the stress load (TTFB 50 ms),
# where the 2-core machine is saturated by the load generator, mock and gateway together.
# Needs the built CLI (npm run build); IBEX_CLI=path overrides bin/ibex.js. Loopback only; each scenario takes about 45 s.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=$(date -u +%Y%m%dT%H%M%SZ)
scenarios=("$@")
[ ${#scenarios[@]} -eq 0 ] && scenarios=(seed stress stream)
files=()
for s in "${scenarios[@]}"; do
  case "$s" in
    seed)   args=(--upstream-latency 500) ;;
    stress) args=(--upstream-latency 50) ;;
    stream) args=(--upstream-latency 500 --stream --chunks 5 --chunk-interval 10) ;;
    stream-stress) args=(--upstream-latency 50 --stream --chunks 5 --chunk-interval 10) ;;
    *) echo "unknown scenario $s (seed|stress|stream|stream-stress)" >&2; exit 2 ;;
  esac
  out="bench/results/$stamp-$s.json"
  echo "== $s: nproc $(nproc), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  node "${IBEX_CLI:-bin/ibex.js}" bench --concurrency 100 --duration 10s --baseline bare "${args[@]}" --json "$out" --no-histogram
  files+=("$out")
done
node bench/check-budgets.mjs "${files[@]}"
