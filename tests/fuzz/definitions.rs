//! Both definition parsers and validators (`flow::parse`, CloudFlow and FDL): the fixtures of
//! `tests/fixtures/flows/` and `tests/conformance/` mutated as text (byte flips, brackets,
//! anchors and aliases, deep nesting, long strings, unicode), and structure-aware random
//! definitions. `parse` must give a flow or a clean error, the same one twice, quickly.

use std::path::Path;
use std::sync::OnceLock;

use fnf_lambda::flow::{self, FlowType, MAX_DEFINITION_BYTES, MAX_STATES};
use serde_json::{Map, Value, json};

use super::expr;
use super::rng::{Rng, note, show};
use fnf_lambda::flow::expr::Dialect;

/// A fixture: its definition text, its language, and whether it is meant to be valid.
pub struct Fixture {
    pub name: String,
    pub text: String,
    pub kind: FlowType,
}

/// Every fixture definition, read once.
pub fn fixtures() -> &'static [Fixture] {
    static ALL: OnceLock<Vec<Fixture>> = OnceLock::new();
    ALL.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
        let mut out = Vec::new();
        for dir in ["fixtures/flows", "conformance/cloudflow", "conformance/fdl"] {
            let mut paths: Vec<_> = std::fs::read_dir(root.join(dir))
                .expect("a fixture directory")
                .map(|e| e.expect("an entry").path())
                .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
                .collect();
            paths.sort();
            for path in paths {
                let text = std::fs::read_to_string(&path).expect("read a fixture");
                let doc: Value = serde_norway::from_str(&text).expect("a fixture is YAML");
                let (Some(definition), Some(language)) =
                    (doc["definition"].as_str(), doc["language"].as_str())
                else {
                    continue;
                };
                let kind = match language {
                    "fdl" => FlowType::Fdl,
                    _ => FlowType::CloudFlow,
                };
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                out.push(Fixture {
                    name,
                    text: definition.to_owned(),
                    kind,
                });
            }
        }
        out
    })
}

/// Parses in both languages: a flow or an error, deterministic, within the bounds.
pub fn check(text: &str) -> Result<(), String> {
    note(text);
    for kind in [FlowType::CloudFlow, FlowType::Fdl] {
        let first = flow::parse(text, kind);
        match &first {
            Ok(f) if f.state_count() > MAX_STATES => {
                return Err(format!(
                    "{} states accepted: {}",
                    f.state_count(),
                    show(text)
                ));
            }
            Err(e) if e.path.is_empty() || e.message.is_empty() => {
                return Err(format!("an error without path or message: {e:?}"));
            }
            _ => {}
        }
        let again = flow::parse(text, kind);
        if first.as_ref().err() != again.as_ref().err() {
            return Err(format!("two parses differ: {}", show(text)));
        }
    }
    Ok(())
}

/// Text mutations that matter to a YAML reader.
const INSERTS: &[&str] = &[
    "[",
    "]",
    "{",
    "}",
    "&a ",
    "*a",
    "&a [*a, *a]",
    "<<: *a\n",
    "- ",
    ": ",
    "\n  ",
    "\n- ",
    "\"",
    "'",
    "|\n",
    ">-\n",
    "!!binary ",
    "!!str ",
    "!!int ",
    "!!map ",
    "!custom ",
    "? ",
    "%YAML 1.1\n",
    "---\n",
    "...\n",
    "\t",
    "#",
    "\u{feff}",
    "\u{0}",
    "😀",
    "é",
    "\u{202e}",
    "~",
    "null",
    "0x1F",
    ".inf",
    "1e999",
    "-.nan",
    "$Input.a",
    "$.a",
    "Next: ",
    "End: true",
    "Type: Parallel",
];

