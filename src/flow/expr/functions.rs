//! Built-in functions, all from the page "CloudFlow: Built-in functions" (built-in-functions,
//! help.aliyun.com document 2579872); the same functions serve FDL mappings there
//! (`format('Hello, {}', $input.username)`).

use std::borrow::Cow;
use std::collections::HashSet;

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::{Map, Number, Value};

use super::eval::{Ctx, equal, kind_of};
use super::{EvalError, MAX_FUNCTION_OUTPUT_BYTES, MAX_FUNCTION_OUTPUT_ITEMS, hash, regex};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Func {
    // Common operations.
    Format,
    Get,
    IntAdd,
    Length,
    RandomInt,
    RegexMatchString,
    Split,
    // Array operations.
    ArrayContains,
    ArrayUnique,
    ToArray,
    // Map operations.
    MapKeys,
    MapValues,
    // Data encoding and decoding.
    FromBase64,
    ToBase64,
    // Hash calculation and UUID generation.
    Hash,
    Uuid,
    // JSON data operations.
    StringToJson,
    JsonToString,
    JsonMerge,
}

/// Name, function, fewest and most arguments (None: any number).
const TABLE: &[(&str, Func, usize, Option<usize>)] = &[
    ("format", Func::Format, 1, None),
    ("get", Func::Get, 2, Some(2)),
    ("intAdd", Func::IntAdd, 2, Some(2)),
    ("length", Func::Length, 1, Some(1)),
    ("randomInt", Func::RandomInt, 2, Some(2)),
    ("regexMatchString", Func::RegexMatchString, 2, Some(2)),
    ("split", Func::Split, 2, Some(2)),
    ("arrayContains", Func::ArrayContains, 2, Some(2)),
    ("arrayUnique", Func::ArrayUnique, 1, Some(1)),
    ("toArray", Func::ToArray, 0, None),
    ("mapKeys", Func::MapKeys, 1, Some(1)),
    ("mapValues", Func::MapValues, 1, Some(1)),
    ("fromBase64", Func::FromBase64, 1, Some(1)),
    ("toBase64", Func::ToBase64, 1, Some(1)),
    ("hash", Func::Hash, 2, Some(2)),
    ("uuid", Func::Uuid, 0, Some(0)),
    ("stringToJson", Func::StringToJson, 1, Some(1)),
    // "fromJSON is an alias of stringToJson" (Japanese edition of the page).
    ("fromJSON", Func::StringToJson, 1, Some(1)),
    ("jsonToString", Func::JsonToString, 1, Some(1)),
    ("toJSON", Func::JsonToString, 1, Some(1)),
    ("jsonMerge", Func::JsonMerge, 2, Some(2)),
];

impl Func {
    pub fn by_name(name: &str) -> Option<Func> {
        TABLE.iter().find(|(n, ..)| *n == name).map(|(_, f, ..)| *f)
    }

