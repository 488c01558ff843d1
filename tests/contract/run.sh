#!/usr/bin/env bash
# The OpenAPI contract, checked from outside: schemathesis (every check, the
# stateful phase following the document's links) against a fresh
# `chatfn serve` on a new SQLite file. Exits non-zero on any failure or error.
#
#   tests/contract/run.sh CHATFN_BINARY [SCHEMATHESIS_BINARY]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
chatfn="$1"
st="${2:-st}"

dir="$(mktemp -d)"
port=$((20000 + RANDOM % 20000))
export CHATFN_CLIENT_ID=contract CHATFN_CLIENT_SECRET=contract-secret-0123456789
"$chatfn" serve --listen "127.0.0.1:$port" --database-url "sqlite://$dir/contract.db" --npm-offline \
  >"$dir/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$dir"' EXIT

base="http://127.0.0.1:$port"
for _ in $(seq 100); do
  curl -fsS "$base/openapi.json" -o /dev/null 2>/dev/null && break
  sleep 0.1
done
token="$(curl -fsS "$base/oauth/token" -u "$CHATFN_CLIENT_ID:$CHATFN_CLIENT_SECRET" \
  -d grant_type=client_credentials | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"

cd "$here"   # schemathesis.toml: the allowances, each with its reason
"$st" run "$base/openapi.json" --checks all -H "Authorization: Bearer $token" --no-color \
  --max-examples "${CHATFN_CONTRACT_EXAMPLES:-10}" --seed "${CHATFN_CONTRACT_SEED:-42899737462271539505638143066393276776}"
