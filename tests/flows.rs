//! Data-driven flow tests: every `tests/fixtures/flows/*.yaml` is one case, run through
//! `flow::parse` and the engine. All failing fixtures are reported, not just the first.

use std::path::{Path, PathBuf};

use fnf_lambda::engine::{self, Checkpoint, ExecutionContext, Outcome, Progress};
use fnf_lambda::flow::{self, FlowType};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Execution start time used by every case: 2023-11-14T22:13:20Z.
const DEFAULT_START_MS: i64 = 1_700_000_000_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    language: String,
    definition: String,
    #[serde(default)]
    input: Map<String, Value>,
    output: Option<Map<String, Value>>,
    visited: Option<Vec<String>>,
    error: Option<String>,
    cause_contains: Option<String>,
    invalid: Option<String>,
    /// Total milliseconds the execution must spend waiting (driven by the test clock).
    waited_ms: Option<i64>,
    /// Execution start time, epoch millis (default `DEFAULT_START_MS`).
    start_ms: Option<i64>,
}

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/flows");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

fn kind(language: &str) -> Result<FlowType, String> {
    match language {
        "cloudflow" => Ok(FlowType::CloudFlow),
        "fdl" => Ok(FlowType::Fdl),
        other => Err(format!("unknown language {other:?}")),
    }
}

struct Run {
    outcome: Outcome,
    checkpoint: Checkpoint,
    waited_ms: i64,
}

/// Drive an execution to its end: one transition per call (to exercise Yielded), a
/// serde round trip of the checkpoint between calls, and the clock jumping to each wait's end.
fn run(flow: &flow::Flow, input: Map<String, Value>, start_ms: i64) -> Result<Run, String> {
    let ctx = ExecutionContext {
        flow_name: "test-flow".into(),
        execution_name: "exec-1".into(),
        started_ms: start_ms,
    };
    let mut cp = engine::start(flow, input);
    let mut now = start_ms;
    let mut waited_ms = 0;
    for _ in 0..10_000 {
        let progress = engine::advance(flow, &mut cp, &ctx, now, 1);
        match progress {
            Progress::Finished(outcome) => {
                return Ok(Run {
                    outcome,
                    checkpoint: cp,
                    waited_ms,
                });
            }
            Progress::WaitUntil { until_ms } => {
                if until_ms <= now {
                    return Err(format!(
                        "WaitUntil({until_ms}) is not in the future (now {now})"
                    ));
                }
                waited_ms += until_ms - now;
                // Resuming early must keep waiting.
                let early = engine::advance(flow, &mut cp, &ctx, until_ms - 1, 1);
                if early != (Progress::WaitUntil { until_ms }) {
                    return Err(format!("advance before the wait ended gave {early:?}"));
                }
                now = until_ms;
            }
            Progress::Yielded => {}
        }
        let json = serde_json::to_string(&cp).map_err(|e| format!("checkpoint serialize: {e}"))?;
        cp = serde_json::from_str(&json).map_err(|e| format!("checkpoint deserialize: {e}"))?;
    }
    Err("did not finish within 10000 advance calls".into())
}

