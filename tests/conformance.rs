//! The conformance suite: the executable spec of both flow languages.
//!
//! Every `tests/conformance/{cloudflow,fdl}/NNN-short-name.yaml` is one case (format in
//! `tests/conformance/README.md`), run through the local runner. All failing cases are
//! reported by file name with expected vs actual, then the test fails.

use std::path::{Path, PathBuf};

use fnf_lambda::engine::Outcome;
use fnf_lambda::flow::FlowType;
use fnf_lambda::runner::{RunOptions, run_definition};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Cases each language must have, and invalid-definition cases among them.
const MIN_CASES_PER_LANGUAGE: usize = 45;
const MIN_INVALID_PER_LANGUAGE: usize = 10;

const LANGUAGES: [&str; 2] = ["cloudflow", "fdl"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    description: String,
    source: String,
    language: String,
    definition: String,
    input: Map<String, Value>,
    output: Option<Map<String, Value>>,
    error: Option<String>,
    cause_contains: Option<String>,
    invalid: Option<String>,
    visited: Option<Vec<String>>,
    waited_ms: Option<i64>,
}

fn case_files(language: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/conformance")
        .join(language);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

/// `NNN-short-name.yaml`: three digits, a dash, lower-case words joined by dashes.
fn well_named(file_name: &str) -> bool {
    let Some(stem) = file_name.strip_suffix(".yaml") else {
        return false;
    };
    let bytes = stem.as_bytes();
    bytes.len() > 4
        && bytes[..3].iter().all(u8::is_ascii_digit)
        && bytes[3] == b'-'
        && stem[4..].split('-').all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

fn flow_type(language: &str) -> Result<FlowType, String> {
    match language {
        "cloudflow" => Ok(FlowType::CloudFlow),
        "fdl" => Ok(FlowType::Fdl),
        other => Err(format!("unknown language {other:?}")),
    }
}

/// JSON equality where numbers compare by value (`1` equals `1.0`).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => x == y,
            _ => x == y,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_eq(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// The case file is well formed: exactly one expectation, visited where required, etc.
fn check_shape(case: &Case, language: &str) -> Result<(), String> {
    if case.language != language {
        return Err(format!(
            "language {:?} does not match folder {language:?}",
            case.language
        ));
    }
    if case.description.trim().is_empty() || case.source.trim().is_empty() {
        return Err("description and source must not be empty".into());
    }
    let expectations = [
        case.output.is_some(),
        case.error.is_some(),
        case.invalid.is_some(),
    ];
    if expectations.iter().filter(|x| **x).count() != 1 {
        return Err("a case gives exactly one of output, error or invalid".into());
    }
    if case.cause_contains.is_some() && case.error.is_none() {
        return Err("cause_contains goes with error".into());
    }
    if case.invalid.is_some() {
        if case.visited.is_some() || case.waited_ms.is_some() {
            return Err("an invalid case has no visited or waited_ms".into());
        }
    } else if case.visited.is_none() {
        return Err("visited is required for output and error cases".into());
    }
    Ok(())
}

fn check_case(path: &Path, language: &str) -> Result<bool, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("read: {e}"))?;
    let case: Case = serde_norway::from_str(&text).map_err(|e| format!("bad case file: {e}"))?;
    check_shape(&case, language)?;
    let kind = flow_type(&case.language)?;
    let run = run_definition(
        &case.definition,
        kind,
        case.input.clone(),
        &RunOptions::default(),
    );

    if let Some(expected) = &case.invalid {
        return match run {
            Ok(run) => Err(format!(
                "expected a validation error containing {expected:?}, but the definition was accepted and the run ended {}",
                describe(&run.outcome)
            )),
            Err(e) if e.to_string().contains(expected.as_str()) => Ok(true),
            Err(e) => Err(format!(
                "validation error {:?} does not contain {expected:?}",
                e.to_string()
            )),
        };
    }

    let run = run.map_err(|e| format!("unexpected validation error: {e}"))?;
    let mut problems = Vec::new();
    match (&run.outcome, &case.output, &case.error) {
        (Outcome::Succeeded { output }, Some(expected), None) => {
            let actual = serde_json::to_value(output).unwrap_or(Value::Null);
            let expected = Value::Object(expected.clone());
            if !json_eq(&actual, &expected) {
                problems.push(format!("output {actual}\n      expected {expected}"));
            }
        }
        (Outcome::Failed { error, cause }, None, Some(expected)) => {
            let (error, cause) = (error.to_string(), cause.to_string());
            if &error != expected {
                problems.push(format!(
                    "error {error:?} (cause {cause:?}), expected error {expected:?}"
                ));
            }
            if let Some(part) = &case.cause_contains
                && !cause.contains(part.as_str())
            {
                problems.push(format!("cause {cause:?} does not contain {part:?}"));
            }
        }
        (outcome, Some(expected), None) => problems.push(format!(
            "expected success with {}, but the run ended {}",
            Value::Object(expected.clone()),
            describe(outcome)
        )),
        (outcome, None, Some(expected)) => problems.push(format!(
            "expected error {expected:?}, but the run ended {}",
            describe(outcome)
        )),
        _ => unreachable!("check_shape allows exactly one expectation"),
    }
    if let Some(expected) = &case.visited
        && &run.visited != expected
    {
        problems.push(format!(
            "visited {:?}\n      expected {expected:?}",
            run.visited
        ));
    }
    if let Some(expected) = case.waited_ms
        && run.waited_ms != expected
    {
        problems.push(format!(
            "waited {} ms, expected {expected} ms",
            run.waited_ms
        ));
    }
    if problems.is_empty() {
        Ok(false)
    } else {
        Err(problems.join("\n    "))
    }
}

fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Succeeded { output } => format!(
            "succeeded with {}",
            serde_json::to_value(output).unwrap_or(Value::Null)
        ),
        Outcome::Failed { error, cause } => format!("failed with {error}: {cause}"),
    }
}

#[test]
fn conformance() {
    let mut failures = Vec::new();
    let mut summary = Vec::new();
    let mut total = 0;
    for language in LANGUAGES {
        let files = case_files(language);
        let mut invalid = 0;
        for path in &files {
            total += 1;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let label = format!("{language}/{name}");
            if !well_named(&name) {
                failures.push(format!("{label}: file name is not NNN-short-name.yaml"));
            }
            match check_case(path, language) {
                Ok(is_invalid) => invalid += usize::from(is_invalid),
                Err(problem) => {
                    // Count invalid cases by their file content even when they fail.
                    if std::fs::read_to_string(path)
                        .is_ok_and(|t| t.lines().any(|l| l.starts_with("invalid:")))
                    {
                        invalid += 1;
                    }
                    failures.push(format!("{label}:\n    {problem}"));
                }
            }
        }
        summary.push(format!(
            "{language}: {} cases, {invalid} invalid",
            files.len()
        ));
        if files.len() < MIN_CASES_PER_LANGUAGE {
            failures.push(format!(
                "{language}: only {} cases, at least {MIN_CASES_PER_LANGUAGE} required",
                files.len()
            ));
        }
        if invalid < MIN_INVALID_PER_LANGUAGE {
            failures.push(format!(
                "{language}: only {invalid} invalid cases, at least {MIN_INVALID_PER_LANGUAGE} required"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} problem(s) in {total} conformance cases ({}):\n{}",
        failures.len(),
        summary.join("; "),
        failures.join("\n")
    );
}
