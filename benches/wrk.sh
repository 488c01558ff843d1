#!/usr/bin/env bash
# wrk against `chatfn serve` (release build, fresh SQLite store): the blocking
# trigger and the non-blocking accept path, each with a trivial handler.
#   bash benches/wrk.sh [seconds] [connections]
# SERVE_ARGS adds flags to `chatfn serve` (e.g. "--queue-concurrency 1" to
# measure accepts while the queue's workers are held back); PERF=1 records a
# perf profile of the server (PERF_ALL=1: of the whole machine) into
# /tmp/perf.data, PERF_DELAY seconds after the load starts. Each run also
# prints how many invocations ran in its window (for accepted events, how
# fast the queue kept up).
# Needs wrk (apt-get install wrk) and curl.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-5}
connections=${2:-32}
bin=${CHATFN_BIN:-${CARGO_TARGET_DIR:-target}/release/chatfn}
dir=$(mktemp -d)
port=${PORT:-18181}
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$dir"' EXIT

CHATFN_CLIENT_ID=bench CHATFN_CLIENT_SECRET=bench-secret-0 CHATFN_MAX_PENDING=10000000 CHATFN_TRIGGER_RATE=0 \
  "$bin" serve --listen 127.0.0.1:$port --database-url "sqlite://$dir/bench.db" \
  --npm-cache-dir "$dir/packages" ${SERVE_ARGS:-} >"$dir/serve.log" 2>&1 &
server=$!
base=http://127.0.0.1:$port
for _ in $(seq 100); do curl -fs "$base/openapi.json" >/dev/null 2>&1 && break; sleep 0.1; done
token=$(curl -fs -u bench:bench-secret-0 -d grant_type=client_credentials "$base/oauth/token" | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
api() { curl -fs -H "authorization: Bearer $token" -H 'content-type: application/json' "$@"; }
deploy() {
  local id
  id=$(api -d "{\"type\":\"$1\",\"name\":\"$1\"}" "$base/v1/runtimes/nodejs/functions" | sed 's/^{"id":\([0-9]*\).*/\1/')
  api -d "{\"handlerScript\":\"$2\"}" "$base/v1/functions/$id/versions" >/dev/null
}
deploy user.attempted.start_session 'async function handleEvent(event: any) { return { ok: true, user: event.username } }'
deploy user.received.notification 'async function handleEvent(event: any) { return event.userHasActiveSession }'

cat >"$dir/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["authorization"] = "Bearer $token"
wrk.headers["content-type"] = "application/json"
wrk.body = os.getenv("BODY")
LUA
# Invocations run so far (the metrics endpoint's counter, every outcome).
ran() { curl -fs -H "authorization: Bearer $token" "$base/metrics" | awk '/^chatfn_invocations_total/ {n += $2} END {print n + 0}'; }
run() {
  echo "== $1"
  BODY=$2 wrk -t2 -c"$connections" -d1s -s "$dir/post.lua" "$base$3" >/dev/null
  local before after
  before=$(ran)
  local out
  out=$(BODY=$2 wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$dir/post.lua" "$base$3")
  echo "$out" | grep -E 'Requests/sec|50%|99%|Non-2xx|Socket errors'
  after=$(ran)
  # For accepted events: how many the queue ran meanwhile (the rest wait),
  # and both together, which on two cores stays about the same however the
  # queue's width splits them (see README).
  local run=$(( (after - before) / seconds )) accepted
  echo "Invocations run meanwhile/sec: $run"
  if [ "${4:-}" = accepts ]; then
    accepted=$(echo "$out" | awk '/Requests\/sec/ {printf "%d", $2}')
    echo "Accepted plus run/sec: $(( accepted + run ))"
  fi
}
[ -n "${PERF:-}" ] && (sleep ${PERF_DELAY:-2}; perf record -F 999 -g $([ -n "${PERF_ALL:-}" ] && echo -a || echo -p $server) -o /tmp/perf.data -- sleep 3 >/dev/null 2>&1) &
run "blocking trigger (user.attempted.start_session)" '{"username":"jane","authParams":{"password":"x"}}' \
  /v1/triggers/user.attempted.start_session
run "non-blocking accept (user.received.notification)" \
  '{"user":{"id":1,"name":"jane"},"notification":{"id":1,"title":"t","body":"b"},"userHasActiveSession":true}' \
  /v1/triggers/user.received.notification accepts
