#!/usr/bin/env bash
# Replays README's curl session (between the session markers) against a fresh
# `fnf-lambda serve`, so the first thing a newcomer tries is known to work.
# Usage: scripts/readme-session.sh [path-to-fnf-lambda-binary]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/debug/fnf-lambda}
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" serve --addr "127.0.0.1:$port" --data-dir "$tmp/data" >"$tmp/log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  curl -s -o /dev/null "http://127.0.0.1:$port/" && break
  kill -0 $pid 2>/dev/null || { cat "$tmp/log" >&2; exit 1; }
  sleep 0.1
done
# The session's shell block, with its address pointed at this server.
sed -n '/<!-- session:start -->/,/<!-- session:end -->/p' README.md \
  | sed '1,2d;$d' | sed '$d' | sed "s/127.0.0.1:8080/127.0.0.1:$port/g" > "$tmp/session.sh"
[ -s "$tmp/session.sh" ] || { echo "README has no session block" >&2; exit 1; }
out=$(bash -euo pipefail "$tmp/session.sh")
echo "$out"
fail() { echo "README session: $1" >&2; cat "$tmp/log" >&2; exit 1; }
[ "$(echo "$out" | grep -c '"RequestId"')" -eq 4 ] || fail "expected 4 answers"
echo "$out" | grep -q '"Code"' && fail "an answer is an error"
echo "$out" | sed -n 2p | grep -q '"Status":"Succeeded"' || fail "StartExecution did not succeed"
echo "$out" | sed -n 2p | grep -q '"Output":"{\\"key\\":\\"value\\"}"' || fail "unexpected output"
echo "README session: OK"
