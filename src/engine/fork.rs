//! Parallel branches and Map/foreach iterations: children run as threads of their own, at
//! most `max_concurrency` at once, and their results are collected in order.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::events::{EventKind, short};
use super::mapping::kind_of;
use super::run::{Act, Entry, Failure, Rt, Step, Thread};
use super::state::checked;
use crate::flow::{FlowType, MAX_MAP_ITEMS, Scope, State, StateKind};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Fork {
    pub entry: Entry,
    /// Map: the items; each is taken out when its iteration starts.
    pub items: Vec<Value>,
    /// Index of the next child to start.
    pub next: usize,
    pub total: usize,
    pub running: Vec<Child>,
    /// Finished children's results, by index (null until then).
    pub results: Vec<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Child {
    pub index: usize,
    pub thread: Thread,
}

/// Event kinds for branches (Parallel) or iterations (Map/foreach).
fn kinds(state: &State) -> [EventKind; 3] {
    match state.kind {
        StateKind::Parallel(_) => [
            EventKind::BranchStarted,
            EventKind::BranchSucceeded,
            EventKind::BranchFailed,
        ],
        _ => [
            EventKind::IterationStarted,
            EventKind::IterationSucceeded,
            EventKind::IterationFailed,
        ],
    }
}

/// The scope child `i` runs.
fn child_scope(state: &State, i: usize) -> Option<&Scope> {
    match &state.kind {
        StateKind::Parallel(branches) => branches.get(i),
        StateKind::Map(m) => Some(&m.processor),
        _ => None,
    }
}

impl Rt<'_> {
    /// Enter a Parallel or Map state: find the children and start running them.
    pub(super) fn start_fork(
        &mut self,
        scope: &Scope,
        state: &State,
        th: &mut Thread,
        entry: Entry,
    ) -> Option<Step> {
        let (total, items) = match &state.kind {
            StateKind::Parallel(branches) => (branches.len(), Vec::new()),
            StateKind::Map(m) => {
                let computed = self.env(state, &entry.input).compute(&m.items);
                let items = computed.and_then(|items| match items {
                    Value::Array(a) if a.len() <= MAX_MAP_ITEMS => Ok(a),
                    Value::Array(a) => Err(format!(
                        "{} has {} items; at most {MAX_MAP_ITEMS} are allowed",
                        m.items.text(),
                        a.len()
                    )),
                    other => Err(format!(
                        "{} is {}, not an array",
                        m.items.text(),
                        kind_of(&other)
                    )),
                });
                match items {
                    Ok(a) => (a.len(), a),
                    Err(cause) => {
                        return self.fail_runtime(scope, state, th, entry, &cause);
                    }
                }
            }
            _ => (0, Vec::new()),
        };
        th.act = Act::Fork(Box::new(Fork {
            entry,
            items,
            next: 0,
            total,
            running: Vec::new(),
            results: vec![Value::Null; total],
        }));
        None
    }

    /// Run the children: start new ones up to the concurrency limit, move each running one,
    /// collect results in order; the first failure fails the state (others are dropped).
    pub(super) fn fork_step(
        &mut self,
        scope: &Scope,
        state: &State,
        th: &mut Thread,
        mut f: Box<Fork>,
        depth: usize,
    ) -> Option<Step> {
        let [started, succeeded, failed] = kinds(state);
        let limit = match &state.kind {
            StateKind::Map(m) => m.max_concurrency.max(1) as usize,
            _ => usize::MAX,
        };
        loop {
            while f.running.len() < limit && f.next < f.total {
                let i = f.next;
                f.next += 1;
                let (input, start) =
                    match (self.child_input(state, &mut f, i), child_scope(state, i)) {
                        (Ok(v), Some(s)) => (v, s.start),
                        (Err(cause), _) => {
                            return self.fail_runtime(scope, state, th, f.entry, &cause);
                        }
                        (_, None) => {
                            let cause = format!("state {:?} has no branch {i}", state.name);
                            return self.fail(scope, state, th, f.entry, Failure::runtime(cause));
                        }
                    };
                self.event(started, &state.name, json!({ "index": i }));
                f.running.push(Child {
                    index: i,
                    thread: Thread::new(start, input),
                });
            }
            if f.running.is_empty() {
                return self.fork_done(scope, state, th, *f);
            }
            let mut finished = false;
            let mut k = 0;
            while k < f.running.len() {
                let index = f.running[k].index;
                let Some(child) = child_scope(state, index) else {
                    k += 1;
                    continue;
                };
                match self.run_thread(child, &mut f.running[k].thread, depth + 1) {
                    Step::Done(Ok(v)) => {
                        self.event(succeeded, &state.name, json!({ "index": index }));
                        if let Some(slot) = f.results.get_mut(index) {
                            *slot = v;
                        }
                        f.running.remove(k);
                        finished = true;
                    }
                    Step::Done(Err(e)) => {
                        let detail = json!({
                            "index": index,
                            "error": short(&e.error),
                            "cause": short(&e.cause),
                        });
                        self.event(failed, &state.name, detail);
                        return self.fail(scope, state, th, f.entry, e);
                    }
                    Step::Blocked => k += 1,
                    Step::Budget => {
                        th.act = Act::Fork(f);
                        return Some(Step::Budget);
                    }
                }
            }
            if !finished {
                th.act = Act::Fork(f);
                return Some(Step::Blocked);
            }
        }
    }

    /// Input of child `i`: Parallel branches get the state input; Map iterations their item
    /// (or ItemConstructor's result); foreach iterations the step input plus item/index keys.
    fn child_input(&self, state: &State, f: &mut Fork, i: usize) -> Result<Value, String> {
        let m = match &state.kind {
            StateKind::Map(m) => m,
            _ => return Ok(f.entry.input.clone()),
        };
        let item = f.items.get_mut(i).map(std::mem::take).unwrap_or_default();
        if let Some((item_key, index_key)) = &m.fdl_item {
            // "Foreach steps": item (and index) are merged into the iteration input.
            let mut input = f.entry.input.as_object().cloned().unwrap_or_default();
            input.insert(item_key.clone(), item);
            if let Some(k) = index_key {
                input.insert(k.clone(), json!(i));
            }
            return checked("the iteration input", Value::Object(input));
        }
        match &m.item_constructor {
            Some(ctor) => {
                let mut env = self.env(state, &f.entry.input);
                env.item = Some((&item, i));
                env.apply(ctor)
            }
            None if item.is_object() => Ok(item),
            None => Err(format!(
                "item {i} is {}, but an iteration's input must be a JSON object (build one \
                 with ItemConstructor and $Context.Map.Item.Value)",
                kind_of(&item)
            )),
        }
    }

    /// All children succeeded: CloudFlow Parallel output `{"Branch<i>": ...}` ("Parallel"),
    /// Map output `{"Items": [...]}` ("Map: inline mode"); FDL: `$local` is the array of
    /// results and there is no output without outputMappings ("Foreach steps").
    fn fork_done(
        &mut self,
        scope: &Scope,
        state: &State,
        th: &mut Thread,
        f: Fork,
    ) -> Option<Step> {
        let Fork { entry, results, .. } = f;
        let (raw, local) = match (self.flow.kind, &state.kind) {
            (FlowType::Fdl, _) => (Value::Object(Map::new()), Value::Array(results)),
            (FlowType::CloudFlow, StateKind::Parallel(_)) => {
                let m: Map<String, Value> = results
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| (format!("Branch{i}"), v))
                    .collect();
                (Value::Object(m), Value::Null)
            }
            (FlowType::CloudFlow, _) => (json!({ "Items": results }), Value::Null),
        };
        let checked = match self.flow.kind {
            FlowType::Fdl => checked("the collected results", local).map(|l| (raw, l)),
            FlowType::CloudFlow => checked("the collected results", raw).map(|r| (r, local)),
        };
        match checked {
            Ok((raw, local)) => self.complete(scope, state, th, entry, raw, local, None),
            Err(cause) => self.fail_runtime(scope, state, th, entry, &cause),
        }
    }
}
