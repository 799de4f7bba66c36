//! The permission policy an access key carries, in the style of Alibaba Cloud RAM policies
//! (so policies written for real fnf carry over):
//!
//! ```json
//! {"Version": "1", "Statement": [
//!   {"Effect": "Allow", "Action": ["fnf:StartExecution", "fnf:Describe*"],
//!    "Resource": ["acs:fnf:*:*:flow/orders*"]},
//!   {"Effect": "Deny", "Action": "fnf:DeleteFlow", "Resource": "*"}]}
//! ```
//!
//! Grammar; anything else is refused with the path of the bad element:
//! - top: exactly `Version` (`"1"`) and `Statement` (array, ≤ [`MAX_STATEMENTS`]); the text
//!   ≤ [`MAX_POLICY_BYTES`] bytes. A field written twice keeps its last value (as `serde_json`
//!   reads it); store [`Policy::to_json`], which shows what is enforced;
//! - statement: exactly `Effect` (`Allow`|`Deny`), `Action`, `Resource`, each a string or a
//!   non-empty array of ≤ [`MAX_ENTRIES`] strings (no `Condition`/`NotAction`/`NotResource`:
//!   refusing beats silently granting more than meant);
//! - action: `*` or `fnf:<pattern>` (ASCII letters, digits, `*`, `?`), case-insensitive as in RAM;
//! - resource: `*`, `flow/<pattern>`, `acs:fnf:<region>:<account>:flow/<pattern>` or
//!   `acs:fnf:<region>:<account>:*`. The region is ignored (one region here); the account is
//!   `*` or an exact account id. Flow patterns: ASCII letters, digits, `_`, `-`, `*`, `?`,
//!   case-sensitive.
//!
//! [`Policy::allows`]: an explicit Deny wins, else some Allow must match, else deny. Wildcards
//! use a greedy two-pointer match, O(pattern × text) at worst: no exponential backtracking.

#[cfg(test)]
mod tests;

use std::fmt;

use serde::ser::{Serialize, SerializeStruct, Serializer};
use serde_json::Value;

/// Largest policy text, in bytes (RAM's limit for a custom policy document).
pub const MAX_POLICY_BYTES: usize = 6 * 1024;
/// Most statements in one policy.
pub const MAX_STATEMENTS: usize = 32;
/// Most actions, and most resources, in one statement.
pub const MAX_ENTRIES: usize = 64;

const FULL_ACCESS: &str =
    r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"fnf:*","Resource":"*"}]}"#;

/// A policy that failed to parse. `path` names the bad element (`Policy`, `Statement[2]`,
/// `Statement[0].Action[3]`); the text is meant for an `InvalidArgument` message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct PolicyError {
    pub path: String,
    pub message: String,
}

fn fail<T>(path: impl Into<String>, message: impl Into<String>) -> Result<T, PolicyError> {
    let (path, message) = (path.into(), message.into());
    Err(PolicyError { path, message })
}

/// Whether a statement grants or forbids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Effect {
    Allow,
    Deny,
}

/// A parsed, validated policy. Cheap to check; keeps the original spelling of every action and
/// resource so that [`Policy::to_json`] shows what the owner wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    statements: Vec<Statement>,
}

