#!/usr/bin/env bash
# CPU per request of several builds of ibex, one after the other in one series, each measured through
# `ibex bench --measure cpu --target` with this checkout's bench (so every build meets the same load
# and the same floor). Each NAME=ROOT is a built checkout (e.g. `git worktree add /tmp/old <commit>`,
# node_modules linked, `npm run build`); each runs as its own embedded gateway in a throw-away home.
#
#   bench/compare-commits.sh base=/tmp/perf-00eb5d3 today=. [-- extra bench flags]
#
# Reports go to bench/results/<time>-cpu-chat-<NAME>.json. Loopback only; stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
specs=()
while [[ $# -gt 0 && "$1" != "--" ]]; do specs+=("$1"); shift; done
[[ "${1:-}" == "--" ]] && shift
extra=("$@")
[[ ${#specs[@]} -gt 0 ]] || { echo "usage: $0 NAME=ROOT... [-- bench flags]" >&2; exit 2; }

mock_port=18999
stamp=$(date -u +%Y%m%dT%H%M%SZ)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
i=0
for spec in "${specs[@]}"; do
  name=${spec%%=*}; root=$(cd "${spec#*=}" && pwd)
  port=$((18810 + i)); i=$((i + 1))
  home="$work/$name"; mkdir -p "$home"
  ibex() { IBEX_HOME="$home" IBEX_LOG_LEVEL=warn node "$root/bin/ibex.js" "$@"; }
  ibex agent create bench --rpm 10000000 >/dev/null
  ibex directive set bench --text 'You are the ibex benchmark agent. Reply briefly.' >/dev/null
  token=$(ibex pat create --agent bench --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).token))')
  IBEX_HOME="$home" IBEX_LOG_LEVEL=warn IBEX_UPSTREAM_URL="http://127.0.0.1:$mock_port/v1" OPENAI_API_KEY=sk-mock IBEX_PORT=$port \
    node "$root/bin/ibex.js" serve >"$home/serve.log" 2>&1 &
  pid=$!
  for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
  echo "== $name ($root) pid $pid"
  node bin/ibex.js bench --measure cpu --target "http://127.0.0.1:$port" --header "authorization: Bearer $token" \
    --target-pid "$pid" --mock-port "$mock_port" --requests 10000 --rounds 3 "${extra[@]}" \
    --json "bench/results/$stamp-cpu-chat-$name.json" 2>&1 | grep -E '^[0-9]+ |median|machine' || true
  kill -INT "$pid"; wait "$pid" 2>/dev/null || true
done
