//! Evaluating constructors, mappings and paths against a state's data and the context.

use std::cell::{Cell, OnceCell};

use serde_json::{Map, Value, json};

use super::ExecutionContext;
pub use crate::flow::expr::kind_of;
use crate::flow::expr::{self, RootName};
use crate::flow::path::{Path, Root, Segment, lookup};
use crate::flow::{Computed, FlowType, MAX_STATE_DATA_BYTES, Mapping, Template};
use crate::time::format_rfc3339;

type Object = Map<String, Value>;

/// Everything an expression may read while one state runs.
pub(super) struct Env<'a> {
    pub kind: FlowType,
    pub ctx: &'a ExecutionContext,
    pub execution_input: &'a Object,
    /// The current state's name (None at flow level).
    pub state: Option<&'a str>,
    pub input: &'a Value,
    /// `$Output` (CloudFlow, only inside OutputConstructor).
    pub output: Option<&'a Value>,
    /// `$local` (FDL).
    pub local: Option<&'a Value>,
    /// `$Context.Current.Error` inside a catch (error, cause).
    pub error: Option<(&'a str, &'a str)>,
    /// `$Context.Current.RetryCount`.
    pub retry_count: u32,
    /// `$Context.Map.Item` inside an ItemConstructor (value, index).
    pub item: Option<(&'a Value, usize)>,
    /// Deterministic entropy for random functions (execution name + event id).
    pub seed: u64,
    /// A callback task's token: `$Context.Current.TaskToken` / `$context.task.token`.
    pub task_token: Option<&'a str>,
    context: OnceCell<Value>,
    /// What the `regexMatchString` calls of this state may still spend.
    regex_steps: Cell<u64>,
}

impl<'a> Env<'a> {
    pub fn new(
        kind: FlowType,
        ctx: &'a ExecutionContext,
        execution_input: &'a Object,
        state: Option<&'a str>,
        input: &'a Value,
    ) -> Self {
        Env {
            kind,
            ctx,
            execution_input,
            state,
            input,
            output: None,
            local: None,
            error: None,
            retry_count: 0,
            item: None,
            seed: 0,
            task_token: None,
            context: OnceCell::new(),
            regex_steps: Cell::new(expr::max_regex_steps()),
        }
    }

    pub fn resolve(&self, p: &Path) -> Result<Value, String> {
        // `$Context.Map.Item...` from the item alone: building the whole context would copy
        // the execution's and the state's input once per item (quadratic in a Map's width).
        if let (Root::Context, Some((value, index)), Some(Segment::Key(first))) =
            (p.root, self.item, p.segments.first())
        {
            let (map, item) = match self.kind {
                FlowType::CloudFlow => ("Map", "Item"),
                FlowType::Fdl => ("map", "item"),
            };
            if first == map {
                // The item's own value is read in place; only a path that wants the whole
                // `Item` object (or misses) builds it.
                let found = match &p.segments[1..] {
                    [Segment::Key(k), Segment::Key(v), deeper @ ..]
                        if k == item && v == "Value" =>
                    {
                        lookup(value, deeper).cloned()
                    }
                    [Segment::Key(k), Segment::Key(i)] if k == item && i == "Index" => {
                        Some(json!(index))
                    }
                    rest => {
                        let branch = json!({ item: { "Value": value, "Index": index } });
                        lookup(&branch, rest).cloned()
                    }
                };
                if let Some(found) = found {
                    return Ok(found);
                }
            }
        }
        let found = match p.root {
            Root::Input => lookup(self.input, &p.segments),
            Root::Output => self.output.and_then(|o| lookup(o, &p.segments)),
            Root::Local => self.local.and_then(|l| lookup(l, &p.segments)),
            Root::Context => lookup(self.context(), &p.segments),
        };
        found.cloned().ok_or_else(|| {
            let place = match (p.root, self.kind) {
                (Root::Input, FlowType::CloudFlow) => "the state input",
                (Root::Input, FlowType::Fdl) => "the step input",
                (Root::Output, _) => "the state output",
                (Root::Local, _) => "the local data",
                (Root::Context, _) => "the context",
            };
            format!("path {} matches nothing in {place}", p.text)
        })
    }

    /// The value of a path or an expression over this Env.
    pub fn compute(&self, c: &Computed) -> Result<Value, String> {
        match c {
            Computed::Path(p) => self.resolve(p),
            Computed::Expr(e) => e.eval(self).map_err(|e| e.to_string()),
        }
    }

    /// `$Context` (CloudFlow "Data passing" page) or `$context` (FDL, lower-case names);
    /// built once per Env, only when an expression reads it.
    fn context(&self) -> &Value {
        self.context.get_or_init(|| self.build_context())
    }