/// One `{Effect, Action, Resource}` statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    effect: Effect,
    actions: Vec<ActionPattern>,
    resources: Vec<ResourcePattern>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct ActionPattern {
    text: String,
    /// The name pattern after `fnf:`, lowercased (`*` for the bare `*`).
    name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct ResourcePattern {
    text: String,
    /// `None`: any account.
    account: Option<String>,
    /// `None`: every resource, flow-less actions included.
    flow: Option<String>,
}

impl Statement {
    pub fn effect(&self) -> Effect {
        self.effect
    }

    /// The actions as written.
    pub fn actions(&self) -> impl Iterator<Item = &str> {
        self.actions.iter().map(|a| a.text.as_str())
    }

    /// The resources as written.
    pub fn resources(&self) -> impl Iterator<Item = &str> {
        self.resources.iter().map(|r| r.text.as_str())
    }

    fn applies(&self, action: &str, flow: Option<&str>, account: &str) -> bool {
        self.actions.iter().any(|a| glob(&a.name, action, true))
            && self.resources.iter().any(|r| r.covers(flow, account))
    }
}

impl ResourcePattern {
    fn covers(&self, flow: Option<&str>, account: &str) -> bool {
        if self.account.as_deref().is_some_and(|a| a != account) {
            return false;
        }
        match (&self.flow, flow) {
            (None, _) => true,
            (Some(pattern), Some(flow)) => glob(pattern, flow, false),
            // An account-level action is about every flow: only an all-flows pattern covers it.
            (Some(pattern), None) => pattern.bytes().all(|b| b == b'*'),
        }
    }
}

impl Policy {
    /// Parses and validates a policy document (grammar in the module doc).
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        at_most("Policy", text.len(), MAX_POLICY_BYTES, "bytes")?;
        let node: Value = serde_json::from_str(text)
            .or_else(|e| fail("Policy", format!("is not valid JSON: {e}")))?;
        let [version, statements] = fields(node, "Policy", ["Version", "Statement"])?;
        match version {
            Some(Value::String(v)) if v == "1" => {}
            Some(_) => return fail("Version", "must be the string \"1\""),
            None => return fail("Policy", "missing field \"Version\""),
        }
        let statements = match statements {
            Some(Value::Array(items)) => items,
            Some(other) => {
                return fail(
                    "Statement",
                    format!("must be an array, not {}", kind(&other)),
                );
            }
            None => return fail("Policy", "missing field \"Statement\""),
        };
        at_most("Statement", statements.len(), MAX_STATEMENTS, "statements")?;
        let statements = statements
            .into_iter()
            .enumerate()
            .map(|(i, node)| parse_statement(node, &format!("Statement[{i}]")))
            .collect::<Result<_, _>>()?;
        Ok(Policy { statements })
    }

    /// Allow `fnf:*` on `*`: what a key without an explicit policy gets.
    pub fn full_access() -> Policy {
        Policy::parse(FULL_ACCESS).expect("the full-access policy is valid")
    }

    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }

    /// Whether the policy lets `account`'s caller do `action` (the API name without prefix,
    /// e.g. `StartExecution`) on `flow` (`None` for calls about no one flow, e.g. `ListFlows`).
    /// An explicit Deny wins; otherwise some Allow must match; by default, deny.
    pub fn allows(&self, action: &str, flow: Option<&str>, account: &str) -> bool {
        let mut allowed = false;
        for statement in &self.statements {
            if statement.applies(action, flow, account) {
                match statement.effect {
                    Effect::Deny => return false,
                    Effect::Allow => allowed = true,
                }
            }
        }
        allowed
    }

    /// The policy as compact JSON text, which [`Policy::parse`] reads back to an equal policy
    /// (one action or resource is written as a string, several as an array).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a policy is strings and arrays only")
    }
}

/// `{}` shows compact JSON, `{:#}` indented JSON (for docs and diagnostics).
impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = if f.alternate() {
            serde_json::to_string_pretty(self)
        } else {
            serde_json::to_string(self)
        };
        f.write_str(&text.map_err(|_| fmt::Error)?)
    }
}

impl Serialize for Policy {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = s.serialize_struct("Policy", 2)?;
        out.serialize_field("Version", "1")?;
        out.serialize_field("Statement", &self.statements)?;
        out.end()
    }
}

impl Serialize for Statement {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = s.serialize_struct("Statement", 3)?;
        out.serialize_field("Effect", &self.effect)?;
        out.serialize_field("Action", &OneOrMany(self.actions().collect()))?;
        out.serialize_field("Resource", &OneOrMany(self.resources().collect()))?;
        out.end()
    }
}

/// One entry as a string, several as an array: never longer than what was parsed, so a
/// policy's own JSON always fits [`MAX_POLICY_BYTES`] again.
struct OneOrMany<'a>(Vec<&'a str>);

impl Serialize for OneOrMany<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => s.serialize_str(one),
            many => many.serialize(s),
        }
    }
}

fn parse_statement(node: Value, path: &str) -> Result<Statement, PolicyError> {
    let [effect, action, resource] = fields(node, path, ["Effect", "Action", "Resource"])?;
    let missing = |name: &str| fail(path, format!("missing field \"{name}\""));
    let effect = match effect {
        Some(Value::String(e)) if e == "Allow" => Effect::Allow,
        Some(Value::String(e)) if e == "Deny" => Effect::Deny,
        Some(_) => return fail(format!("{path}.Effect"), "must be \"Allow\" or \"Deny\""),
        None => return missing("Effect"),
    };
    let Some(action) = action else {
        return missing("Action");
    };
    let Some(resource) = resource else {
        return missing("Resource");
    };
    Ok(Statement {
        effect,
        actions: entries(action, &format!("{path}.Action"), parse_action)?,
        resources: entries(resource, &format!("{path}.Resource"), parse_resource)?,
    })
}

/// `Action` and `Resource`: one string, or a non-empty array of at most [`MAX_ENTRIES`].
fn entries<T>(
    node: Value,
    path: &str,
    parse: fn(&str) -> Result<T, &'static str>,
) -> Result<Vec<T>, PolicyError> {
    let one = |node: Value, path: &str| match node {
        Value::String(s) => parse(&s).or_else(|why| fail(path, format!("{why} (got {s:?})"))),
        other => fail(path, format!("must be a string, not {}", kind(&other))),
    };
    match node {
        Value::Array(items) if items.is_empty() => fail(path, "must not be an empty array"),
        Value::Array(items) => {
            at_most(path, items.len(), MAX_ENTRIES, "entries")?;
            let each = items.into_iter().enumerate();
            each.map(|(i, item)| one(item, &format!("{path}[{i}]")))
                .collect()
        }
        Value::String(_) => Ok(vec![one(node, path)?]),
        other => fail(
            path,
            format!(
                "must be a string or an array of strings, not {}",
                kind(&other)
            ),
        ),
    }
}

