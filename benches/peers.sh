#!/usr/bin/env bash
# chatfn beside its peers, same trivial handler, one run: plain Node `http`
# (handler in process), Deno.serve and workerd (both from npm, pinned in
# benches/peers/package.json), and chatfn's blocking trigger (every
# invocation an isolated, bounded V8 call, recorded in SQLite). wrk against
# each in turn over loopback; prints req/s, p50, p99 and the ratios.
#   bash benches/peers.sh [seconds] [connections] [rounds]
# Needs wrk, node, npm, curl and a release build (CHATFN_BIN to choose one).
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-5}
connections=${2:-32}
rounds=${3:-1}
threads=${WRK_THREADS:-1}
bin=${CHATFN_BIN:-${CARGO_TARGET_DIR:-../target}/release/chatfn}
[ -x "$bin" ] || { echo "no chatfn release build at $bin (cargo build --release, or set CHATFN_BIN)" >&2; exit 2; }
[ -d peers/node_modules/deno ] || npm ci --prefix peers --no-audit --no-fund --loglevel=error
dir=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$dir"' EXIT
body='{"username":"jane","authParams":{"password":"x"}}'
wait_for() {
  for _ in $(seq 200); do
    curl -fs -o /dev/null -H "authorization: Bearer ${token:-}" -H 'content-type: application/json' -d "$body" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "$1 never answered" >&2; exit 1
}

node peers/node-server.mjs 18301 & pids+=($!)
peers/node_modules/.bin/deno run --allow-net --quiet peers/deno-server.mjs 18302 & pids+=($!)
peers/node_modules/.bin/workerd serve peers/workerd.capnp --socket-addr http=127.0.0.1:18303 >"$dir/workerd.log" 2>&1 & pids+=($!)
CHATFN_CLIENT_ID=bench CHATFN_CLIENT_SECRET=bench-secret-0 CHATFN_TRIGGER_RATE=0 \
  "$bin" serve --listen 127.0.0.1:18304 --database-url "sqlite://$dir/bench.db" --npm-cache-dir "$dir/packages" \
  ${SERVE_ARGS:-} >"$dir/serve.log" 2>&1 & pids+=($!)

chatfn=http://127.0.0.1:18304
for _ in $(seq 200); do curl -fs -o /dev/null "$chatfn/healthz" && break; sleep 0.05; done
token=$(curl -fs -u bench:bench-secret-0 -d grant_type=client_credentials "$chatfn/oauth/token" | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
api() { curl -fs -H "authorization: Bearer $token" -H 'content-type: application/json' "$@"; }
id=$(api -d '{"type":"user.attempted.start_session","name":"bench"}' "$chatfn/v1/runtimes/nodejs/functions" | sed 's/^{"id":\([0-9]*\).*/\1/')
api -d '{"handlerScript":"async function handleEvent(event: any) { return { ok: true, user: event.username } }"}' \
  "$chatfn/v1/functions/$id/versions" >/dev/null

cat >"$dir/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.headers["authorization"] = "Bearer $token"
wrk.body = '$body'
LUA
declare -A url=(
  [node]=http://127.0.0.1:18301/
  [deno]=http://127.0.0.1:18302/
  [workerd]=http://127.0.0.1:18303/
  [chatfn]=$chatfn/v1/triggers/user.attempted.start_session
)
for name in node deno workerd chatfn; do wait_for "${url[$name]}"; done

declare -A rps
echo "wrk -t$threads -c$connections -d${seconds}s, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
printf '%-8s %12s %10s %10s\n' server req/s p50 p99
for round in $(seq "$rounds"); do
  for name in node deno workerd chatfn; do
    wrk -t"$threads" -c"$connections" -d1s -s "$dir/post.lua" "${url[$name]}" >/dev/null
    out=$(wrk -t"$threads" -c"$connections" -d"${seconds}s" --latency -s "$dir/post.lua" "${url[$name]}")
    if echo "$out" | grep -q 'Non-2xx'; then echo "$name answered errors:"; echo "$out"; exit 1; fi
    r=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
    p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
    rps[$name]=$r
    printf '%-8s %12s %10s %10s\n' "$name" "$r" "$p50" "$p99"
  done
  awk -v c="${rps[chatfn]}" -v n="${rps[node]}" -v d="${rps[deno]}" -v w="${rps[workerd]}" \
    'BEGIN { printf "chatfn/node %.2f   chatfn/workerd %.2f   chatfn/deno %.2f\n", c/n, c/w, c/d }'
done
