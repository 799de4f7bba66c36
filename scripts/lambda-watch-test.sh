#!/usr/bin/env bash
# The binary as a Lambda function under `cargo lambda watch` (a local Lambda runtime API and
# function URL), against moto's DynamoDB: the sample events and the function URL path answer.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/venv.sh
tmp=$(mktemp -d)
free_port() { .venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
moto_port=$(free_port)
watch_port=$(free_port)
cleanup() {
  [ -n "${watch_pid:-}" ] && kill -- -"$watch_pid" 2>/dev/null
  [ -n "${moto_pid:-}" ] && kill "$moto_pid" 2>/dev/null
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "lambda-watch-test: $1" >&2; echo "--- cargo lambda watch log" >&2; cat "$tmp/watch.log" >&2; exit 1; }

.venv/bin/moto_server -H 127.0.0.1 -p "$moto_port" >"$tmp/moto.log" 2>&1 &
moto_pid=$!
# FNF_AUTH=none: the sample events are unsigned (signed requests: tests/sdk against serve).
# Continuations stay in the watch process (no AWS to invoke); a short response budget makes
# the long flow below answer Running and finish in continuations.
export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$moto_port AWS_REGION=us-east-1 \
  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test TABLE_NAME=fnf-watch RUST_LOG=info \
  FNF_CONTINUATION=local FNF_RESPONSE_BUDGET_MS=100 FNF_AUTH=none
cargo build --bin fnf-lambda
for _ in $(seq 1 100); do target/debug/fnf-lambda create-table "$TABLE_NAME" >/dev/null 2>&1 && break; sleep 0.2; done

setsid .venv/bin/cargo-lambda lambda watch -A 127.0.0.1 -P "$watch_port" >"$tmp/watch.log" 2>&1 &
watch_pid=$!
for _ in $(seq 1 300); do
  grep -q "starting Runtime server" "$tmp/watch.log" && break
  kill -0 $watch_pid 2>/dev/null || fail "cargo lambda watch exited"
  sleep 0.2
done
invoke() { .venv/bin/cargo-lambda lambda invoke -A 127.0.0.1 -P "$watch_port" --data-file "events/$1" fnf-lambda; }
url=http://127.0.0.1:$watch_port/lambda-url/fnf-lambda/

out=$(invoke direct-create-flow.json) || fail "invoke failed"
echo "$out" | grep -q '"Name":"my_flow_name"' || fail "direct CreateFlow: $out"
out=$(curl -s -m 60 "$url" -d Action=StartExecution -d Version=2019-03-15 -d FlowName=my_flow_name \
  -d ExecutionName=via_url --data-urlencode 'Input={"key":"value"}')
echo "$out" | grep -q '"Status":"Succeeded"' || fail "function URL StartExecution: $out"
for event in apigw-v1-start-execution.json apigw-v2-start-execution.json function-url-start-execution-base64.json apigw-v2-describe-execution.json; do
  out=$(invoke "$event") || fail "invoke $event failed"
  echo "$out" | grep -q '"statusCode":200' || fail "$event: $out"
  echo "$out" | grep -q 'Succeeded' || fail "$event: $out"
done
out=$(invoke direct-start-execution.json)
echo "$out" | grep -q '"Output":"{\\"key\\":\\"value\\"}"' || fail "direct StartExecution: $out"
grep -q '"request_id"' "$tmp/watch.log" || fail "log lines carry no request_id"

# A flow that outlives the response budget: Running at once, Succeeded through continuations.
printf 'Type: StateMachine\nSpecVersion: v1\nName: slow\nStartAt: nap\nStates:\n  - Type: Task\n    Name: nap\n    Action: Test:Sleep\n    Parameters:\n      Milliseconds: 500\n    End: true\n' > "$tmp/slow.yaml"
out=$(curl -s -m 60 "$url" -d Action=CreateFlow -d Name=slow -d Type=DEFAULT --data-urlencode "Definition@$tmp/slow.yaml")
echo "$out" | grep -q '"Name":"slow"' || fail "CreateFlow slow: $out"
out=$(curl -s -m 60 "$url" -d Action=StartExecution -d FlowName=slow -d ExecutionName=s1)
echo "$out" | grep -q '"Status":"Running"' || fail "a long StartExecution should answer Running: $out"
out=$(curl -s -m 60 "$url?Action=DescribeExecution&FlowName=slow&ExecutionName=s1&WaitTimeSeconds=20")
echo "$out" | grep -q '"Status":"Succeeded"' || fail "the continuation did not finish the flow: $out"
echo "cargo lambda watch + moto: OK"
