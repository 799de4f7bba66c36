//! Data-driven flow tests: every `tests/fixtures/flows/*.yaml` is one case, run through
//! `flow::parse` and the engine (tasks by the built-in test tasks, see `flows/driver.rs`).
//! All failing fixtures are reported, not just the first.

#[path = "flows/driver.rs"]
mod driver;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use fnf_lambda::engine::{self, EventKind, ExecutionContext, HistoryEvent, Outcome};
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
    /// States entered, in order (from StepEntered events).
    visited: Option<Vec<String>>,
    error: Option<String>,
    cause_contains: Option<String>,
    invalid: Option<String>,
    /// Total milliseconds the execution must spend waiting (driven by the test clock).
    waited_ms: Option<i64>,
    /// Execution start time, epoch millis (default `DEFAULT_START_MS`).
    start_ms: Option<i64>,
    /// The exact sequence of event types.
    history: Option<Vec<String>>,
    /// How many events of each type.
    counts: Option<BTreeMap<String, usize>>,
    /// Task results refused as late (timed-out tasks).
    refused: Option<usize>,
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

fn visited(events: &[HistoryEvent]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.kind == EventKind::StepEntered)
        .map(|e| e.step_name.clone())
        .collect()
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
    let start = case.start_ms.unwrap_or(DEFAULT_START_MS);
    let r = driver::run(&flow, case.input.clone(), start, 1)?;
    let mut problems = Vec::new();
    // Replays give identical events, whatever the budget per call.
    for budget in [1, 1000] {
        let again = driver::run(&flow, case.input.clone(), start, budget)?;
        if again.events != r.events || again.outcome != r.outcome {
            problems.push(format!(
                "a replay with budget {budget} gave other events or outcome"
            ));
        }
    }
    let ids: Vec<u64> = r.events.iter().map(|e| e.id).collect();
    if ids != (1..=r.events.len() as u64).collect::<Vec<_>>() {
        problems.push(format!("event ids are not 1..n: {ids:?}"));
    }
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
    let seen = visited(&r.events);
    if let Some(expected) = &case.visited
        && &seen != expected
    {
        problems.push(format!("visited {seen:?} != expected {expected:?}"));
    }
    if let Some(expected) = &case.history {
        let kinds: Vec<&str> = r.events.iter().map(|e| e.kind.as_str()).collect();
        if kinds != *expected {
            problems.push(format!("history {kinds:?} != expected {expected:?}"));
        }
    }
    for (kind, n) in case.counts.iter().flatten() {
        let got = r.events.iter().filter(|e| e.kind.as_str() == kind).count();
        if got != *n {
            problems.push(format!("{got} {kind} events, expected {n}"));
        }
    }
    if let Some(n) = case.refused
        && r.refused != n
    {
        problems.push(format!("{} late results refused, expected {n}", r.refused));
    }
    if r.checkpoint.transitions() != seen.len() as u64 {
        problems.push("transitions() differs from the StepEntered count".into());
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
                secret: String::new(),
                account: String::new(),
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

/// The checkpoint holds live data only: after 100,000 loop iterations it is exactly as large
/// as after 10 (events drained, counters fixed-width).
#[test]
fn checkpoint_size_does_not_grow_with_history() {
    let def = "Type: StateMachine\nSpecVersion: v1\nName: f\nStartAt: check\nStates:\n\
               \x20 - Type: Choice\n    Name: check\n    Branches:\n      - Condition: $Input.go == 1\n        Next: t\n    Default: done\n\
               \x20 - Type: Task\n    Name: t\n    Action: Test:Echo\n    Next: check\n\
               \x20 - Type: Succeed\n    Name: done\n";
    let f = flow::parse(def, FlowType::CloudFlow).expect("valid");
    let ctx = driver::ctx(0);
    let mut input = Map::new();
    input.insert("go".into(), Value::from(1));
    let mut cp = engine::start(&f, input);
    let mut sizes = Vec::new();
    for i in 1..=100_000u32 {
        // Budget 1: stops right after the Choice, before the task is requested.
        loop {
            match engine::advance(&f, &mut cp, &ctx, 0, 1) {
                engine::Progress::Yielded => break,
                engine::Progress::Suspended { tasks, .. } => {
                    for t in tasks {
                        let r = engine::TaskResult::Succeeded(t.parameters);
                        engine::complete_task(&f, &mut cp, &ctx, &t.id, r, 0).expect("pending");
                    }
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        let _ = cp.take_events();
        if i == 10 || i == 100_000 {
            sizes.push(serde_json::to_string(&cp).map(|s| s.len()).unwrap_or(0));
        }
    }
    assert_eq!(
        sizes[0], sizes[1],
        "checkpoint sizes after 10 and 100000 iterations"
    );
    assert_eq!(cp.transitions(), 199_999);
}

/// Deeply nested YAML is refused with an error, never a stack overflow.
#[test]
fn deep_nesting_is_refused() {
    let deep = format!(
        "Type: StateMachine\nSpecVersion: v1\nName: f\nStartAt: a\nStates: {}{}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert!(flow::parse(&deep, FlowType::CloudFlow).is_err());
    let mut states = String::from("[{Type: Pass, Name: p, End: true}]");
    for i in 0..20 {
        states = format!(
            "[{{Type: Parallel, Name: n{i}, End: true, Branches: [{{StartAt: {}, States: {states}}}]}}]",
            if i == 0 {
                "p".to_string()
            } else {
                format!("n{}", i - 1)
            }
        );
    }
    let def =
        format!("Type: StateMachine\nSpecVersion: v1\nName: f\nStartAt: n19\nStates: {states}");
    let err = flow::parse(&def, FlowType::CloudFlow).expect_err("too deep");
    assert!(err.to_string().contains("nested deeper than 8"), "{err}");
}