fn mutate_text(rng: &mut Rng, text: &mut String) {
    let boundary =
        |t: &String, at: usize| (0..=at).rev().find(|i| t.is_char_boundary(*i)).unwrap_or(0);
    for _ in 0..rng.range(1, 4) {
        let at = boundary(text, rng.below(text.len() + 1));
        match rng.below(8) {
            0 => text.insert(at, rng.any_char()),
            1 => {
                let end = boundary(text, (at + rng.range(1, 20)).min(text.len()));
                if end > at {
                    text.replace_range(at..end, "");
                }
            }
            2 => {
                // A byte flip that keeps the text UTF-8 (definitions arrive as strings).
                let mut bytes = text.clone().into_bytes();
                if let Some(b) = bytes.get_mut(at) {
                    *b ^= 1 << rng.below(7);
                }
                if let Ok(t) = String::from_utf8(bytes) {
                    *text = t;
                }
            }
            3 => {
                let end = boundary(text, (at + rng.range(1, 80)).min(text.len()));
                let copy = text[at..end].to_owned();
                text.insert_str(end, &copy);
            }
            4 => text.insert_str(at, &"x".repeat(rng.range(1, 64 * 1024))),
            5 => {
                // Past the YAML reader's depth limit (128) but not far: scanning deep flow
                // nesting is quadratic (regressions.rs), which would make cases slow.
                let n = rng.range(1, 200);
                let (open, close) =
                    *rng.pick(&[("[", "]"), ("{a: ", "}"), ("- ", ""), ("[{a: ", "}]")]);
                text.insert_str(at, &format!("{}x{}", open.repeat(n), close.repeat(n)));
            }
            _ => text.insert_str(at, rng.pick::<&str>(INSERTS)),
        }
    }
    if text.len() > MAX_DEFINITION_BYTES {
        // The API refuses longer text before parsing; cut on a character boundary.
        let end = boundary(text, MAX_DEFINITION_BYTES);
        text.truncate(end);
    }
}

