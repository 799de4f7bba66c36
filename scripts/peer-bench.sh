#!/usr/bin/env bash
# The same state machines (bench/peer/cases) in fnf-lambda's engine and in
# aws-local-stepfunctions (npm), in one run: prints each engine's output for one execution and
# a Markdown table of executions per second. Fails (non-zero) when either side errors or the
# two outputs of a case differ. Needs node and npm; takes well under 2 minutes after the build.
set -euo pipefail
cd "$(dirname "$0")/.."
cases=bench/peer/cases
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "peer-bench: $1" >&2; exit 1; }

command -v node >/dev/null || fail "node is not installed"
cargo build --release --example peer_engine
if [ ! -d bench/peer/node_modules/aws-local-stepfunctions ]; then
  (cd bench/peer && npm ci --no-audit --no-fund) || fail "npm ci in bench/peer failed"
fi

# One side after the other, never together, so neither takes CPU from the other. Each side
# measures every case for at least a second; the timeouts only catch a hang.
timeout 120 target/release/examples/peer_engine "$cases" >"$tmp/fnf.json" \
  || fail "the fnf-lambda side failed (above)"
timeout 120 node bench/peer/sfn.mjs "$cases/cases.json" >"$tmp/sfn.json" \
  || fail "the aws-local-stepfunctions side failed (above)"

# Node compares (it is needed anyway): deep equality, so key order in objects does not matter.
node --input-type=module - "$tmp/fnf.json" "$tmp/sfn.json" "$cases/cases.json" <<'EOF'
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
const [fnfFile, sfnFile, casesFile] = process.argv.slice(2);
const read = (f) => JSON.parse(readFileSync(f, 'utf8'));
const fnf = read(fnfFile), sfn = read(sfnFile), cases = read(casesFile);
const peerVersion = read('bench/peer/node_modules/aws-local-stepfunctions/package.json').version;
const short = (v) => { const s = JSON.stringify(v); return s.length > 100 ? `${s.slice(0, 97)}...` : s; };
const rate = (x) => Math.round(x).toLocaleString('en-US');

let differ = 0;
const rows = [];
for (const c of cases) {
  const a = fnf.find((r) => r.name === c.name), b = sfn.find((r) => r.name === c.name);
  if (!a || !b) { console.error(`peer-bench: ${c.name}: missing from ${a ? 'sfn.mjs' : 'peer_engine'}`); process.exit(1); }
  const same = isDeepStrictEqual(a.output, b.output);
  if (!same) differ++;
  console.log(`${c.name}: outputs ${same ? 'equal' : 'DIFFER'}`);
  console.log(`  fnf-lambda:              ${short(a.output)}`);
  console.log(`  aws-local-stepfunctions: ${short(b.output)}`);
  rows.push(`| ${c.name} | ${c.transitions} | ${rate(a.executions_per_s)} | ${rate(b.executions_per_s)} | ${(a.executions_per_s / b.executions_per_s).toFixed(1)}x |`);
}
console.log(`\nnode ${process.version}, aws-local-stepfunctions ${peerVersion}\n`);
console.log('| case | states entered per execution | fnf-lambda executions/s | aws-local-stepfunctions executions/s | ratio |');
console.log('|---|---:|---:|---:|---:|');
for (const r of rows) console.log(r);
if (differ) { console.error(`peer-bench: the engines' outputs differ for ${differ} case(s)`); process.exit(1); }
EOF
