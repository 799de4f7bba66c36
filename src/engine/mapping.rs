//! Evaluating constructors, mappings and paths against a state's data and the context.

use serde_json::{Map, Value};

use super::ExecutionContext;
use crate::flow::path::{Path, Root, lookup, lookup_in_map};
use crate::flow::{FlowType, MAX_STATE_DATA_BYTES, Mapping, Template};
use crate::time::format_rfc3339;

type Object = Map<String, Value>;

/// Everything an expression may read while one state runs.
pub(super) struct Env<'a> {
    pub kind: FlowType,
    pub ctx: &'a ExecutionContext,
    pub execution_input: &'a Object,
    /// The current state's name (None at flow level).
    pub state: Option<&'a str>,
    pub input: &'a Object,
    /// `$Output` (CloudFlow, only inside OutputConstructor).
    pub output: Option<&'a Object>,
    /// `$local` (FDL).
    pub local: Option<&'a Object>,
}

impl Env<'_> {
    pub fn resolve(&self, p: &Path) -> Result<Value, String> {
        let found = match p.root {
            Root::Input => lookup_in_map(self.input, &p.segments),
            Root::Output => self.output.and_then(|o| lookup_in_map(o, &p.segments)),
            Root::Local => self.local.and_then(|l| lookup_in_map(l, &p.segments)),
            Root::Context => lookup(&self.context(), &p.segments).cloned(),
        };
        found.ok_or_else(|| {
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

    /// `$Context` (CloudFlow "Data passing" page) or `$context` (FDL, lower-case names).
    fn context(&self) -> Value {
        let name = Value::String(self.state.unwrap_or_default().to_string());
        let start = Value::String(format_rfc3339(self.ctx.started_ms));
        let exec_name = Value::String(self.ctx.execution_name.clone());
        let exec_input = Value::Object(self.execution_input.clone());
        let flow_name = Value::String(self.ctx.flow_name.clone());
        let input = Value::Object(self.input.clone());
        let mut v = match self.kind {
            FlowType::CloudFlow => serde_json::json!({
                "Execution": { "Name": exec_name, "Input": exec_input, "StartTime": start },
                "Flow": { "Name": flow_name },
                "Current": { "Name": name, "Input": input },
            }),
            FlowType::Fdl => serde_json::json!({
                "execution": { "name": exec_name, "input": exec_input, "startTime": start },
                "flow": { "name": flow_name },
                "step": { "name": name },
            }),
        };
        if let (FlowType::CloudFlow, Some(out)) = (self.kind, self.output)
            && let Some(Value::Object(current)) = v.get_mut("Current")
        {
            current.insert("Output".into(), Value::Object(out.clone()));
        }
        v
    }

    pub fn eval(&self, t: &Template) -> Result<Value, String> {
        Ok(match t {
            Template::Const(v) => v.clone(),
            Template::Path(p) => self.resolve(p)?,
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

    /// Build an object from a constructor or an FDL mapping list.
    pub fn apply(&self, mapping: &Mapping) -> Result<Object, String> {
        match mapping {
            Mapping::Constructor(t) => match self.eval(t)? {
                Value::Object(m) => Ok(m),
                other => Err(format!(
                    "the constructor produced {}, but state data must be a JSON object",
                    kind_of(&other)
                )),
            },
            Mapping::Targets(targets) => {
                let mut m = Map::with_capacity(targets.len());
                for t in targets {
                    let v = self.eval(&t.source)?;
                    m.insert(t.target.clone(), v);
                }
                Ok(m)
            }
        }
    }
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

/// Refuse state data larger than `MAX_STATE_DATA_BYTES` once serialized.
pub(super) fn check_size(what: &str, data: &Object) -> Result<(), String> {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            if self.0 > MAX_STATE_DATA_BYTES {
                // Stop serializing early: the answer is already known.
                return Err(std::io::Error::other("too large"));
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Counter(0);
    let _ = serde_json::to_writer(&mut c, data);
    if c.0 > MAX_STATE_DATA_BYTES {
        return Err(format!(
            "{what} is larger than {MAX_STATE_DATA_BYTES} bytes of JSON"
        ));
    }
    Ok(())
}