/// An alias bomb: each level holds ten aliases of the one before.
fn alias_bomb(rng: &mut Rng) -> String {
    let levels = rng.range(2, 10);
    let mut s = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..=levels {
        let p = i - 1;
        s.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let top = *rng.pick(&[
        "Type: StateMachine\nStates: *a",
        "type: flow\nsteps: *a",
        "States: *a",
    ]);
    s.push_str(&format!("{top}{levels}\n"));
    s
}

#[test]
fn fixtures_parse_as_labelled() {
    let all = fixtures();
    assert!(all.len() > 150, "found {} fixtures", all.len());
    let valid = all
        .iter()
        .filter(|f| !f.name.contains("invalid"))
        .collect::<Vec<_>>();
    let ok = valid
        .iter()
        .filter(|f| flow::parse(&f.text, f.kind).is_ok())
        .count();
    // The mutations start from mostly working definitions.
    assert!(
        ok * 10 >= valid.len() * 9,
        "{ok} of {} valid fixtures parse",
        valid.len()
    );
}

#[test]
fn definitions_mutated() {
    super::rng::run("definitions_mutated", 3.0, |rng| {
        let mut text = rng.pick(fixtures()).text.clone();
        mutate_text(rng, &mut text);
        check(&text)
    });
}

#[test]
fn definitions_alias_bombs() {
    super::rng::run("definitions_alias_bombs", 0.05, |rng| {
        check(&alias_bomb(rng))
    });
}

const NAMES: &[&str] = &["s0", "s1", "s2", "s3", "", "S0", "end"];

fn expression(rng: &mut Rng, dialect: Dialect) -> Value {
    Value::String(expr::text(rng, dialect, 2))
}

/// A constructor map (CloudFlow) with `.$` keys holding expressions.
fn constructor(rng: &mut Rng) -> Value {
    let mut m = Map::new();
    for _ in 0..rng.range(0, 3) {
        let key = rng.pick(&["a", "b.$", "c.$", "d"]).to_string();
        let v = if key.ends_with(".$") {
            expression(rng, Dialect::CloudFlow)
        } else {
            super::json::value(rng, 2, &[])
        };
        m.insert(key, v);
    }
    Value::Object(m)
}

fn errors_rule(rng: &mut Rng, next_key: &str, cloudflow: bool) -> Value {
    let (errors, interval, attempts, rate) = if cloudflow {
        ("Errors", "IntervalSeconds", "MaxAttempts", "BackoffRate")
    } else {
        ("errors", "intervalSeconds", "maxAttempts", "multiplier")
    };
    let mut m = Map::new();
    m.insert(
        errors.into(),
        json!([rng.pick(&["FnF.ALL", "FC.Unknown", "x", ""])]),
    );
    if rng.one_in(2) {
        m.insert(
            interval.into(),
            json!(rng.pick(&[0, 1, 86400, -1, 999_999_999])),
        );
        m.insert(attempts.into(), json!(rng.pick(&[0, 1, 3, 1000, -5])));
        m.insert(rate.into(), json!(rng.pick(&[0.5, 1.0, 2.0, 1e300])));
    } else {
        m.insert(next_key.into(), json!(rng.pick(NAMES)));
    }
    Value::Object(m)
}

/// A random CloudFlow state list, nested up to `depth`.
fn cloudflow_states(rng: &mut Rng, depth: usize) -> Value {
    let n = rng.range(0, 4);
    let states = (0..n).map(|_| cloudflow_state(rng, depth)).collect();
    Value::Array(states)
}

fn cloudflow_state(rng: &mut Rng, depth: usize) -> Value {
    let kinds = [
        "Pass", "Task", "Choice", "Parallel", "Map", "Wait", "Succeed", "Fail", "Nope",
    ];
    let kind = *rng.pick(&kinds);
    let mut m = Map::new();
    m.insert("Type".into(), json!(kind));
    m.insert("Name".into(), json!(rng.pick(NAMES)));
    let c = Dialect::CloudFlow;
    let mut fields: Vec<(&str, Value)> = vec![
        ("Next", json!(rng.pick(NAMES))),
        ("End", json!(rng.one_in(2))),
        ("InputConstructor", constructor(rng)),
        ("OutputConstructor", constructor(rng)),
        ("Retry", json!([errors_rule(rng, "Next", true)])),
        ("Catch", json!([errors_rule(rng, "Next", true)])),
    ];
    match kind {
        "Task" => fields.extend([
            (
                "Action",
                json!(rng.pick(&["FC:InvokeFunction", "HTTP:Request", "Nope"])),
            ),
            (
                "ResourceArn",
                json!(rng.pick(&["acs:fc:::functions/f", "x", ""])),
            ),
            (
                "TaskMode",
                json!(rng.pick(&["RequestComplete", "WaitForCallback", "Nope"])),
            ),
            ("Timeout", json!(rng.pick(&[1, 0, -1, 99_999_999]))),
            ("TimeoutExpression", expression(rng, c)),
            ("Parameters", constructor(rng)),
        ]),
        "Choice" => fields.extend([
            (
                "Branches",
                json!([{"Condition": expression(rng, c), "Next": rng.pick(NAMES)}]),
            ),
            ("Default", json!(rng.pick(NAMES))),
        ]),
        "Parallel" if depth > 0 => fields.push((
            "Branches",
            json!([{"StartAt": rng.pick(NAMES), "States": cloudflow_states(rng, depth - 1)}]),
        )),
        "Map" if depth > 0 => fields.extend([
            ("ItemsPath", expression(rng, c)),
            ("MaxConcurrency", json!(rng.pick(&[0, 1, 100, 101, -1]))),
            (
                "Processor",
                json!({"StartAt": rng.pick(NAMES), "States": cloudflow_states(rng, depth - 1)}),
            ),
        ]),
        "Wait" => fields.extend([
            ("Seconds", json!(rng.pick(&[0, 1, 31_536_001, -1]))),
            ("SecondsExpression", expression(rng, c)),
            ("Timestamp", json!(rng.pick(&["2026-01-01T00:00:00Z", "x"]))),
            ("TimestampExpression", expression(rng, c)),
        ]),
        "Fail" => fields.extend([("Error", json!("E")), ("Cause", json!("c"))]),
        _ => {}
    }
    for (k, v) in fields {
        if rng.one_in(3) {
            m.insert(k.into(), v);
        }
    }
    Value::Object(m)
}

fn fdl_steps(rng: &mut Rng, depth: usize) -> Value {
    let n = rng.range(0, 4);
    Value::Array((0..n).map(|_| fdl_step(rng, depth)).collect())
}

fn mappings(rng: &mut Rng) -> Value {
    let source = match rng.below(2) {
        0 => expression(rng, Dialect::Fdl),
        _ => json!(rng.pick(&["$input.a", "$local.b", "$context.step.name", "literal"])),
    };
    json!([{"target": rng.pick(&["a", "b", "", "a.b"]), "source": source}])
}

fn fdl_step(rng: &mut Rng, depth: usize) -> Value {
    let kinds = [
        "pass", "task", "choice", "parallel", "foreach", "wait", "succeed", "fail", "nope",
    ];
    let kind = *rng.pick(&kinds);
    let mut m = Map::new();
    m.insert("type".into(), json!(kind));
    m.insert("name".into(), json!(rng.pick(NAMES)));
    let f = Dialect::Fdl;
    let mut fields: Vec<(&str, Value)> = vec![
        ("goto", json!(rng.pick(NAMES))),
        ("end", json!(rng.one_in(2))),
        ("inputMappings", mappings(rng)),
        ("outputMappings", mappings(rng)),
        ("retry", json!([errors_rule(rng, "goto", false)])),
        ("catch", json!([errors_rule(rng, "goto", false)])),
    ];
    match kind {
        "task" => fields.extend([
            (
                "resourceArn",
                json!(rng.pick(&["acs:fc:::services/s/functions/f", "x"])),
            ),
            ("timeoutSeconds", json!(rng.pick(&[1, 0, -1]))),
        ]),
        "choice" => {
            let mut branch = json!({"condition": expression(rng, f), "goto": rng.pick(NAMES)});
            if depth > 0 && rng.one_in(2) {
                branch["steps"] = fdl_steps(rng, depth - 1);
            }
            fields.extend([
                ("choices", json!([branch])),
                ("default", json!({"goto": rng.pick(NAMES)})),
            ]);
        }
        "parallel" if depth > 0 => {
            fields.push(("branches", json!([{"steps": fdl_steps(rng, depth - 1)}])));
        }
        "foreach" if depth > 0 => fields.extend([
            (
                "iterationMapping",
                json!({"collection": expression(rng, f), "item": "it", "index": "i"}),
            ),
            ("maxConcurrency", json!(rng.pick(&[0, 1, 100, 101]))),
            ("steps", fdl_steps(rng, depth - 1)),
        ]),
        "wait" => fields.extend([
            ("duration", json!(rng.pick(&[0, 1, -1, 31_536_001]))),
            ("timestamp", json!(rng.pick(&["2026-01-01T00:00:00Z", "x"]))),
            ("durationExpression", expression(rng, f)),
        ]),
        "fail" => fields.extend([("error", json!("E")), ("cause", json!("c"))]),
        _ => {}
    }
    for (k, v) in fields {
        if rng.one_in(3) {
            m.insert(k.into(), v);
        }
    }
    Value::Object(m)
}

/// A random definition of either language, as YAML or (YAML's subset) JSON.
fn random_definition(rng: &mut Rng) -> String {
    let depth = rng.range(0, 3);
    let doc = if rng.one_in(2) {
        json!({"Type": "StateMachine", "SpecVersion": rng.pick(&["v1", "v2"]), "Name": "f",
               "StartAt": rng.pick(NAMES), "States": cloudflow_states(rng, depth)})
    } else {
        json!({"version": "v1", "type": rng.pick(&["flow", "Flow"]), "steps": fdl_steps(rng, depth),
               "inputMappings": mappings(rng)})
    };
    match rng.below(3) {
        0 => doc.to_string(),
        _ => serde_norway::to_string(&doc).expect("a value serializes as YAML"),
    }
}

#[test]
fn definitions_random() {
    super::rng::run("definitions_random", 3.0, |rng| {
        let text = random_definition(rng);
        check(&text)
    });
}