    fn build_context(&self) -> Value {
        let name = Value::String(self.state.unwrap_or_default().to_string());
        let start = Value::String(format_rfc3339(self.ctx.started_ms));
        let exec_name = Value::String(self.ctx.execution_name.clone());
        let exec_input = Value::Object(self.execution_input.clone());
        let flow_name = Value::String(self.ctx.flow_name.clone());
        let mut v = match self.kind {
            FlowType::CloudFlow => json!({
                "Execution": { "Name": exec_name, "Input": exec_input, "StartTime": start },
                "Flow": { "Name": flow_name },
                "Current": {
                    "Name": name,
                    "Input": self.input.clone(),
                    "RetryCount": self.retry_count,
                },
            }),
            FlowType::Fdl => json!({
                "execution": { "name": exec_name, "input": exec_input, "startTime": start },
                "flow": { "name": flow_name },
                "step": { "name": name },
            }),
        };
        if let (FlowType::CloudFlow, Some(Value::Object(current))) =
            (self.kind, v.get_mut("Current"))
        {
            if let Some(out) = self.output {
                current.insert("Output".into(), out.clone());
            }
            if let Some((code, detail)) = self.error {
                current.insert("Error".into(), json!({ "Code": code, "Detail": detail }));
            }
        }
        // "Service integration modes" (CloudFlow) and "Callbacks" (FDL) name the token's place.
        if let (Some(token), Value::Object(top)) = (self.task_token, &mut v) {
            match self.kind {
                FlowType::CloudFlow => {
                    if let Some(Value::Object(current)) = top.get_mut("Current") {
                        current.insert("TaskToken".into(), token.into());
                    }
                }
                FlowType::Fdl => {
                    top.insert("task".into(), json!({ "token": token }));
                }
            }
        }
        if let (Some((value, index)), Value::Object(top)) = (self.item, &mut v) {
            let item = json!({ "Value": value.clone(), "Index": index });
            let key = if self.kind == FlowType::Fdl {
                "map"
            } else {
                "Map"
            };
            let inner = if self.kind == FlowType::Fdl {
                "item"
            } else {
                "Item"
            };
            top.insert(key.into(), json!({ inner: item }));
        }
        v
    }

    pub fn eval(&self, t: &Template) -> Result<Value, String> {
        Ok(match t {
            Template::Const(v) => v.clone(),
            Template::Computed(c) => self.compute(c)?,
            Template::Object(fields) => {
                let mut m = Map::with_capacity(fields.len());
                for (k, t) in fields {
                    m.insert(k.clone(), self.eval(t)?);
                }
                Value::Object(m)
            }
            Template::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|t| self.eval(t))
                    .collect::<Result<_, _>>()?,
            ),
        })
    }

    /// Build an object from a constructor or an FDL mapping list; checks its size.
    pub fn apply(&self, mapping: &Mapping) -> Result<Value, String> {
        let m = match mapping {
            Mapping::Constructor(t) => match self.eval(t)? {
                Value::Object(m) => m,
                other => {
                    return Err(format!(
                        "the constructor produced {}, but state data must be a JSON object",
                        kind_of(&other)
                    ));
                }
            },
            Mapping::Targets(targets) => {
                let mut m = Map::with_capacity(targets.len());
                for t in targets {
                    let v = self.eval(&t.source)?;
                    m.insert(t.target.clone(), v);
                }
                m
            }
        };
        let v = Value::Object(m);
        check_size("the built data", &v)?;
        Ok(v)
    }
}

impl Drop for Env<'_> {
    /// What this state's regular expressions spent is work of the `advance` call (`work`).
    fn drop(&mut self) {
        let spent = expr::max_regex_steps().saturating_sub(self.regex_steps.get());
        super::work::spend(spent);
    }
}

impl expr::Scope for Env<'_> {
    fn root(&self, root: RootName) -> Option<&Value> {
        match root {
            RootName::Input => Some(self.input),
            RootName::Output => self.output,
            RootName::Local => self.local,
            RootName::Context => Some(self.context()),
        }
    }

    fn seed(&self) -> u64 {
        self.seed
    }

    fn regex_budget(&self) -> Option<&Cell<u64>> {
        Some(&self.regex_steps)
    }
}

/// FNV-1a over the execution name and an event id: a stable seed for random functions.
pub(super) fn seed(execution: &str, event_id: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in execution.bytes().chain(event_id.to_le_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A whole number of seconds from 0 to `max` (`30` or `30.0`), else None.
pub(super) fn whole_seconds(v: &Value, max: u64) -> Option<u64> {
    let n = v.as_number()?;
    let secs = n.as_u64().or_else(|| {
        n.as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= max as f64)
            .map(|f| f as u64)
    })?;
    (secs <= max).then_some(secs)
}

/// A value for error messages: numbers and (short) strings as written, others by type.
pub(super) fn describe_value(v: &Value) -> String {
    match v {
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => format!("string {:?}", s.chars().take(40).collect::<String>()),
        other => kind_of(other).to_string(),
    }
}

/// Refuse state data nested deeper than `MAX_DATA_DEPTH` (checked first, without recursion:
/// serializing it would recurse) or larger than `MAX_STATE_DATA_BYTES` once serialized; the
/// bytes counted go to the live-state meter.
pub(super) fn check_size(what: &str, data: &Value) -> Result<(), String> {
    if super::depth::nests_deeper_than(data, super::depth::MAX_DATA_DEPTH) {
        return Err(super::depth::too_deep(what));
    }
    let size = super::meter::json_len(data, MAX_STATE_DATA_BYTES);
    if size > MAX_STATE_DATA_BYTES {
        return Err(format!(
            "{what} is larger than {MAX_STATE_DATA_BYTES} bytes of JSON"
        ));
    }
    super::meter::count(size);
    super::work::spend(size as u64);
    Ok(())
}
