#!/usr/bin/env bash
# Drives a local `fnf-lambda serve` with the official Python SDK (alibabacloud-fnf20190315):
# tests/sdk/*.py, run with unittest. Usage: scripts/sdk-test.sh [path-to-fnf-lambda-binary]
# (default target/debug/fnf-lambda). Exits with the tests' status; prints the server's log when
# they fail.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${1:-target/debug/fnf-lambda}
if [ ! -x "$bin" ]; then
  echo "sdk-test: no fnf-lambda binary at $bin (run cargo build first)" >&2
  exit 1
fi

./scripts/venv.sh

tmp=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log=$tmp/server.log
show_log() {
  echo "---- fnf-lambda server log ($log) ----" >&2
  cat "$log" >&2 || true
  echo "---- end of server log ----" >&2
}

# A free loopback port (a tiny race with other processes is possible; the bind error shows in the log).
port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
addr=127.0.0.1:$port

mkdir "$tmp/data"
# Signed requests only, with an operator key the tests know (they create accounts and keys).
export FNF_SDK_ACCESS_KEY_ID=sdk-operator FNF_SDK_ACCESS_KEY_SECRET=sdk-operator-secret-0123456789
# No default request rate (the suite is fast); the throttling test gives its account one.
# HTTP tasks may reach 127.0.0.1 only (the callback tests' sink): the egress rule denies the
# rest of loopback, which test_fnf_sdk_egress.py checks.
FNF_AUTH=signature FNF_REQUESTS_PER_SECOND=0 FNF_ADMIN_ACCESS_KEY_ID=$FNF_SDK_ACCESS_KEY_ID \
  FNF_HTTP_ALLOW_NETWORKS=127.0.0.1/32 \
  FNF_ADMIN_ACCESS_KEY_SECRET=$FNF_SDK_ACCESS_KEY_SECRET \
  "$bin" serve --addr "$addr" --data-dir "$tmp/data" >"$log" 2>&1 &
server_pid=$!

# Wait (at most 20 s) until the port accepts connections, or the server exits.
wait_rc=0
.venv/bin/python - "$port" "$server_pid" <<'PY' || wait_rc=$?
import os, socket, sys, time
port, pid = int(sys.argv[1]), int(sys.argv[2])
deadline = time.monotonic() + 20
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit(2)
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(3)
PY
if [ "$wait_rc" -ne 0 ]; then
  if [ "$wait_rc" -eq 2 ]; then
    echo "sdk-test: fnf-lambda serve exited before accepting connections" >&2
  else
    echo "sdk-test: fnf-lambda serve did not accept connections on $addr within 20 s" >&2
  fi
  show_log
  exit 1
fi

status=0
env -u http_proxy -u HTTP_PROXY -u https_proxy -u HTTPS_PROXY \
  FNF_SDK_ENDPOINT="$addr" \
  .venv/bin/python -m unittest discover -s tests/sdk -v || status=$?
if [ "$status" -ne 0 ]; then
  show_log
fi
exit "$status"
