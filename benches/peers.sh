#!/usr/bin/env bash
# chatfn beside its peers, same trivial handler, one run: plain Node `http`
# (handler in process), Deno.serve and workerd (both from npm, pinned in
# benches/peers/package.json), and chatfn's blocking trigger (every
# invocation an isolated, bounded V8 call, recorded in SQLite). wrk against
# each in turn over loopback; prints req/s, p50, p99 and the ratios.
#   bash benches/peers.sh [seconds] [connections] [rounds]
# Needs wrk, node, npm, curl and a release build (CHATFN_BIN to choose one).
# SERVE_ARGS adds flags to `chatfn serve`; INLINE=1 also runs a second chatfn
# with `--inline-invocations on` in each round ("chatfn-in"), which measured
# slower on some machines of this kind and faster on others.
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
# A chatfn server on port $1 with its own store (flags after it), the
# handler deployed; prints its bearer token.
start_chatfn() {
  local port=$1 base=http://127.0.0.1:$1
  shift
  CHATFN_CLIENT_ID=bench CHATFN_CLIENT_SECRET=bench-secret-0 CHATFN_TRIGGER_RATE=0 \
    "$bin" serve --listen 127.0.0.1:$port --database-url "sqlite://$dir/bench-$port.db" \
    --npm-cache-dir "$dir/packages-$port" "$@" >"$dir/serve-$port.log" 2>&1 &
  echo $! >"$dir/pid-$port"
  for _ in $(seq 200); do curl -fs -o /dev/null "$base/healthz" && break; sleep 0.05; done
  local token id
  token=$(curl -fs -u bench:bench-secret-0 -d grant_type=client_credentials "$base/oauth/token" | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
  api() { curl -fs -H "authorization: Bearer $token" -H 'content-type: application/json' "$@"; }
  id=$(api -d '{"type":"user.attempted.start_session","name":"bench"}' "$base/v1/runtimes/nodejs/functions" | sed 's/^{"id":\([0-9]*\).*/\1/')
  api -d '{"handlerScript":"async function handleEvent(event: any) { return { ok: true, user: event.username } }"}' \
    "$base/v1/functions/$id/versions" >/dev/null
  echo "$token"
}
# wrk's script for a server: the request, with that server's token.
post_lua() {
  cat >"$dir/post-$1.lua" <<LUA
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.headers["authorization"] = "Bearer $2"
wrk.body = '$body'
LUA
}

names=(node deno workerd chatfn)
declare -A url=(
  [node]=http://127.0.0.1:18301/
  [deno]=http://127.0.0.1:18302/
  [workerd]=http://127.0.0.1:18303/
  [chatfn]=http://127.0.0.1:18304/v1/triggers/user.attempted.start_session
)
# Each server's bearer token (the peers ignore it).
declare -A token_of
# shellcheck disable=SC2086
token_of[chatfn]=$(start_chatfn 18304 ${SERVE_ARGS:-}); pids+=("$(cat "$dir/pid-18304")")
for name in node deno workerd; do token_of[$name]=${token_of[chatfn]}; done
if [ -n "${INLINE:-}" ]; then
  # shellcheck disable=SC2086
  token_of[chatfn-in]=$(start_chatfn 18305 ${SERVE_ARGS:-} --inline-invocations on); pids+=("$(cat "$dir/pid-18305")")
  url[chatfn-in]=http://127.0.0.1:18305/v1/triggers/user.attempted.start_session
  names+=(chatfn-in)
fi
for name in "${names[@]}"; do
  post_lua "$name" "${token_of[$name]}"
  token=${token_of[$name]} wait_for "${url[$name]}"
done

declare -A rps
echo "wrk -t$threads -c$connections -d${seconds}s, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
printf '%-9s %12s %10s %10s\n' server req/s p50 p99
for round in $(seq "$rounds"); do
  for name in "${names[@]}"; do
    wrk -t"$threads" -c"$connections" -d1s -s "$dir/post-$name.lua" "${url[$name]}" >/dev/null
    out=$(wrk -t"$threads" -c"$connections" -d"${seconds}s" --latency -s "$dir/post-$name.lua" "${url[$name]}")
    if echo "$out" | grep -q 'Non-2xx'; then echo "$name answered errors:"; echo "$out"; exit 1; fi
    r=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
    p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
    rps[$name]=$r
    printf '%-9s %12s %10s %10s\n' "$name" "$r" "$p50" "$p99"
  done
  for name in "${names[@]:3}"; do
    awk -v s="$name" -v c="${rps[$name]}" -v n="${rps[node]}" -v d="${rps[deno]}" -v w="${rps[workerd]}" \
      'BEGIN { printf "%s/node %.2f   %s/workerd %.2f   %s/deno %.2f\n", s, c/n, s, c/w, s, c/d }'
  done
done
