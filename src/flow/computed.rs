//! Fields whose value an expression computes at run time, for both languages: constructor
//! `.$` keys and FDL mapping sources, Wait seconds and times, Task `Timeout.$`, Map
//! `ItemsPath` / foreach `collection`, and conditions. A plain path stays a path; anything
//! else is parsed with the expression language ("Inputs and outputs", "Wait" pages).

use serde_json::Value;

use super::expr::{self, Dialect, RootName};
use super::path::{self, Root, Segment, Syntax};
use super::validate::{Result, describe};
use super::{Computed, DefinitionError, MAX_WAIT_SECONDS, WaitSpec};

/// The root an expression may not read where it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unavailable {
    /// Every root may be read (CloudFlow OutputConstructor, FDL mappings).
    Nothing,
    /// CloudFlow: `$Output` exists only inside OutputConstructor.
    Output,
    /// FDL wait/foreach fields: they read the step input, not local data.
    Local,
}

impl Unavailable {
    /// `Output` unless `allow_output` (CloudFlow constructors).
    pub fn output_unless(allow_output: bool) -> Self {
        if allow_output {
            Unavailable::Nothing
        } else {
            Unavailable::Output
        }
    }
}

/// Parse `text` at `at`: a plain path in `syntax`, else an expression in its dialect.
pub(super) fn parse(
    at: &str,
    text: &str,
    syntax: Syntax,
    unavailable: Unavailable,
) -> Result<Computed> {
    let computed =
        match path::parse(text, syntax) {
            Ok(p) => Computed::Path(p),
            Err(_) => Computed::Expr(expr::parse(text, dialect(syntax)).map_err(|e| {
                DefinitionError::new(at, format!("invalid expression {text:?}: {e}"))
            })?),
        };
    check_roots(at, &computed, unavailable)?;
    Ok(computed)
}

/// Like `parse`, for a field whose value must be an expression string (`Seconds.$`).
pub(super) fn parse_value(
    at: &str,
    v: &Value,
    syntax: Syntax,
    unavailable: Unavailable,
) -> Result<Computed> {
    match v {
        Value::String(s) => parse(at, s, syntax, unavailable),
        other => Err(DefinitionError::new(
            at,
            format!("expected an expression string, found {}", describe(other)),
        )),
    }
}

/// Parse a condition with the expression language; `$Output` is refused (no output yet).
pub(super) fn condition(at: &str, text: &str, dialect: Dialect) -> Result<expr::Expr> {
    let e = expr::parse(text, dialect)
        .map_err(|e| DefinitionError::new(at, format!("invalid condition: {e}")))?;
    if e.roots().contains(&RootName::Output) {
        return Err(DefinitionError::new(
            at,
            "a condition cannot read $Output (the state has no output yet)",
        ));
    }
    Ok(e)
}

/// A fixed Wait in seconds (`Seconds`, FDL `duration`); `hint` names the expression form.
pub(super) fn wait_seconds(at: &str, v: &Value, hint: &str) -> Result<WaitSpec> {
    match v.as_u64() {
        Some(s) if s <= MAX_WAIT_SECONDS => Ok(WaitSpec::Seconds(s)),
        _ => Err(DefinitionError::new(
            at,
            format!(
                "must be a whole number of seconds from 0 to {MAX_WAIT_SECONDS}, found {} \
                 ({hint})",
                describe(v)
            ),
        )),
    }
}

/// A Wait until a time written as a string (`UntilDateTime`, FDL `timestamp`): an RFC3339
/// constant, or an expression (starting with `$`, or a call such as `format(...)`).
pub(super) fn wait_until(
    at: &str,
    s: &str,
    syntax: Syntax,
    unavailable: Unavailable,
) -> Result<WaitSpec> {
    if looks_like_expression(s) {
        return parse(at, s, syntax, unavailable).map(WaitSpec::UntilAt);
    }
    crate::time::parse_rfc3339(s)
        .map(WaitSpec::Until)
        .ok_or_else(|| {
            DefinitionError::new(
                at,
                format!(
                    "{s:?} is not an RFC3339 time such as 2023-10-02T15:04:05Z (or an \
                     expression such as {})",
                    example(syntax)
                ),
            )
        })
}

/// Whether a string field that also takes constants holds an expression: it starts with `$`
/// or is a function call (`intAdd($.a, 1)`).
pub(super) fn looks_like_expression(s: &str) -> bool {
    let s = s.trim_start();
    if s.starts_with('$') {
        return true;
    }
    let name_len = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    s.starts_with(|c: char| c.is_ascii_alphabetic()) && s[name_len..].trim_start().starts_with('(')
}

fn dialect(syntax: Syntax) -> Dialect {
    match syntax {
        Syntax::CloudFlow => Dialect::CloudFlow,
        Syntax::FdlMapping | Syntax::FdlInput => Dialect::Fdl,
    }
}

fn example(syntax: Syntax) -> &'static str {
    match syntax {
        Syntax::CloudFlow => "$Input.time",
        Syntax::FdlMapping | Syntax::FdlInput => "$.time",
    }
}

/// Refuse an expression that reads the root `unavailable` names.
fn check_roots(at: &str, c: &Computed, unavailable: Unavailable) -> Result<()> {
    let reads = |root: RootName| match c {
        Computed::Path(p) => {
            let current_output = p.root == Root::Context
                && matches!(p.segments.as_slice(),
                    [Segment::Key(a), Segment::Key(b), ..] if a == "Current" && b == "Output");
            root_name(p.root) == root || (root == RootName::Output && current_output)
        }
        Computed::Expr(e) => e.roots().contains(&root),
    };
    match unavailable {
        Unavailable::Output if reads(RootName::Output) => Err(DefinitionError::new(
            at,
            "$Output can only be used inside OutputConstructor (Inputs and outputs page)",
        )),
        Unavailable::Local if reads(RootName::Local) => Err(DefinitionError::new(
            at,
            "$local cannot be read here: this field reads the step input ($ or $input) and \
             $context (bring local data in with inputMappings)",
        )),
        _ => Ok(()),
    }
}

fn root_name(root: Root) -> RootName {
    match root {
        Root::Input => RootName::Input,
        Root::Output => RootName::Output,
        Root::Context => RootName::Context,
        Root::Local => RootName::Local,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expression_or_constant() {
        assert!(looks_like_expression("$.at"));
        assert!(looks_like_expression(" format('{}Z', $Input.day)"));
        assert!(looks_like_expression("intAdd ($.a, 1)"));
        assert!(!looks_like_expression("2023-10-02T15:04:05Z"));
        assert!(!looks_like_expression("tomorrow"));
        assert!(!looks_like_expression("(1)"));
    }
}
