//! The expression language (`flow::expr`): random expressions parsed then evaluated over random
//! data, and random built-in calls with random (often hostile) arguments. Evaluation must give a
//! value or an error, the same one twice, and never more than the documented output bounds.

use fnf_lambda::flow::expr::{
    self, Dialect, MAX_FUNCTION_OUTPUT_BYTES, MAX_FUNCTION_OUTPUT_ITEMS, RootName, Scope,
};
use serde_json::{Value, json};

use super::json;
use super::rng::{Rng, note, show};

pub const FUNCTIONS: &[(&str, usize)] = &[
    ("format", 2),
    ("get", 2),
    ("intAdd", 2),
    ("length", 1),
    ("randomInt", 2),
    ("regexMatchString", 2),
    ("split", 2),
    ("arrayContains", 2),
    ("arrayUnique", 1),
    ("toArray", 2),
    ("mapKeys", 1),
    ("mapValues", 1),
    ("fromBase64", 1),
    ("toBase64", 1),
    ("hash", 2),
    ("uuid", 0),
    ("stringToJson", 1),
    ("fromJSON", 1),
    ("jsonToString", 1),
    ("toJSON", 1),
    ("jsonMerge", 2),
    ("nope", 1),
    ("Length", 1),
];

/// Keys of the random data, so that random paths often find something.
pub const DATA_KEYS: &[&str] = &["a", "b", "list", "status", "n", "s", "x y", "é", "0"];

pub struct Data {
    pub input: Value,
    pub output: Value,
    pub context: Value,
    pub seed: u64,
}

impl Scope for Data {
    fn root(&self, root: RootName) -> Option<&Value> {
        match root {
            RootName::Input | RootName::Local => Some(&self.input),
            RootName::Output => Some(&self.output),
            RootName::Context => Some(&self.context),
        }
    }
    fn seed(&self) -> u64 {
        self.seed
    }
}

pub fn data(rng: &mut Rng) -> Data {
    Data {
        input: json::value(rng, 4, DATA_KEYS),
        output: json::value(rng, 3, DATA_KEYS),
        context: json!({"Execution": {"Name": "e", "Input": json::value(rng, 2, DATA_KEYS)}}),
        seed: rng.next(),
    }
}

fn path(rng: &mut Rng, dialect: Dialect) -> String {
    let roots: &[&str] = match dialect {
        Dialect::CloudFlow => &["$Input", "$Output", "$Context", "$input", "$"],
        Dialect::Fdl => &["$input", "$local", "$context", "$", "$Input"],
    };
    let mut s = (*rng.pick(roots)).to_owned();
    for _ in 0..rng.range(0, 4) {
        match rng.below(5) {
            0 => s.push_str(&format!(
                "[{}]",
                rng.pick(&["0", "1", "2", "99", "*", "-1", ""])
            )),
            1 => s.push_str(&format!(
                "[{}]",
                serde_json::to_string(rng.pick(DATA_KEYS)).unwrap()
            )),
            2 if rng.one_in(3) => s.push_str(&format!(".{}", rng.string(4))),
            _ => s.push_str(&format!(".{}", rng.pick(&DATA_KEYS[..6]))),
        }
    }
    s
}

/// A literal written from a random JSON value (the literal syntax is JSON's).
fn literal(rng: &mut Rng) -> String {
    match rng.below(8) {
        0 => format!("'{}'", rng.string(8).replace(['\'', '\\'], "")),
        1 => format!("`{}`", rng.string(8).replace('`', "")),
        2 => (*rng.pick(&[
            "1e309",
            "-0",
            "0.1",
            "18446744073709551616",
            "-9223372036854775808",
            "9223372036854775807",
            "1e-400",
            "00",
            "1.",
            ".5",
        ]))
        .to_owned(),
        _ => json::value(rng, 2, DATA_KEYS).to_string(),
    }
}

/// A random expression of at most `depth` levels: mostly well-formed, with some stray tokens.
pub fn text(rng: &mut Rng, dialect: Dialect, depth: usize) -> String {
    if depth == 0 {
        return match rng.below(2) {
            0 => literal(rng),
            _ => path(rng, dialect),
        };
    }
    let d = depth - 1;
    match rng.below(12) {
        0 | 1 => path(rng, dialect),
        2 => literal(rng),
        3 | 4 => call(rng, dialect, d),
        5 => format!(
            "{}{}",
            rng.pick(&["!", "-", "!!", "- -"]),
            text(rng, dialect, d)
        ),
        6 => format!("({})", text(rng, dialect, d)),
        7 => {
            let items: Vec<String> = (0..rng.range(0, 3))
                .map(|_| text(rng, dialect, d))
                .collect();
            format!("[{}]", items.join(", "))
        }
        8 => {
            let key = serde_json::to_string(rng.pick(DATA_KEYS)).unwrap();
            format!("{{{key}: {}}}", text(rng, dialect, d))
        }
        9 if rng.one_in(4) => {
            // A stray token or a cut: the parser's error paths.
            let t = text(rng, dialect, d);
            let cut = (0..=rng.below(t.len() + 1))
                .rev()
                .find(|i| t.is_char_boundary(*i));
            format!(
                "{}{}",
                &t[..cut.unwrap_or(0)],
                rng.pick(&["(", ")", ",", "\"", "'", "[", "$", "&", "|", "=", "\\"])
            )
        }
        _ => {
            let op = rng.pick(&["||", "&&", "==", "!=", "<", "<=", ">", ">=", "in", "+"]);
            format!("{} {op} {}", text(rng, dialect, d), text(rng, dialect, d))
        }
    }
}

