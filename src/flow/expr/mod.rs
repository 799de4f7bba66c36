//! The expression language of CloudFlow (`$Input.status == "ready"`, `format('{}', $Input.a)`)
//! and FDL (`$.status == "ready"`, `$input.a`), parsed once and evaluated many times.
//!
//! Sources: "CloudFlow: Choice" (conditional expressions: comparisons, `&&`, `||`, prefix `!`
//! and `-`, `in`, string/number/boolean constants), "Choice steps" (FDL: `$.key`), and
//! "CloudFlow: Built-in functions" (the function list, usable in both dialects).
//!
//! Grammar (lowest precedence first):
//! ```text
//! expr    = or ;
//! or      = and { "||" and } ;
//! and     = eq { "&&" eq } ;
//! eq      = rel { ("==" | "!=") rel } ;
//! rel     = unary { ("<" | "<=" | ">" | ">=" | "in") unary } ;
//! unary   = ("!" | "-") unary | primary ;
//! primary = string | number | "true" | "false" | "null" | path
//!         | name "(" [ expr { "," expr } ] ")"
//!         | "[" [ expr { "," expr } ] "]"
//!         | "{" [ string ":" expr { "," string ":" expr } ] "}"
//!         | "(" expr ")" ;
//! path    = root { "." name | "[" digits "]" | "[" string "]" } ;
//! root    = "$Input" | "$Output" | "$Context"            (CloudFlow)
//!         | "$input" | "$local" | "$context" | "$"       (FDL; "$" is the step input) ;
//! string  = '"' .. '"' | "'" .. "'" (JSON escapes) | "`" .. "`" (raw) ;
//! ```

mod eval;
mod functions;
mod hash;
mod lexer;
mod parser;
mod regex;

use std::cell::Cell;

use serde_json::Value;

pub use eval::kind_of;
pub use regex::{
    DEFAULT_MAX_REGEX_STEPS, max_steps as max_regex_steps, set_max_steps as set_max_regex_steps,
};

use super::MAX_EXPRESSION_CHARS;

/// Deepest nesting of parentheses, unary operators, calls and literals accepted at parse time.
pub const MAX_EXPRESSION_DEPTH: usize = 32;
/// "A maximum of 10 layers of nested built-in functions" ("CloudFlow: Built-in functions").
pub const MAX_FUNCTION_NESTING: usize = 10;
/// Largest string a function may produce (bytes), so one expression cannot blow up memory.
pub const MAX_FUNCTION_OUTPUT_BYTES: usize = 64 * 1024;
/// Largest array a function may produce.
pub const MAX_FUNCTION_OUTPUT_ITEMS: usize = 10_000;

/// Which language's roots the expression uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `$Input`, `$Output`, `$Context`.
    CloudFlow,
    /// `$input`, `$local`, `$context`, and `$.a.b` (the step input, as in choice conditions).
    Fdl,
}

/// The data an expression may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootName {
    /// `$Input`, FDL `$input` and `$.x`.
    Input,
    /// `$Output` (CloudFlow OutputConstructor only).
    Output,
    /// `$Context` / `$context`.
    Context,
    /// FDL `$local`.
    Local,
}

impl RootName {
    fn spelling(self, dialect: Dialect) -> &'static str {
        match (dialect, self) {
            (Dialect::CloudFlow, RootName::Input) => "$Input",
            (Dialect::CloudFlow, RootName::Output) => "$Output",
            (Dialect::CloudFlow, RootName::Context) => "$Context",
            (Dialect::CloudFlow, RootName::Local) => "$Local",
            (Dialect::Fdl, RootName::Input) => "$input",
            (Dialect::Fdl, RootName::Output) => "$output",
            (Dialect::Fdl, RootName::Context) => "$context",
            (Dialect::Fdl, RootName::Local) => "$local",
        }
    }
}

/// A parsed expression. Owns all its data: `Send + Sync`, cheap to evaluate repeatedly.
#[derive(Debug, Clone)]
pub struct Expr {
    text: String,
    dialect: Dialect,
    root: parser::Node,
}

/// A parse error: `offset` counts characters from the start of the expression text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at {offset}: {message}")]
pub struct ExprError {
    pub offset: usize,
    pub message: String,
}

/// An evaluation error; the message names the function or path and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EvalError(pub String);

/// What an expression can read. The engine implements it.
pub trait Scope {
    /// The value of a root (`$Input`, `$Output`, `$Context`, `$input`, `$local`, `$context`),
    /// None when not available here (e.g. `$Output` outside an OutputConstructor).
    fn root(&self, root: RootName) -> Option<&Value>;
    /// Deterministic entropy for random/UUID functions (the engine derives it from execution
    /// and step).
    fn seed(&self) -> u64;
    /// The regex steps (`FNF_REGEX_MAX_STEPS`) this scope's evaluations may still spend, shared
    /// by all of them; None gives each evaluation a budget of its own.
    fn regex_budget(&self) -> Option<&Cell<u64>> {
        None
    }
}

/// Parse `text` in `dialect`; refuses text over `MAX_EXPRESSION_CHARS` characters and nesting
/// over `MAX_EXPRESSION_DEPTH`.
pub fn parse(text: &str, dialect: Dialect) -> Result<Expr, ExprError> {
    // Count lazily: a huge input is refused without walking all of it.
    if text.chars().nth(MAX_EXPRESSION_CHARS).is_some() {
        return Err(ExprError {
            offset: MAX_EXPRESSION_CHARS,
            message: format!("expression is longer than {MAX_EXPRESSION_CHARS} characters"),
        });
    }
    let tokens = lexer::lex(text, dialect)?;
    let root = parser::parse_tokens(&tokens)?;
    Ok(Expr {
        text: text.to_string(),
        dialect,
        root,
    })
}

impl Expr {
    /// Evaluate for data mapping: a path that matches nothing is an error.
    pub fn eval(&self, scope: &dyn Scope) -> Result<Value, EvalError> {
        let own = Cell::new(regex::max_steps());
        let cx = eval::Ctx {
            scope,
            dialect: self.dialect,
            lenient: false,
            regex_steps: scope.regex_budget().unwrap_or(&own),
        };
        eval::eval(&self.root, &cx).map(|v| v.into_owned())
    }

    /// For conditions: evaluates and requires a boolean (error otherwise, naming the type).
    /// Here a path that matches nothing reads as `null` (see `eval::Ctx::lenient`).
    pub fn eval_condition(&self, scope: &dyn Scope) -> Result<bool, EvalError> {
        let own = Cell::new(regex::max_steps());
        let cx = eval::Ctx {
            scope,
            dialect: self.dialect,
            lenient: true,
            regex_steps: scope.regex_budget().unwrap_or(&own),
        };
        match eval::eval(&self.root, &cx)?.as_ref() {
            Value::Bool(b) => Ok(*b),
            other => Err(EvalError(format!(
                "condition {} must evaluate to a boolean, but it gave {}",
                self.text.trim(),
                eval::kind_of(other)
            ))),
        }
    }

    /// The roots this expression reads, each once, in order of first appearance.
    pub fn roots(&self) -> Vec<RootName> {
        let mut out = Vec::new();
        self.root.collect_roots(&mut out);
        out
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// True when the expression is a single path (e.g. `$Input.items`), which the engine may
    /// want to treat specially (e.g. ItemsPath).
    pub fn is_path(&self) -> bool {
        matches!(self.root, parser::Node::Path(_))
    }
}
