//! The expression language (src/flow/expr): a table of cases run together (every failure is
//! reported, not just the first), then property tests for robustness.

use fnf_lambda::flow::expr::{self, Dialect, Expr, RootName, Scope};
use proptest::prelude::*;
use serde_json::{Value, json};

struct TestScope {
    input: Value,
    output: Option<Value>,
    context: Value,
    local: Value,
    seed: u64,
}

impl Scope for TestScope {
    fn root(&self, root: RootName) -> Option<&Value> {
        match root {
            RootName::Input => Some(&self.input),
            RootName::Output => self.output.as_ref(),
            RootName::Context => Some(&self.context),
            RootName::Local => Some(&self.local),
        }
    }
    fn seed(&self) -> u64 {
        self.seed
    }
}

fn scope() -> TestScope {
    TestScope {
        input: json!({
            "status": "ready", "n": 5, "f": 2.5, "neg": -3, "s": "abc", "b": true, "nul": null,
            "list": [1, 2, 3], "names": ["Tom", "Jack"], "obj": {"k": "v", "x y": 1},
            "nested": {"a": {"b": [{"c": "deep"}]}}, "username": "Ada",
            "json": "{\"name\": \"Tom\", \"age\": 10}"
        }),
        output: Some(json!({"result": 42})),
        context: json!({"Execution": {"Name": "exec1"}, "execution": {"name": "exec1"}}),
        local: json!({"tmp": 7}),
        seed: 42,
    }
}

const C: Dialect = Dialect::CloudFlow;
const F: Dialect = Dialect::Fdl;

/// Modes: `V` eval (data mapping), `B` eval_condition, `O` eval with `$Output` unavailable.
#[derive(Clone, Copy)]
enum Mode {
    V,
    B,
    O,
}
use Mode::{B, O, V};

#[path = "expr/cases.rs"]
mod cases;
use cases::CASES;

fn run_case(dialect: Dialect, mode: Mode, text: &str, want: &str) -> Result<(), String> {
    let mut sc = scope();
    if matches!(mode, O) {
        sc.output = None;
    }
    let parsed = expr::parse(text, dialect);
    if let Some(sub) = want.strip_prefix("parse:") {
        return match parsed {
            Err(e) if e.to_string().contains(sub) => Ok(()),
            Err(e) => Err(format!("parse error {:?} lacks {sub:?}", e.to_string())),
            Ok(_) => Err(format!(
                "parsed, but expected a parse error containing {sub:?}"
            )),
        };
    }
    let e = parsed.map_err(|e| format!("unexpected parse error: {e}"))?;
    let got = match mode {
        B => e.eval_condition(&sc).map(Value::Bool),
        V | O => e.eval(&sc),
    };
    if let Some(sub) = want.strip_prefix("err:") {
        return match got {
            Err(err) if err.0.contains(sub) => Ok(()),
            Err(err) => Err(format!("error {:?} lacks {sub:?}", err.0)),
            Ok(v) => Err(format!("gave {v}, expected an error containing {sub:?}")),
        };
    }
    let want: Value = serde_json::from_str(want).map_err(|e| format!("bad expectation: {e}"))?;
    match got {
        Ok(v) if v == want => Ok(()),
        Ok(v) => Err(format!("gave {v}, expected {want}")),
        Err(err) => Err(format!("failed with {:?}, expected {want}", err.0)),
    }
}

