//! History events the engine records in the checkpoint; the caller drains and stores them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Event types, named as GetExecutionHistory's `Type` reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventKind {
    ExecutionStarted,
    StepEntered,
    StepExited,
    StepFailed,
    TaskScheduled,
    TaskSucceeded,
    TaskFailed,
    TaskTimedOut,
    RetryScheduled,
    BranchStarted,
    BranchSucceeded,
    BranchFailed,
    IterationStarted,
    IterationSucceeded,
    IterationFailed,
    ExecutionSucceeded,
    ExecutionFailed,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::ExecutionStarted => "ExecutionStarted",
            EventKind::StepEntered => "StepEntered",
            EventKind::StepExited => "StepExited",
            EventKind::StepFailed => "StepFailed",
            EventKind::TaskScheduled => "TaskScheduled",
            EventKind::TaskSucceeded => "TaskSucceeded",
            EventKind::TaskFailed => "TaskFailed",
            EventKind::TaskTimedOut => "TaskTimedOut",
            EventKind::RetryScheduled => "RetryScheduled",
            EventKind::BranchStarted => "BranchStarted",
            EventKind::BranchSucceeded => "BranchSucceeded",
            EventKind::BranchFailed => "BranchFailed",
            EventKind::IterationStarted => "IterationStarted",
            EventKind::IterationSucceeded => "IterationSucceeded",
            EventKind::IterationFailed => "IterationFailed",
            EventKind::ExecutionSucceeded => "ExecutionSucceeded",
            EventKind::ExecutionFailed => "ExecutionFailed",
        }
    }
}

/// One history event. Ids are sequential over the whole execution (from 1) and assigned by
/// the engine, so replaying the same calls yields the same ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEvent {
    pub id: u64,
    pub kind: EventKind,
    pub step_name: String,
    /// For TaskSucceeded/TaskFailed/TaskTimedOut: the id of their TaskScheduled event.
    pub schedule_event_id: Option<u64>,
    pub time_ms: i64,
    /// Small details: error/cause, attempt, index, resource (never whole inputs).
    pub detail: Value,
}

/// Longest error or cause kept in an event detail, in characters.
const MAX_DETAIL_CHARS: usize = 1024;

/// `s`, cut to `MAX_DETAIL_CHARS` characters so details stay small.
pub(super) fn short(s: &str) -> Value {
    if s.len() <= MAX_DETAIL_CHARS {
        return Value::String(s.to_string());
    }
    Value::String(s.chars().take(MAX_DETAIL_CHARS).collect())
}

/// The event counter and the undrained events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct Log {
    /// Id of the next event. Fixed-width so the checkpoint's size does not grow with it.
    #[serde(with = "fixed")]
    pub next_id: u64,
    /// States entered so far.
    #[serde(with = "fixed")]
    pub transitions: u64,
    pub events: Vec<HistoryEvent>,
}

impl Log {
    /// Record an event; returns its id.
    pub fn push(
        &mut self,
        kind: EventKind,
        step: &str,
        schedule: Option<u64>,
        time_ms: i64,
        detail: Value,
    ) -> u64 {
        self.next_id += 1;
        let id = self.next_id;
        self.events.push(HistoryEvent {
            id,
            kind,
            step_name: step.to_string(),
            schedule_event_id: schedule,
            time_ms,
            detail,
        });
        id
    }
}

/// Counters as fixed-width strings: a checkpoint's size depends only on live data.
mod fixed {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{v:020}"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(D::Error::custom)
    }
}