    pub fn name(self) -> &'static str {
        TABLE
            .iter()
            .find(|(_, f, ..)| *f == self)
            .map_or("?", |(n, ..)| n)
    }

    pub fn names() -> String {
        TABLE
            .iter()
            .map(|(n, ..)| *n)
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn check_arity(self, got: usize) -> Result<(), String> {
        let Some((name, _, min, max)) = TABLE.iter().find(|(_, f, ..)| *f == self) else {
            return Ok(());
        };
        let want = match max {
            Some(m) if m == min => format!("{min}"),
            Some(m) => format!("{min} to {m}"),
            None => format!("at least {min}"),
        };
        if got < *min || max.is_some_and(|m| got > m) {
            let plural = if want == "1" { "" } else { "s" };
            return Err(format!(
                "{name} takes {want} argument{plural}, but {got} were given"
            ));
        }
        Ok(())
    }

    pub fn call(
        self,
        args: &[Cow<'_, Value>],
        cx: &Ctx<'_>,
        offset: usize,
    ) -> Result<Value, EvalError> {
        let name = self.name();
        let fail = |why: String| EvalError(format!("{name}: {why}"));
        let arg = |i: usize| -> Result<&Value, EvalError> {
            args.get(i)
                .map(|c| c.as_ref())
                .ok_or_else(|| fail(format!("argument {} is missing", i + 1)))
        };
        let string = |i: usize| -> Result<&str, EvalError> {
            match arg(i)? {
                Value::String(s) => Ok(s.as_str()),
                other => Err(fail(format!(
                    "argument {} must be a string, but it is {}",
                    i + 1,
                    kind_of(other)
                ))),
            }
        };
        let int = |i: usize| -> Result<i64, EvalError> {
            match arg(i)? {
                Value::Number(n) => as_int(n).ok_or_else(|| {
                    fail(format!(
                        "argument {} must be an integer, but it is {n}",
                        i + 1
                    ))
                }),
                other => Err(fail(format!(
                    "argument {} must be an integer, but it is {}",
                    i + 1,
                    kind_of(other)
                ))),
            }
        };
        let array = |i: usize| -> Result<&Vec<Value>, EvalError> {
            match arg(i)? {
                Value::Array(a) => Ok(a),
                other => Err(fail(format!(
                    "argument {} must be an array, but it is {}",
                    i + 1,
                    kind_of(other)
                ))),
            }
        };
        let object = |i: usize| -> Result<&Map<String, Value>, EvalError> {
            match arg(i)? {
                Value::Object(m) => Ok(m),
                other => Err(fail(format!(
                    "argument {} must be an object, but it is {}",
                    i + 1,
                    kind_of(other)
                ))),
            }
        };
        let limit_str = |s: String| -> Result<Value, EvalError> {
            if s.len() > MAX_FUNCTION_OUTPUT_BYTES {
                return Err(fail(format!(
                    "the result would be longer than {MAX_FUNCTION_OUTPUT_BYTES} bytes"
                )));
            }
            Ok(Value::String(s))
        };
        match self {
            Func::Format => {
                let template = string(0)?;
                let mut out = String::new();
                let mut used = 1;
                let mut rest = template;
                while let Some(at) = rest.find("{}") {
                    out.push_str(&rest[..at]);
                    let v = args.get(used).ok_or_else(|| {
                        fail(format!("the template has more {{}} placeholders than the {} argument(s) after it", args.len() - 1))
                    })?;
                    match v.as_ref() {
                        Value::String(s) => out.push_str(s),
                        other => out.push_str(&other.to_string()),
                    }
                    if out.len() > MAX_FUNCTION_OUTPUT_BYTES {
                        return limit_str(out);
                    }
                    used += 1;
                    rest = &rest[at + 2..];
                }
                out.push_str(rest);
                if used < args.len() {
                    return Err(fail(format!(
                        "{} argument(s) after the template but only {} {{}} placeholder(s)",
                        args.len() - 1,
                        used - 1
                    )));
                }
                limit_str(out)
            }
            Func::Get => match (arg(0)?, arg(1)?) {
                (Value::Array(a), Value::Number(n)) => {
                    let i =
                        as_int(n).ok_or_else(|| fail(format!("index {n} is not an integer")))?;
                    match usize::try_from(i).ok().and_then(|i| a.get(i)) {
                        Some(v) => Ok(v.clone()),
                        None if cx.lenient => Ok(Value::Null),
                        None => Err(fail(format!(
                            "index {i} is outside the array of {} item(s)",
                            a.len()
                        ))),
                    }
                }
                (Value::Object(m), Value::String(k)) => match m.get(k) {
                    Some(v) => Ok(v.clone()),
                    None if cx.lenient => Ok(Value::Null),
                    None => Err(fail(format!("the object has no key {k:?}"))),
                },
                (Value::Array(_), other) => Err(fail(format!(
                    "an array is indexed by an integer, not {}",
                    kind_of(other)
                ))),
                (Value::Object(_), other) => Err(fail(format!(
                    "an object is indexed by a string key, not {}",
                    kind_of(other)
                ))),
                (other, _) => Err(fail(format!(
                    "argument 1 must be an array or an object, but it is {}",
                    kind_of(other)
                ))),
            },
            Func::IntAdd => {
                let (a, b) = (int(0)?, int(1)?);
                a.checked_add(b)
                    .map(|s| Value::Number(s.into()))
                    .ok_or_else(|| fail(format!("{a} + {b} overflows a 64-bit integer")))
            }
            Func::Length => match arg(0)? {
                // Characters, not bytes: length("name") is 4 either way, "é" is 1 here.
                Value::String(s) => Ok(Value::Number(s.chars().count().into())),
                Value::Array(a) => Ok(Value::Number(a.len().into())),
                Value::Object(m) => Ok(Value::Number(m.len().into())),
                other => Err(fail(format!(
                    "needs a string, an array or an object, but got {}",
                    kind_of(other)
                ))),
            },
            Func::RandomInt => {
                let (lo, hi) = (int(0)?, int(1)?);
                if hi <= lo {
                    return Err(fail(format!(
                        "the range [{lo}, {hi}) is empty: the maximum must be greater than the minimum"
                    )));
                }
                // Half-open [min, max), from the per-execution, per-step seed: replays agree.
                let width = (i128::from(hi) - i128::from(lo)) as u128;
                let r = u128::from(entropy(cx, offset, 0)) % width;
                let v = i128::from(lo) + r as i128;
                Ok(Value::Number(
                    i64::try_from(v)
                        .map_err(|_| fail("internal range error".into()))?
                        .into(),
                ))
            }
            Func::RegexMatchString => {
                let (input, pattern) = (string(0)?, string(1)?);
                regex::is_match(pattern, input, cx.regex_steps)
                    .map(Value::Bool)
                    .map_err(|e| fail(format!("pattern {pattern:?}: {e}")))
            }
            Func::Split => {
                let (s, sep) = (string(0)?, string(1)?);
                let parts: Vec<&str> = if sep.is_empty() {
                    // Like Go's strings.Split with an empty separator: one item per character.
                    s.char_indices()
                        .map(|(i, c)| &s[i..i + c.len_utf8()])
                        .take(MAX_FUNCTION_OUTPUT_ITEMS + 1)
                        .collect()
                } else {
                    s.split(sep).take(MAX_FUNCTION_OUTPUT_ITEMS + 1).collect()
                };
                if parts.len() > MAX_FUNCTION_OUTPUT_ITEMS {
                    return Err(fail(format!(
                        "the result would have more than {MAX_FUNCTION_OUTPUT_ITEMS} items"
                    )));
                }
                Ok(Value::Array(
                    parts.into_iter().map(|p| Value::String(p.into())).collect(),
                ))
            }
            Func::ArrayContains => {
                let (a, v) = (array(0)?, arg(1)?);
                Ok(Value::Bool(a.iter().any(|x| equal(x, v))))
            }
            Func::ArrayUnique => {
                let a = array(0)?;
                let mut seen = HashSet::new();
                let mut out = Vec::new();
                for v in a {
                    if seen.insert(canonical(v)) {
                        out.push(v.clone());
                    }
                }
                Ok(Value::Array(out))
            }
            Func::ToArray => Ok(Value::Array(
                args.iter().map(|c| c.as_ref().clone()).collect(),
            )),
            // Keys sorted, so results do not depend on how the input object was written.
            Func::MapKeys => {
                let m = object(0)?;
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                Ok(Value::Array(
                    keys.into_iter().map(|k| Value::String(k.clone())).collect(),
                ))
            }
            Func::MapValues => {
                let m = object(0)?;
                let mut entries: Vec<(&String, &Value)> = m.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                Ok(Value::Array(
                    entries.into_iter().map(|(_, v)| v.clone()).collect(),
                ))
            }
            Func::FromBase64 => {
                let s = string(0)?;
                let engine = GeneralPurpose::new(
                    &base64::alphabet::STANDARD,
                    GeneralPurposeConfig::new()
                        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
                );
                let bytes = engine
                    .decode(s.trim())
                    .map_err(|e| fail(format!("not valid Base64: {e}")))?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| fail("the decoded bytes are not UTF-8 text".into()))?;
                limit_str(text)
            }
            Func::ToBase64 => {
                let s = string(0)?;
                if s.len().div_ceil(3) * 4 > MAX_FUNCTION_OUTPUT_BYTES {
                    return Err(fail(format!(
                        "the result would be longer than {MAX_FUNCTION_OUTPUT_BYTES} bytes"
                    )));
                }
                limit_str(base64::engine::general_purpose::STANDARD.encode(s))
            }
            Func::Hash => {
                let (input, alg) = (string(0)?, string(1)?);
                let algo = alg.to_ascii_uppercase().replace('-', "");
                let digest = match algo.as_str() {
                    "MD5" => hash::md5(input.as_bytes()),
                    "SHA1" => hash::sha1(input.as_bytes()),
                    "SHA256" => hash::sha256(input.as_bytes()),
                    "SHA512" => hash::sha512(input.as_bytes()),
                    _ => {
                        return Err(fail(format!(
                            "unknown algorithm {alg:?}; expected MD5, SHA-1, SHA-256 or SHA-512"
                        )));
                    }
                };
                Ok(Value::String(hash::hex(&digest)))
            }
            Func::Uuid => {
                let mut bytes = [0u8; 16];
                bytes[..8].copy_from_slice(&entropy(cx, offset, 1).to_le_bytes());
                bytes[8..].copy_from_slice(&entropy(cx, offset, 2).to_le_bytes());
                Ok(Value::String(
                    uuid::Builder::from_random_bytes(bytes)
                        .into_uuid()
                        .hyphenated()
                        .to_string(),
                ))
            }
            Func::StringToJson => {
                let s = string(0)?;
                // serde_json limits nesting to 128 levels itself, so deep input cannot overflow.
                serde_json::from_str(s).map_err(|e| fail(format!("not valid JSON: {e}")))
            }
            Func::JsonToString => {
                let s = serde_json::to_string(arg(0)?).map_err(|e| fail(e.to_string()))?;
                limit_str(s)
            }
            Func::JsonMerge => {
                // Shallow: keys of the second object replace those of the first.
                let (a, b) = (object(0)?, object(1)?);
                let mut out = a.clone();
                for (k, v) in b {
                    out.insert(k.clone(), v.clone());
                }
                Ok(Value::Object(out))
            }
        }
    }
}

/// An integer argument: an integer number, or a decimal with no fraction (`2.0`).
fn as_int(n: &Number) -> Option<i64> {
    n.as_i64().or_else(|| {
        let f = n.as_f64()?;
        (f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64).then_some(f as i64)
    })
}

/// A key equal for values that `equal` finds equal (numbers by value, objects by content).
fn canonical(v: &Value) -> String {
    match v {
        Value::Number(n) => match as_int(n) {
            Some(i) if n.as_u64().is_none_or(|u| u <= i64::MAX as u64) => format!("n{i}"),
            _ => format!("n{n}"),
        },
        Value::Array(a) => {
            let items: Vec<String> = a.iter().map(canonical).collect();
            format!("[{}]", items.join(","))
        }
        Value::Object(m) => {
            let mut items: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{k:?}:{}", canonical(v)))
                .collect();
            items.sort();
            format!("{{{}}}", items.join(","))
        }
        other => other.to_string(),
    }
}

/// splitmix64 over the scope's seed, the call's position and a lane: deterministic per step,
/// different for two calls in one expression.
fn entropy(cx: &Ctx<'_>, offset: usize, lane: u64) -> u64 {
    let mut z = cx.scope.seed()
        ^ (offset as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ lane.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