fn check_case(path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("read: {e}"))?;
    let case: Case = serde_norway::from_str(&text).map_err(|e| format!("bad fixture: {e}"))?;
    let parsed = flow::parse(&case.definition, kind(&case.language)?);
    if let Some(expected) = &case.invalid {
        return match parsed {
            Ok(_) => Err(format!(
                "expected a validation error containing {expected:?}, but it parsed"
            )),
            Err(e) if e.to_string().contains(expected.as_str()) => Ok(()),
            Err(e) => Err(format!(
                "validation error {:?} does not contain {expected:?}",
                e.to_string()
            )),
        };
    }
    let flow = parsed.map_err(|e| format!("unexpected validation error: {e}"))?;
    let r = run(
        &flow,
        case.input.clone(),
        case.start_ms.unwrap_or(DEFAULT_START_MS),
    )?;
    let mut problems = Vec::new();
    match (&r.outcome, &case.output, &case.error) {
        (Outcome::Succeeded { output }, Some(expected), None) => {
            if output != expected {
                problems.push(format!(
                    "output {} != expected {}",
                    Value::Object(output.clone()),
                    Value::Object(expected.clone())
                ));
            }
        }
        (Outcome::Failed { error, cause }, None, Some(expected)) => {
            if error != expected {
                problems.push(format!(
                    "error {error:?} != expected {expected:?} (cause {cause:?})"
                ));
            }
            if let Some(part) = &case.cause_contains
                && !cause.contains(part.as_str())
            {
                problems.push(format!("cause {cause:?} does not contain {part:?}"));
            }
        }
        (Outcome::Failed { error, cause }, Some(_), None) => problems.push(format!(
            "expected success, but it failed with {error}: {cause}"
        )),
        (Outcome::Succeeded { output }, None, Some(expected)) => problems.push(format!(
            "expected error {expected:?}, but it succeeded with {}",
            Value::Object(output.clone())
        )),
        _ => problems.push("a fixture gives exactly one of output, error or invalid".into()),
    }
    if let Some(expected) = &case.visited
        && r.checkpoint.visited() != expected.as_slice()
    {
        problems.push(format!(
            "visited {:?} != expected {expected:?}",
            r.checkpoint.visited()
        ));
    }
    if r.checkpoint.transitions() != r.checkpoint.visited().len() as u64 {
        problems.push("transitions() differs from visited().len()".into());
    }
    if let Some(expected) = case.waited_ms
        && r.waited_ms != expected
    {
        problems.push(format!("waited {} ms, expected {expected} ms", r.waited_ms));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

#[test]
fn fixtures_pass() {
    let files = fixtures();
    let mut per_language = [0usize; 2];
    let mut failures = Vec::new();
    for path in &files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with("cf_") {
            per_language[0] += 1;
        } else if name.starts_with("fdl_") {
            per_language[1] += 1;
        }
        if let Err(problem) = check_case(path) {
            failures.push(format!("{name}: {problem}"));
        }
    }
    assert!(
        per_language[0] >= 15 && per_language[1] >= 15,
        "need at least 15 fixtures per language, found {per_language:?}"
    );
    assert!(
        failures.is_empty(),
        "{} of {} fixtures failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

fn cloudflow_with_states(states: &str) -> String {
    format!("Type: StateMachine\nSpecVersion: v1\nName: f\nStartAt: s0\nStates:\n{states}")
}

#[test]
fn limits_are_enforced() {
    let mut states = String::new();
    for i in 0..=flow::MAX_STATES {
        let next = if i == flow::MAX_STATES {
            "End: true".to_string()
        } else {
            format!("Next: s{}", i + 1)
        };
        states.push_str(&format!("  - {{Type: Pass, Name: s{i}, {next}}}\n"));
    }
    let err = flow::parse(&cloudflow_with_states(&states), FlowType::CloudFlow).unwrap_err();
    assert!(err.to_string().contains("at most 1000"), "{err}");

    let long = format!("$Input.{}", "a".repeat(flow::MAX_EXPRESSION_CHARS));
    let def = cloudflow_with_states(&format!(
        "  - Type: Pass\n    Name: s0\n    End: true\n    InputConstructor:\n      x.$: {long}\n"
    ));
    let err = flow::parse(&def, FlowType::CloudFlow).unwrap_err();
    assert_eq!(err.path, "States[0].InputConstructor.x.$");
    assert!(err.message.contains("longer than 1024"), "{err}");

    let deep = format!(
        "{}1{}",
        "{a: ".repeat(flow::MAX_CONSTRUCTOR_DEPTH + 1),
        "}".repeat(flow::MAX_CONSTRUCTOR_DEPTH + 1)
    );
    let def = cloudflow_with_states(&format!(
        "  - Type: Pass\n    Name: s0\n    End: true\n    InputConstructor: {deep}\n"
    ));
    let err = flow::parse(&def, FlowType::CloudFlow).unwrap_err();
    assert!(err.message.contains("nested deeper than 32"), "{err}");
    let ok = format!(
        "{}1{}",
        "{a: ".repeat(flow::MAX_CONSTRUCTOR_DEPTH),
        "}".repeat(flow::MAX_CONSTRUCTOR_DEPTH)
    );
    let def = cloudflow_with_states(&format!(
        "  - Type: Pass\n    Name: s0\n    End: true\n    InputConstructor: {ok}\n"
    ));
    assert!(flow::parse(&def, FlowType::CloudFlow).is_ok());
}

#[test]
fn flow_type_api_names() {
    assert_eq!(FlowType::from_api("FDL"), Some(FlowType::Fdl));
    assert_eq!(FlowType::from_api("DEFAULT"), Some(FlowType::CloudFlow));
    assert_eq!(FlowType::from_api("fdl"), None);
    assert_eq!(FlowType::CloudFlow.as_api(), "DEFAULT");
    assert_eq!(FlowType::Fdl.as_api(), "FDL");
}

/// Small deterministic generator (xorshift) so failures reproduce exactly.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const TOKENS: &[&str] = &[
    "Type",
    "StateMachine",
    "SpecVersion",
    "v1",
    "Name",
    "StartAt",
    "States",
    "Next",
    "End",
    "true",
    "Pass",
    "Wait",
    "Succeed",
    "Fail",
    "Task",
    "Seconds",
    "Seconds.$",
    "UntilDateTime",
    "InputConstructor",
    "OutputConstructor",
    "a.$",
    "$Input",
    "$Input.a[0]",
    "$Output",
    "$Context.Execution.Name",
    "version",
    "type",
    "flow",
    "steps",
    "name",
    "pass",
    "wait",
    "duration",
    "timestamp",
    "$.x",
    "inputMappings",
    "outputMappings",
    "target",
    "source",
    "$input.a",
    "$local",
    "2019-05-02T15:04:05Z",
    "-1",
    "99999999999999999999",
    ": ",
    "- ",
    "\n",
    "\n  ",
    "\n    ",
    "{",
    "}",
    "[",
    "]",
    ",",
    "&a",
    "*a",
    "!!str",
    "'",
    "\"",
    "#",
    "|",
    "~",
    "null",
    "1.5e300",
    ".nan",
];

fn exercise(definition: &str) {
    for kind in [FlowType::CloudFlow, FlowType::Fdl] {
        if let Ok(f) = flow::parse(definition, kind) {
            let ctx = ExecutionContext {
                flow_name: "f".into(),
                execution_name: "e".into(),
                started_ms: i64::MAX - 5,
            };
            let mut input = Map::new();
            input.insert("a".into(), serde_json::json!([{"x": 1}]));
            let mut cp = engine::start(&f, input);
            for now in [i64::MIN, 0, i64::MAX] {
                let _ = engine::advance(&f, &mut cp, &ctx, now, 50);
            }
        }
    }
}

#[test]
fn garbage_never_panics() {
    let seeds: Vec<String> = fixtures()
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .filter_map(|t| serde_norway::from_str::<Case>(&t).ok())
        .map(|c| c.definition)
        .collect();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for round in 0..3000 {
        let text = if round % 2 == 0 && !seeds.is_empty() {
            // Mutate a real definition: delete, duplicate or replace a span, or splice a token.
            let mut chars: Vec<char> = seeds[rng.below(seeds.len())].chars().collect();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(chars.len() + 1);
                match rng.below(4) {
                    0 if at < chars.len() => {
                        let end = (at + rng.below(20)).min(chars.len());
                        chars.drain(at..end);
                    }
                    1 => chars
                        .splice(at..at, TOKENS[rng.below(TOKENS.len())].chars())
                        .for_each(drop),
                    2 if at < chars.len() => chars[at] = char::from(b' ' + rng.below(95) as u8),
                    _ => {
                        let end = (at + rng.below(30)).min(chars.len());
                        let copy: Vec<char> = chars[at..end].to_vec();
                        chars.splice(at..at, copy).for_each(drop);
                    }
                }
            }
            chars.into_iter().collect()
        } else {
            (0..rng.below(40))
                .map(|_| TOKENS[rng.below(TOKENS.len())])
                .collect::<String>()
        };
        exercise(&text);
    }
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config { cases: 300, failure_persistence: None, ..Default::default() })]
    #[test]
    fn arbitrary_text_never_panics(chars in proptest::collection::vec(proptest::char::any(), 0..300)) {
        let text: String = chars.into_iter().collect();
        exercise(&text);
    }
}
