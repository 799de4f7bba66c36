//! Evaluating a tree against a scope. Never panics: every access to input-derived data is
//! checked, and recursion is bounded by the parse-time depth limit.

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::{Map, Number, Value};

use super::lexer::{PathExpr, Segment};
use super::parser::{CmpOp, Node};
use super::{Dialect, EvalError, Scope};

pub(super) struct Ctx<'s> {
    pub scope: &'s dyn Scope,
    pub dialect: Dialect,
    /// Conditions: a path that matches nothing reads as `null`, so `$Input.x == null` tests
    /// absence and any ordering against it is false (the Choice pages say nothing; Go-style
    /// absent map keys are nil). Data mapping (`lenient == false`): such a path is an error.
    pub lenient: bool,
    /// Steps `regexMatchString` may still spend (see `Scope::regex_budget`).
    pub regex_steps: &'s std::cell::Cell<u64>,
}

/// How messages name a JSON value's type ("an array", ...).
pub fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub(super) fn eval<'a>(node: &'a Node, cx: &Ctx<'a>) -> Result<Cow<'a, Value>, EvalError> {
    Ok(match node {
        Node::Lit(v) => Cow::Borrowed(v),
        Node::Path(p) => resolve(p, cx)?,
        Node::Not(inner) => {
            let v = eval(inner, cx)?;
            match v.as_ref() {
                Value::Bool(b) => Cow::Owned(Value::Bool(!b)),
                other => {
                    return Err(EvalError(format!(
                        "operator '!' needs a boolean, but its operand is {}",
                        kind_of(other)
                    )));
                }
            }
        }
        Node::Neg(inner) => {
            let v = eval(inner, cx)?;
            match v.as_ref() {
                Value::Number(n) => Cow::Owned(Value::Number(negate(n))),
                other => {
                    return Err(EvalError(format!(
                        "operator '-' needs a number, but its operand is {}",
                        kind_of(other)
                    )));
                }
            }
        }
        // Short-circuit: operands after the deciding one are not evaluated.
        Node::And(items) => {
            for n in items {
                if !boolean(n, cx, "&&")? {
                    return Ok(Cow::Owned(Value::Bool(false)));
                }
            }
            Cow::Owned(Value::Bool(true))
        }
        Node::Or(items) => {
            for n in items {
                if boolean(n, cx, "||")? {
                    return Ok(Cow::Owned(Value::Bool(true)));
                }
            }
            Cow::Owned(Value::Bool(false))
        }
        Node::Cmp(op, a, b) => {
            let (a, b) = (eval(a, cx)?, eval(b, cx)?);
            Cow::Owned(Value::Bool(compare(*op, &a, &b)))
        }
        Node::In(a, b) => {
            let (needle, hay) = (eval(a, cx)?, eval(b, cx)?);
            Cow::Owned(Value::Bool(contains(&hay, &needle)?))
        }
        Node::Array(items) => Cow::Owned(Value::Array(
            items
                .iter()
                .map(|n| eval(n, cx).map(Cow::into_owned))
                .collect::<Result<_, _>>()?,
        )),
        Node::Object(fields) => {
            let mut m = Map::new();
            for (k, n) in fields {
                m.insert(k.clone(), eval(n, cx)?.into_owned());
            }
            Cow::Owned(Value::Object(m))
        }
        Node::Call(func, args, offset) => {
            let values = args
                .iter()
                .map(|n| eval(n, cx))
                .collect::<Result<Vec<_>, _>>()?;
            Cow::Owned(func.call(&values, cx, *offset)?)
        }
    })
}

/// `&&`/`||` operands must be booleans; the docs define no truthiness.
fn boolean(node: &Node, cx: &Ctx<'_>, op: &str) -> Result<bool, EvalError> {
    match eval(node, cx)?.as_ref() {
        Value::Bool(b) => Ok(*b),
        other => Err(EvalError(format!(
            "operator '{op}' needs booleans, but an operand is {}",
            kind_of(other)
        ))),
    }
}

fn resolve<'a>(p: &'a PathExpr, cx: &Ctx<'a>) -> Result<Cow<'a, Value>, EvalError> {
    let Some(mut v) = cx.scope.root(p.root) else {
        return Err(EvalError(format!(
            "{} is not available here (path {})",
            p.root.spelling(cx.dialect),
            p.text
        )));
    };
    for (at, seg) in p.segments.iter().enumerate() {
        if *seg == Segment::Wildcard {
            return match v {
                Value::Array(_) | Value::Object(_) => {
                    Ok(Cow::Owned(Value::Array(project(v, &p.segments[at..]))))
                }
                _ if cx.lenient => Ok(Cow::Owned(Value::Null)),
                other => Err(EvalError(format!(
                    "path {} matches nothing: [*] was applied to {}",
                    p.text,
                    kind_of(other)
                ))),
            };
        }
        let next = match (seg, v) {
            (Segment::Key(k), Value::Object(m)) => m.get(k),
            (Segment::Index(i), Value::Array(a)) => a.get(*i),
            _ => None,
        };
        match next {
            Some(n) => v = n,
            None if cx.lenient => return Ok(Cow::Owned(Value::Null)),
            None => {
                let why = match (seg, v) {
                    (Segment::Key(k), Value::Object(_)) => format!("there is no key {k:?}"),
                    (Segment::Index(i), Value::Array(a)) => {
                        format!("index {i} is past the end of an array of {}", a.len())
                    }
                    (Segment::Key(k), other) => {
                        format!("key {k:?} was looked up in {}", kind_of(other))
                    }
                    (Segment::Index(i), other) => {
                        format!("index {i} was looked up in {}", kind_of(other))
                    }
                    (Segment::Wildcard, _) => unreachable_wildcard(),
                };
                return Err(EvalError(format!("path {} matches nothing: {why}", p.text)));
            }
        }
    }
    Ok(Cow::Borrowed(v))
}

