//! `fnf-lambda run` and `fnf-lambda validate`: try a definition file locally before deploying.

use std::path::Path;

use serde_json::{Map, Value};

use crate::engine::Outcome;
use crate::flow::{self, FlowType};
use crate::runner::{self, RunOptions};

/// What a command ended with: the process exit code and what to print.
pub struct Report {
    pub code: u8,
    pub stdout: String,
    pub stderr: String,
}

impl Report {
    fn new(code: u8, stdout: String, stderr: String) -> Report {
        Report {
            code,
            stdout,
            stderr,
        }
    }
}

/// Exit codes: 0 success, 1 the execution failed, 2 the definition or the arguments are wrong.
const FAILED: u8 = 1;
const INVALID: u8 = 2;

struct Loaded {
    text: String,
    kind: FlowType,
}

fn load(file: &Path, forced: Option<&str>) -> Result<Loaded, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    if text.len() > flow::MAX_DEFINITION_BYTES {
        return Err(format!(
            "{}: larger than {} bytes",
            file.display(),
            flow::MAX_DEFINITION_BYTES
        ));
    }
    // Before detect_type parses it: a nesting bomb gets its own message, fast.
    flow::check_nesting(&text).map_err(|e| format!("{}: {e}", file.display()))?;
    let kind = match forced {
        Some(t) => FlowType::from_api(t).ok_or_else(|| format!("--type must be FDL or DEFAULT, got {t}"))?,
        None => runner::detect_type(&text).ok_or_else(|| {
            format!("{}: neither `Type: StateMachine` (CloudFlow) nor `type: flow` (FDL); say which with --type", file.display())
        })?,
    };
    Ok(Loaded { text, kind })
}

fn language(kind: FlowType) -> &'static str {
    match kind {
        FlowType::CloudFlow => "CloudFlow",
        FlowType::Fdl => "FDL",
    }
}

/// `validate FLOW_FILE [--type T]`
pub fn validate(file: &Path, forced_type: Option<&str>) -> Report {
    let loaded = match load(file, forced_type) {
        Ok(l) => l,
        Err(e) => return Report::new(INVALID, String::new(), format!("error: {e}\n")),
    };
    match flow::parse(&loaded.text, loaded.kind) {
        Ok(model) => Report::new(
            0,
            format!(
                "{}: a valid {} definition ({} states)\n",
                file.display(),
                language(loaded.kind),
                model.state_count()
            ),
            String::new(),
        ),
        Err(e) => Report::new(INVALID, String::new(), format!("{}: {e}\n", file.display())),
    }
}

/// `run FLOW_FILE [--input JSON] [--type T] [--history]`
pub fn run(file: &Path, input: Option<&str>, forced_type: Option<&str>, history: bool) -> Report {
    super::regex_budget_from_env();
    let loaded = match load(file, forced_type) {
        Ok(l) => l,
        Err(e) => return Report::new(INVALID, String::new(), format!("error: {e}\n")),
    };
    let input: Map<String, Value> = match serde_json::from_str(input.unwrap_or("{}")) {
        Ok(Value::Object(map)) => map,
        Ok(_) => {
            return Report::new(
                INVALID,
                String::new(),
                "error: --input must be a JSON object\n".into(),
            );
        }
        Err(e) => {
            return Report::new(
                INVALID,
                String::new(),
                format!("error: --input is not JSON: {e}\n"),
            );
        }
    };
    let options = RunOptions {
        limits: super::execution_limits_from_env(),
        ..RunOptions::default()
    };
    let result = match runner::run_definition(&loaded.text, loaded.kind, input, &options) {
        Ok(r) => r,
        Err(e) => {
            return Report::new(INVALID, String::new(), format!("{}: {e}\n", file.display()));
        }
    };
    let mut stderr = String::new();
    if history {
        for e in &result.events {
            let at = e.time_ms - RunOptions::default().start_ms;
            stderr.push_str(&format!(
                "{:>5} {:>+8}ms  {:<20} {:<16} {}\n",
                e.id,
                at,
                e.kind.as_str(),
                e.step_name,
                if e.detail.is_null() {
                    String::new()
                } else {
                    e.detail.to_string()
                }
            ));
        }
    }
    match result.outcome {
        Outcome::Succeeded { output } => {
            Report::new(0, format!("{}\n", Value::Object(output)), stderr)
        }
        Outcome::Failed { error, cause } => {
            stderr.push_str(&format!("Failed: {error}: {cause}\n"));
            Report::new(FAILED, String::new(), stderr)
        }
    }
}
