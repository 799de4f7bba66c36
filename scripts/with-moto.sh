#!/usr/bin/env bash
# Runs a command with moto's DynamoDB-compatible server on a free loopback port, exported as
# FNF_TEST_DYNAMODB_ENDPOINT, and stops the server afterwards, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/venv.sh
port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log=$(mktemp -t moto.XXXXXX.log)
# moto applying one request at a time, as DynamoDB applies each item write atomically
# (scripts/moto_serial.py says why).
.venv/bin/python scripts/moto_serial.py 127.0.0.1 "$port" >"$log" 2>&1 &
moto_pid=$!
trap 'kill $moto_pid 2>/dev/null; wait $moto_pid 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 1 100); do
  if .venv/bin/python -c "import socket; socket.create_connection(('127.0.0.1',$port),0.2)" 2>/dev/null; then
    break
  fi
  if ! kill -0 $moto_pid 2>/dev/null; then
    echo "moto did not start:" >&2; cat "$log" >&2; exit 1
  fi
  sleep 0.1
done
export FNF_TEST_DYNAMODB_ENDPOINT="http://127.0.0.1:$port"
echo "moto (serialized) on $FNF_TEST_DYNAMODB_ENDPOINT" >&2
"$@"