/// The matches of `segments` (starting at a wildcard or below one) inside `v`, in document
/// order; elements the rest of the path does not match are skipped, as in JSONPath.
fn project(v: &Value, segments: &[Segment]) -> Vec<Value> {
    let Some((first, rest)) = segments.split_first() else {
        return vec![v.clone()];
    };
    let children: Vec<&Value> = match (first, v) {
        (Segment::Wildcard, Value::Array(a)) => a.iter().collect(),
        (Segment::Wildcard, Value::Object(m)) => m.values().collect(),
        (Segment::Key(k), Value::Object(m)) => m.get(k).into_iter().collect(),
        (Segment::Index(i), Value::Array(a)) => a.get(*i).into_iter().collect(),
        _ => Vec::new(),
    };
    // Matches flatten, as JSONPath does with nested wildcards.
    children
        .into_iter()
        .flat_map(|child| project(child, rest))
        .collect()
}

/// The wildcard is handled before the lookup that can fail.
fn unreachable_wildcard() -> String {
    "[*] matches nothing here".to_string()
}

/// Numbers compare by value across integer and decimal forms (`1 == 1.0`), exactly for
/// integers (no rounding through f64).
pub(super) fn num_cmp(a: &Number, b: &Number) -> Option<Ordering> {
    fn int(n: &Number) -> Option<i128> {
        n.as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
    }
    fn float_as_int(f: f64) -> Option<i128> {
        // Integral and well inside i128: the conversion is exact.
        (f.fract() == 0.0 && f.abs() < 1e37).then_some(f as i128)
    }
    match (int(a), int(b)) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        (Some(x), None) => {
            let f = b.as_f64()?;
            match float_as_int(f) {
                Some(y) => Some(x.cmp(&y)),
                None => (x as f64).partial_cmp(&f),
            }
        }
        (None, Some(y)) => {
            let f = a.as_f64()?;
            match float_as_int(f) {
                Some(x) => Some(x.cmp(&y)),
                None => f.partial_cmp(&(y as f64)),
            }
        }
        (None, None) => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

/// Deep equality where numbers compare by value; different types are unequal.
pub(super) fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => num_cmp(x, y) == Some(Ordering::Equal),
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| equal(v, w)))
        }
        _ => false,
    }
}

/// Ordering applies to two numbers or two strings (code-point order); any other pair, and
/// any pair with a missing value, compares false ("CloudFlow: Choice": comparisons are for
/// strings and numbers).
fn compare(op: CmpOp, a: &Value, b: &Value) -> bool {
    let ord = match (a, b) {
        (Value::Number(x), Value::Number(y)) => num_cmp(x, y),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    };
    match op {
        CmpOp::Eq => equal(a, b),
        CmpOp::Ne => !equal(a, b),
        CmpOp::Lt => ord == Some(Ordering::Less),
        CmpOp::Le => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
        CmpOp::Gt => ord == Some(Ordering::Greater),
        CmpOp::Ge => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
    }
}

/// `x in y`: "whether an array contains a value, or an object contains a key" ("Choice").
fn contains(hay: &Value, needle: &Value) -> Result<bool, EvalError> {
    match (hay, needle) {
        (Value::Array(items), _) => Ok(items.iter().any(|v| equal(v, needle))),
        (Value::Object(m), Value::String(k)) => Ok(m.contains_key(k)),
        (Value::Object(_), other) => Err(EvalError(format!(
            "operator 'in' looks up object keys, which are strings, but the left operand is {}",
            kind_of(other)
        ))),
        // A missing collection (null in conditions) contains nothing.
        (Value::Null, _) => Ok(false),
        (other, _) => Err(EvalError(format!(
            "operator 'in' needs an array or an object on its right, but found {}",
            kind_of(other)
        ))),
    }
}

fn negate(n: &Number) -> Number {
    if let Some(i) = n.as_i64()
        && let Some(neg) = i.checked_neg()
    {
        return Number::from(neg);
    }
    if n.as_u64() == Some(i64::MAX as u64 + 1) {
        return Number::from(i64::MIN);
    }
    let f = n.as_f64().unwrap_or(0.0);
    Number::from_f64(-f).unwrap_or_else(|| Number::from(0))
}