#[test]
fn table() {
    assert!(CASES.len() >= 120, "only {} cases", CASES.len());
    let failures: Vec<String> = CASES
        .iter()
        .filter_map(|(d, m, text, want)| {
            run_case(*d, *m, text, want)
                .err()
                .map(|why| format!("  {d:?} {text:?}: {why}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

#[test]
fn limits_are_parse_errors() {
    let cases = [
        format!("{}1{}", "(".repeat(40), ")".repeat(40)),
        format!("{}true", "!".repeat(40)),
        format!("{}1", "-".repeat(40)),
        format!("{}1{}", "[".repeat(40), "]".repeat(40)),
    ];
    for text in &cases {
        let err = expr::parse(text, C).unwrap_err();
        assert!(
            err.message.contains("nested more than 32 levels"),
            "{text}: {err}"
        );
    }
    // 32 levels are fine.
    let ok = format!("{}1{}", "(".repeat(31), ")".repeat(31));
    assert!(expr::parse(&ok, C).is_ok());
    // "A maximum of 10 layers of nested built-in functions" (Built-in functions page).
    let nested = |n: usize| format!("{}1{}", "toArray(".repeat(n), ")".repeat(n));
    assert!(expr::parse(&nested(10), C).is_ok());
    let err = expr::parse(&nested(11), C).unwrap_err();
    assert!(err.message.contains("more than 10 levels"), "{err}");
    let long = format!("\"{}\"", "a".repeat(1023));
    let err = expr::parse(&long, C).unwrap_err();
    assert!(err.message.contains("longer than 1024 characters"), "{err}");
    assert!(expr::parse(&format!("\"{}\"", "a".repeat(1022)), C).is_ok());
}

#[test]
fn huge_nesting_fails_fast_without_overflow() {
    let start = std::time::Instant::now();
    for unit in ["(", "!", "-", "[", "{\"a\":", "length(", "$Input.a[", "\""] {
        let text = unit.repeat(100_000);
        assert!(expr::parse(&text, C).is_err(), "{unit}");
        assert!(expr::parse(&text, F).is_err(), "{unit}");
    }
    // Within the length limit, the depth limit answers.
    assert!(expr::parse(&"(".repeat(1000), C).is_err());
    assert!(start.elapsed().as_secs() < 2, "took {:?}", start.elapsed());
}

#[test]
fn function_output_is_capped() {
    let sc = TestScope {
        input: json!({"big": "x,".repeat(20_000), "long": "y".repeat(70_000)}),
        ..scope()
    };
    let eval = |t: &str| expr::parse(t, C).unwrap().eval(&sc);
    assert!(
        eval(r#"split($Input.big, ",")"#)
            .unwrap_err()
            .0
            .contains("more than 10000 items")
    );
    assert!(
        eval("toBase64($Input.long)")
            .unwrap_err()
            .0
            .contains("longer than 65536 bytes")
    );
    assert!(
        eval(r#"format("{}{}", $Input.long, 1)"#)
            .unwrap_err()
            .0
            .contains("longer than 65536")
    );
    assert!(
        eval("jsonToString($Input)")
            .unwrap_err()
            .0
            .contains("longer than 65536")
    );
    assert!(eval(r#"hash($Input.long, "SHA-256")"#).is_ok());
}

#[test]
fn random_functions_are_deterministic_per_seed() {
    let e = expr::parse("[uuid(), randomInt(0, 1000000), uuid()]", C).unwrap();
    let a = e.eval(&scope()).unwrap();
    assert_eq!(a, e.eval(&scope()).unwrap(), "same seed, same values");
    let b = e
        .eval(&TestScope {
            seed: 43,
            ..scope()
        })
        .unwrap();
    assert_ne!(a, b, "another seed gives other values");
    let u = a[0].as_str().unwrap();
    assert_eq!(u.len(), 36);
    assert_eq!(&u[14..15], "4", "a version-4 UUID: {u}");
    assert!(uuid::Uuid::parse_str(u).is_ok());
    assert_ne!(a[0], a[2], "two calls in one expression differ");
    let r = expr::parse("randomInt(-5, 5)", C).unwrap();
    let mut seen = std::collections::HashSet::new();
    for seed in 0..500 {
        let v = r
            .eval(&TestScope { seed, ..scope() })
            .unwrap()
            .as_i64()
            .unwrap();
        assert!((-5..5).contains(&v), "{v}");
        seen.insert(v);
    }
    assert_eq!(seen.len(), 10, "every value of the range comes up");
}

#[test]
fn roots_text_and_threads() {
    let e = expr::parse(
        r#"$Input.a == $Context.b && length($Input.c) > 0 || $Output.x"#,
        C,
    )
    .unwrap();
    assert_eq!(
        e.roots(),
        vec![RootName::Input, RootName::Context, RootName::Output]
    );
    let f = expr::parse("$.a == 1 && $local.b == $context.c && $input.d", F).unwrap();
    assert_eq!(
        f.roots(),
        vec![RootName::Input, RootName::Local, RootName::Context]
    );
    assert!(expr::parse("1 == 1", C).unwrap().roots().is_empty());
    assert_eq!(
        e.text(),
        r#"$Input.a == $Context.b && length($Input.c) > 0 || $Output.x"#
    );
    fn send_sync<T: Send + Sync + Clone>() {}
    send_sync::<Expr>();
    let err = expr::parse("(1", C).unwrap_err();
    assert_eq!(err.offset, 2);
    assert_eq!(
        err.to_string(),
        "at 2: expected ')' closing the '(' at 0, found end of expression"
    );
    // Offsets count characters, not bytes.
    assert_eq!(expr::parse(r#""é" ="#, C).unwrap_err().offset, 4);
}

const VOCAB: &[&str] = &[
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "&&",
    "||",
    "!",
    "-",
    "in",
    "true",
    "false",
    "null",
    "1",
    "2.5",
    "-3",
    "\"s\"",
    "'t'",
    "`u`",
    "$Input",
    "$Input.a",
    "$Input.list[0]",
    "$Input[\"k\"]",
    "$Output",
    "$Context.x",
    "$.a",
    "$input.a",
    "$local",
    "format",
    "length",
    "uuid",
    "get",
    "split",
    "hash",
    "toArray",
    "intAdd",
    "randomInt",
    "regexMatchString",
    "arrayUnique",
    "jsonMerge",
    "stringToJson",
    "\"{}\"",
    "=",
    "+",
    "\\",
    "\"",
    "$",
    ".",
    "[0]",
];

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        (-1e6f64..1e6).prop_map(|f| json!(f)),
        "[a-z{}\\\\\"^$.*+?()|\\[\\]]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-c]", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Expressions that parse: literals, paths and calls combined by the operators.
fn arb_expr() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("$Input".to_string()),
        "[abc]".prop_map(|k| format!("$Input.{k}")),
        "[abc]".prop_map(|k| format!("$Input.a.{k}")),
        (0usize..4).prop_map(|i| format!("$Input.a[{i}]")),
        Just("$Context".to_string()),
        Just("$Output.b".to_string()),
        any::<i32>().prop_map(|i| i.to_string()),
        "[a-z{}^$.*+]{0,5}".prop_map(|s| format!("{s:?}")),
        Just("true".to_string()),
        Just("null".to_string()),
        Just("uuid()".to_string()),
    ];
    leaf.prop_recursive(5, 48, 3, |inner| {
        let func = prop::sample::select(vec![
            "format",
            "length",
            "get",
            "split",
            "hash",
            "toArray",
            "intAdd",
            "randomInt",
            "regexMatchString",
            "arrayUnique",
            "arrayContains",
            "jsonMerge",
            "stringToJson",
            "jsonToString",
            "mapKeys",
            "mapValues",
            "toBase64",
            "fromBase64",
        ]);
        let op = prop::sample::select(vec!["==", "!=", "<", "<=", ">", ">=", "&&", "||", "in"]);
        prop_oneof![
            (inner.clone(), op, inner.clone()).prop_map(|(a, o, b)| format!("({a} {o} {b})")),
            inner.clone().prop_map(|a| format!("!{a}")),
            inner.clone().prop_map(|a| format!("-{a}")),
            prop::collection::vec(inner.clone(), 0..3).prop_map(|v| format!("[{}]", v.join(", "))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{{\"k\": {a}, \"l\": {b}}}")),
            (func, prop::collection::vec(inner, 0..3)).prop_map(|(f, args)| {
                // Give each function an arity it accepts, so most expressions parse.
                let n = match f {
                    "length" | "arrayUnique" | "stringToJson" | "jsonToString" | "mapKeys"
                    | "mapValues" | "toBase64" | "fromBase64" => 1,
                    "format" | "toArray" => args.len().max(1),
                    _ => 2,
                };
                let mut args = args;
                while args.len() < n {
                    args.push("\"x\"".to_string());
                }
                args.truncate(n);
                format!("{f}({})", args.join(", "))
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn parse_never_panics_on_any_text(text in "\\PC{0,120}") {
        let _ = expr::parse(&text, C);
        let _ = expr::parse(&text, F);
    }

    #[test]
    fn token_soup_never_panics(tokens in prop::collection::vec(prop::sample::select(VOCAB), 0..40),
                               spaced in any::<bool>(), input in arb_json()) {
        let text = tokens.join(if spaced { " " } else { "" });
        let sc = TestScope { input, ..scope() };
        for d in [C, F] {
            if let Ok(e) = expr::parse(&text, d) {
                let _ = e.eval(&sc);
                let _ = e.eval_condition(&sc);
                let _ = e.roots();
            }
        }
    }

    #[test]
    fn eval_of_valid_expressions_never_panics(text in arb_expr(), input in arb_json(),
                                               output in arb_json(), seed in any::<u64>()) {
        let sc = TestScope { input, output: Some(output), seed, ..scope() };
        match expr::parse(&text, C) {
            Ok(e) => {
                let a = e.eval(&sc);
                let _ = e.eval_condition(&sc);
                // Pure: the same scope gives the same answer.
                prop_assert_eq!(a, e.eval(&sc));
            }
            // Only the documented limits may refuse a generated expression.
            Err(err) => prop_assert!(
                err.message.contains("nested more than") || err.message.contains("longer than"),
                "{} -> {}", text, err
            ),
        }
    }
}

#[test]
fn long_operator_chains_evaluate_on_a_small_stack() {
    // Chains are not nesting (no depth limit), but they make deep trees: check the stack cost.
    let chains = [
        format!("true{}", "||true".repeat(170)),
        format!("$Input.b{}", "&&$Input.b".repeat(100)),
        format!("1{}", "<1".repeat(31)),
        format!("{}1{}", "(".repeat(31), ")".repeat(31)),
        format!("{}1{}", "toArray([".repeat(10), "])".repeat(10)),
        format!("{}true", "!".repeat(31)),
    ];
    let err = expr::parse(&format!("1{}", "<1".repeat(40)), C).unwrap_err();
    assert!(err.message.contains("nested more than 32"), "{err}");
    let err = expr::parse(&format!("1{}", "==1".repeat(40)), C).unwrap_err();
    assert!(err.message.contains("nested more than 32"), "{err}");
    std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(move || {
            for text in &chains {
                let e = expr::parse(text, C).unwrap();
                let _ = e.eval(&scope());
                let _ = e.eval_condition(&scope());
                assert!(e.roots().len() <= 1);
            }
        })
        .unwrap()
        .join()
        .unwrap();
}

/// Issue 12: a 300-range class, optional, repeated {60} inside {60}, on 60 KB of text took
/// 43-81 s; now the match stops at its step budget with a cause that says so.
#[test]
fn a_regex_cpu_bomb_fails_at_its_step_budget() {
    let class: String = (0..300u32)
        .map(|k| char::from_u32(0x100 + 2 * k).unwrap())
        .map(|c| format!("{c}-{c}"))
        .collect();
    let pattern = format!("(?:(?:[{class}]?){{60}}){{60}}b");
    assert!(pattern.chars().count() <= 1024);
    let mut sc = scope();
    sc.input = json!({"text": "a".repeat(60_000), "p": pattern});
    let e = expr::parse("regexMatchString($Input.text, $Input.p)", C).unwrap();
    let err = e.eval(&sc).unwrap_err();
    assert!(
        err.0
            .contains("steps left of this state's budget of 20000000"),
        "{}",
        err.0
    );
    // The same pattern on a short text is within budget, and classes still match.
    sc.input = json!({"text": format!("{}b", "\u{102}".repeat(10)), "p": pattern});
    assert_eq!(e.eval(&sc).unwrap(), json!(true));
}
