// The peer side of scripts/peer-bench.sh: runs each case of a case file in
// aws-local-stepfunctions and prints one JSON result per case, the same shape as
// `cargo run --example peer_engine` prints for fnf-lambda's engine.
// Usage: node sfn.mjs cases/cases.json
import { readFileSync } from 'node:fs';
import { StateMachine } from 'aws-local-stepfunctions';

// Each batch of `iterations` is repeated until this much time has passed, so a case measures
// long enough to be stable whatever its size (peer_engine.rs uses the same rule).
const MIN_SECONDS = 1.0;

const cases = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const results = [];
for (const c of cases) {
  const sm = new StateMachine(c.asl);

  // One execution to keep: its output is compared with fnf-lambda's, and its StateEntered
  // events check the hand-counted transitions in the case file.
  const execution = sm.run(structuredClone(c.input));
  const output = await execution.result;
  let entered = 0;
  for await (const e of execution.eventLogs) if (e.type === 'StateEntered') entered++;
  if (entered !== c.transitions) {
    throw new Error(`${c.name}: ${entered} states entered, the case file says ${c.transitions}`);
  }

  // Warm-up: let V8 optimise the interpreter's hot paths before timing.
  for (let i = 0; i < c.iterations; i++) await sm.run(structuredClone(c.input)).result;

  let runs = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  do {
    for (let i = 0; i < c.iterations; i++) {
      // A fresh copy per run, as fnf-lambda's engine gets: neither side may reuse a mutated input.
      await sm.run(structuredClone(c.input)).result;
    }
    runs += c.iterations;
    elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  } while (elapsed < MIN_SECONDS);

  results.push({
    name: c.name,
    executions: runs,
    seconds: elapsed,
    executions_per_s: runs / elapsed,
    transitions_per_s: (runs * c.transitions) / elapsed,
    output,
  });
}
console.log(JSON.stringify(results));
