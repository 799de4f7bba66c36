//! fnf-lambda's side of `scripts/peer-bench.sh`: runs the cases of `<dir>/cases.json` (the
//! CloudFlow definition of case NAME is `<dir>/NAME.yaml`; the file's `asl` is the peer's) in
//! the engine, in this one process, the way `benches/engine.rs` drives it, and prints one JSON
//! result per case, the same shape as `bench/peer/sfn.mjs` prints for aws-local-stepfunctions.
//! Run: `cargo run --release --example peer_engine -- bench/peer/cases`

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use fnf_lambda::engine::{self, ExecutionContext, Outcome, Progress};
use fnf_lambda::flow::{self, Flow, FlowType};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Each batch of `iterations` is repeated until this much time has passed (sfn.mjs uses the
/// same rule), so a fast engine is not timed over a few milliseconds.
const MIN_SECONDS: f64 = 1.0;

/// One entry of cases.json; its `asl` is for the peer and ignored here.
#[derive(Deserialize)]
struct Case {
    name: String,
    input: Map<String, Value>,
    iterations: u64,
    /// States entered by one execution, counted by hand; checked against the engine's count.
    transitions: u64,
}

fn ctx() -> ExecutionContext {
    ExecutionContext {
        flow_name: "peer".into(),
        execution_name: "peer-1".into(),
        ..ExecutionContext::default()
    }
}

/// One execution to the end, on virtual time 0 (no case waits); answers the output and the
/// number of states entered.
fn run(flow: &Flow, input: &Map<String, Value>) -> Result<(Map<String, Value>, u64), String> {
    let mut cp = engine::start(flow, input.clone());
    let progress = engine::advance(flow, &mut cp, &ctx(), 0, u32::MAX);
    // Drained as a service would, so each run pays for recording its history.
    let _ = cp.take_events();
    match progress {
        Progress::Finished(Outcome::Succeeded { output }) => Ok((output, cp.transitions())),
        other => Err(format!("did not succeed: {other:?}")),
    }
}

fn measure(dir: &Path, case: &Case) -> Result<Value, String> {
    let file = dir.join(format!("{}.yaml", case.name));
    let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    let flow =
        flow::parse(&text, FlowType::CloudFlow).map_err(|e| format!("{}: {e}", file.display()))?;

    let (output, transitions) = run(&flow, &case.input)?;
    if transitions != case.transitions {
        return Err(format!(
            "{} states entered, cases.json says {}",
            transitions, case.transitions
        ));
    }
    for _ in 0..case.iterations {
        run(&flow, &case.input)?; // warm-up, as sfn.mjs does
    }
    let start = Instant::now();
    let mut runs = 0u64;
    let elapsed = loop {
        for _ in 0..case.iterations {
            run(&flow, &case.input)?;
        }
        runs += case.iterations;
        let s = start.elapsed().as_secs_f64();
        if s >= MIN_SECONDS || case.iterations == 0 {
            break s;
        }
    };
    Ok(json!({
        "name": case.name,
        "executions": runs,
        "seconds": elapsed,
        "executions_per_s": runs as f64 / elapsed,
        "transitions_per_s": (runs * case.transitions) as f64 / elapsed,
        "output": output,
    }))
}

fn main() -> ExitCode {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: peer_engine CASES_DIR (holding cases.json and NAME.yaml per case)");
        return ExitCode::from(2);
    };
    let dir = Path::new(&dir);
    let cases: Vec<Case> = match std::fs::read_to_string(dir.join("cases.json"))
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("peer_engine: {}/cases.json: {e}", dir.display());
            return ExitCode::from(2);
        }
    };
    let mut results = Vec::new();
    for case in &cases {
        match measure(dir, case) {
            Ok(r) => results.push(r),
            Err(e) => {
                eprintln!("peer_engine: {}: {e}", case.name);
                return ExitCode::FAILURE;
            }
        }
    }
    println!("{}", Value::Array(results));
    ExitCode::SUCCESS
}