fn at_most(path: &str, count: usize, max: usize, what: &str) -> Result<(), PolicyError> {
    match count > max {
        true => fail(
            path,
            format!("has {count} {what}; at most {max} are allowed"),
        ),
        false => Ok(()),
    }
}

/// Whether `text` is non-empty and made of ASCII letters, digits and the `extra` bytes.
fn made_of(text: &str, extra: &[u8]) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
}

fn parse_action(text: &str) -> Result<ActionPattern, &'static str> {
    let name = match text.split_once(':') {
        _ if text == "*" => "*",
        Some((service, name)) if service.eq_ignore_ascii_case("fnf") => name,
        _ => return Err("an action must be \"*\" or \"fnf:<ActionName>\""),
    };
    if !made_of(name, b"*?") {
        return Err("an action name may hold only letters, digits, '*' and '?'");
    }
    let name = name.to_ascii_lowercase();
    Ok(ActionPattern {
        text: text.to_owned(),
        name,
    })
}

fn parse_resource(text: &str) -> Result<ResourcePattern, &'static str> {
    let resource = |account: &str, flow: Option<&str>| ResourcePattern {
        text: text.to_owned(),
        account: (account != "*").then(|| account.to_owned()),
        flow: flow.map(str::to_owned),
    };
    if text == "*" {
        return Ok(resource("*", None));
    }
    let (account, relative) = match text.strip_prefix("acs:") {
        None => ("*", text),
        Some(arn) => {
            let parts: Vec<&str> = arn.splitn(4, ':').collect();
            let [service, region, account, relative] = parts[..] else {
                return Err("an ARN must read acs:fnf:<region>:<account>:flow/<name>");
            };
            if service != "fnf" {
                return Err("only fnf resources (acs:fnf:...) may be named");
            }
            if !made_of(region, b"-*?") {
                return Err("the region must be \"*\" or a region id such as cn-hangzhou");
            }
            if account != "*" && !made_of(account, b"-_.") {
                return Err("the account must be \"*\" or an account id (no wildcards)");
            }
            if relative == "*" {
                return Ok(resource(account, None));
            }
            (account, relative)
        }
    };
    match relative.strip_prefix("flow/") {
        Some(flow) if made_of(flow, b"_-*?") => Ok(resource(account, Some(flow))),
        Some(_) => Err("a flow name pattern may hold only letters, digits, '_', '-', '*' and '?'"),
        None => Err(
            "a resource must be \"*\", \"flow/<name>\" or \"acs:fnf:<region>:<account>:flow/<name>\"",
        ),
    }
}

/// Glob match with `*` (any run) and `?` (one character): the greedy two-pointer algorithm,
/// which backtracks only to the last `*`, so it is O(pattern × text) at worst. `pattern` is
/// ASCII (parsing checks it; lowercase when `fold`); `text` is any string, matched by
/// character; `fold` makes ASCII letters match in any case.
fn glob(pattern: &str, text: &str, fold: bool) -> bool {
    let (pat, txt) = (pattern.as_bytes(), text.as_bytes());
    let case = |b: u8| if fold { b.to_ascii_lowercase() } else { b };
    let char_len = |at: usize| {
        let rest = text.get(at..).unwrap_or_default();
        rest.chars().next().map_or(1, char::len_utf8)
    };
    let (mut p, mut t) = (0, 0);
    // After the last `*` seen: where the pattern resumes, and where the text tried it from.
    let mut star: Option<(usize, usize)> = None;
    while t < txt.len() {
        let byte = case(txt[t]);
        match pat.get(p) {
            Some(b'*') => {
                p += 1;
                star = Some((p, t));
            }
            Some(b'?') => {
                p += 1;
                t += char_len(t);
            }
            // A pattern byte is ASCII, so it only ever equals a whole one-byte character.
            Some(&b) if b == byte => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((resume, from)) => {
                    let from = from + char_len(from);
                    star = Some((resume, from));
                    (p, t) = (resume, from);
                }
                None => return false,
            },
        }
    }
    pat[p..].iter().all(|&b| b == b'*')
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The fields of the object `value`, in the order of the `N` known names; an unknown field is
/// refused rather than ignored, since ignoring one (say `Condition`) could grant more than meant.
fn fields<const N: usize>(
    value: Value,
    path: &str,
    names: [&str; N],
) -> Result<[Option<Value>; N], PolicyError> {
    let Value::Object(mut map) = value else {
        return fail(path, format!("must be a JSON object, not {}", kind(&value)));
    };
    if let Some(name) = map.keys().find(|k| !names.contains(&k.as_str())) {
        let allowed = names.join(", ");
        return fail(
            path,
            format!("unknown field {name:?}; the fields are {allowed}"),
        );
    }
    Ok(names.map(|name| map.remove(name)))
}