/// A built-in call; its arguments are expressions or hostile values picked for the function.
pub fn call(rng: &mut Rng, dialect: Dialect, depth: usize) -> String {
    let (name, arity) = *rng.pick(FUNCTIONS);
    let n = if rng.one_in(5) {
        rng.range(0, 4)
    } else {
        arity
    };
    let args: Vec<String> = (0..n)
        .map(|i| match rng.below(3) {
            0 => text(rng, dialect, depth),
            _ => hostile_arg(rng, name, i),
        })
        .collect();
    format!("{name}({})", args.join(", "))
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).expect("a string")
}

/// Arguments that stress each function's edges: patterns, separators, sizes, extremes.
fn hostile_arg(rng: &mut Rng, function: &str, index: usize) -> String {
    match (function, index) {
        ("regexMatchString", 1) => quoted(rng.pick::<&str>(&[
            "(a*)*b",
            "(a|aa)*c",
            "[",
            "(",
            ")",
            "a{1000}",
            "a{1001}",
            "a{2,1}",
            "(?:a{1000}){1000}",
            "\\",
            "[z-a]",
            "^$",
            ".*.*.*.*.*x",
            "(((((((((((((((((((((((((((((((((a)))))))))))))))))))))))))))))))))",
            "[^\\d\\w\\s]+",
            "a**",
            "a{,5}",
            "(?P<x>a)",
            "\\p{L}",
            "x|",
            "|",
            "a{99999999999}",
        ])),
        ("regexMatchString", 0) => quoted(&"a".repeat(rng.range(0, 300))),
        ("format", 0) => quoted(&"{}".repeat(rng.range(0, 40))),
        ("split", 1) => quoted(rng.pick::<&str>(&["", ",", "a", "😀", "{}"])),
        ("hash", 1) => {
            quoted(rng.pick::<&str>(&["md5", "sha1", "sha256", "sha512", "MD5", "crc", ""]))
        }
        ("fromBase64", 0) => {
            quoted(rng.pick::<&str>(&["", "=", "====", "YQ", "YQ==", "!!", "/w==", "gA=="]))
        }
        ("stringToJson" | "fromJSON", 0) => {
            let deep = "[".repeat(rng.range(0, 200));
            quoted(rng.pick::<&str>(&[
                deep.as_str(),
                "{",
                "1e999",
                "\"\\ud800\"",
                "[1,2",
                "null",
                "{\"a\":1}",
            ]))
        }
        ("randomInt" | "intAdd", _) => (*rng.pick(&[
            "9223372036854775807",
            "-9223372036854775808",
            "0",
            "1",
            "-1",
            "1.5",
            "1e20",
        ]))
        .to_owned(),
        ("toArray", _) => quoted(&"x".repeat(rng.range(0, 100))),
        _ => literal(rng),
    }
}

/// The bounds a value from a built-in must respect (the data is far smaller than them).
fn check_bounds(v: &Value) -> Result<(), String> {
    match v {
        Value::String(s) if s.len() > MAX_FUNCTION_OUTPUT_BYTES => {
            Err(format!("a string of {} bytes", s.len()))
        }
        Value::Array(a) if a.len() > MAX_FUNCTION_OUTPUT_ITEMS => {
            Err(format!("an array of {} items", a.len()))
        }
        _ => Ok(()),
    }
}

fn eval_twice(text: &str, dialect: Dialect, data: &Data) -> Result<(), String> {
    note(text);
    let Ok(e) = expr::parse(text, dialect) else {
        return Ok(());
    };
    let first = e.eval(data);
    let cond = e.eval_condition(data);
    let _ = e.roots();
    let _ = e.is_path();
    if first != e.eval(data) || cond != e.eval_condition(data) {
        return Err(format!("two evaluations differ: {}", show(text)));
    }
    match first {
        Ok(v) => check_bounds(&v).map_err(|e| format!("{e} from {}", show(text))),
        Err(_) => Ok(()),
    }
}

#[test]
fn expressions() {
    super::rng::run("expressions", 6.0, |rng| {
        let dialect = *rng.pick(&[Dialect::CloudFlow, Dialect::Fdl]);
        let depth = rng.range(1, 6);
        let text = text(rng, dialect, depth);
        let data = data(rng);
        eval_twice(&text, dialect, &data)
    });
}

#[test]
fn builtin_calls() {
    super::rng::run("builtin_calls", 6.0, |rng| {
        let dialect = *rng.pick(&[Dialect::CloudFlow, Dialect::Fdl]);
        let mut text = call(rng, dialect, 2);
        // Calls nested around it, up to past the nesting limit.
        for _ in 0..rng.range(0, 12) {
            let (name, _) = *rng.pick(&FUNCTIONS[..21]);
            text = format!("{name}({text})");
        }
        eval_twice(&text, dialect, &data(rng))
    });
}

#[test]
fn expression_text_mutations() {
    super::rng::run("expression_text_mutations", 6.0, |rng| {
        let dialect = *rng.pick(&[Dialect::CloudFlow, Dialect::Fdl]);
        let mut chars: Vec<char> = text(rng, dialect, 3).chars().collect();
        for _ in 0..rng.range(1, 4) {
            let at = rng.below(chars.len() + 1);
            match rng.below(3) {
                0 => chars.insert(at, rng.any_char()),
                1 if at < chars.len() => {
                    chars.remove(at);
                }
                _ => {
                    let c = *rng.pick(&['(', '[', '{', '"', '\'', '`', '\\', '$', '.', '\u{0}']);
                    chars.insert(at, c);
                }
            }
        }
        let text: String = chars.into_iter().collect();
        eval_twice(&text, dialect, &data(rng))
    });
}
