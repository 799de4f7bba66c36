//! The records the store keeps. Plain data; times are epoch milliseconds.

use serde::{Deserialize, Serialize};

/// A flow as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowRecord {
    pub name: String,
    pub id: String,
    pub definition: String,
    pub description: String,
    /// `FDL` or `DEFAULT`, as the API names the language.
    pub flow_type: String,
    pub role_arn: String,
    /// `Standard` or `Express`.
    pub execution_mode: String,
    pub created_ms: i64,
    pub modified_ms: i64,
    /// Bumped by every update; updates are conditional on it.
    pub revision: u64,
}

/// An execution's status, named as the API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum ExecutionStatus {
    Starting,
    #[default]
    Running,
    Stopped,
    Succeeded,
    Failed,
    TimedOut,
}

impl ExecutionStatus {
    pub const ALL: [ExecutionStatus; 6] = [
        ExecutionStatus::Starting,
        ExecutionStatus::Running,
        ExecutionStatus::Stopped,
        ExecutionStatus::Succeeded,
        ExecutionStatus::Failed,
        ExecutionStatus::TimedOut,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionStatus::Starting => "Starting",
            ExecutionStatus::Running => "Running",
            ExecutionStatus::Stopped => "Stopped",
            ExecutionStatus::Succeeded => "Succeeded",
            ExecutionStatus::Failed => "Failed",
            ExecutionStatus::TimedOut => "TimedOut",
        }
    }

    pub fn parse(s: &str) -> Option<ExecutionStatus> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Ended executions never change again.
    pub fn is_ended(self) -> bool {
        !matches!(self, ExecutionStatus::Starting | ExecutionStatus::Running)
    }
}

/// An execution as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionRecord {
    pub flow: String,
    pub name: String,
    pub status: ExecutionStatus,
    /// The input, a JSON object as text.
    pub input: String,
    /// The output, a JSON object as text, once succeeded.
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    /// The definition text this execution runs (frozen at start).
    pub definition: String,
    /// `FDL` or `DEFAULT`.
    pub flow_type: String,
    pub started_ms: i64,
    pub stopped_ms: Option<i64>,
    /// Fencing counter: every write that moves the execution is conditional on it and bumps it.
    pub version: u64,
    /// Where the execution stands between invocations (the runner's state, JSON); `None` once
    /// it has ended.
    #[serde(default)]
    pub checkpoint: Option<String>,
    /// The invocation driving the execution now, and until when its lease holds.
    #[serde(default)]
    pub lease_owner: Option<String>,
    #[serde(default)]
    pub lease_until_ms: Option<i64>,
    /// When someone must look at this running execution (a wait ends, a lease expires, a
    /// continuation is due): the periodic sweep finds it by this time. Once ended, set only
    /// while the end is still to be reported to `callback_token` (the outbox).
    #[serde(default)]
    pub due_ms: Option<i64>,
    /// StartExecution's `CallbackFnFTaskToken`: when this execution ends, its result is
    /// reported to that token (the parent's task).
    #[serde(default)]
    pub callback_token: Option<String>,
    /// The execution holds one of its account's running-execution slots (the account has a
    /// limit); its end gives the slot back (through the same outbox as the report).
    #[serde(default)]
    pub holds_slot: bool,
    /// History events kept in the execution's own record, written with its final, fenced
    /// write rather than as items of their own: the last events of an execution, when they are
    /// few (see `service::settle`). A short flow then costs two writes in all, and a DynamoDB
    /// write unit pays for a KB of events rather than one. Readers merge them with the stored
    /// events (`Store::execution_history`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<HistoryRecord>,
    /// Invocations in a row that took this execution's lease and never handed it back (they
    /// died, or ran past their lease): counted when the next one takes over, cleared when one
    /// parks it. Past a few the execution fails rather than take more processes down with it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub abandoned: u32,
    /// The access key that started this execution (or the parent it runs under), whose
    /// policy decides which children it may start; `None` for the operator and for requests
    /// without authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_by: Option<String>,
    /// History bytes the execution recorded so far (as `runner::limits::event_bytes` counts
    /// them), against its cap; carried from one invocation to the next by the fenced writes.
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub history_bytes: u64,
    /// How many parents this execution runs under: 0 for one started through the API, its
    /// parent's plus one for a child (`service::forks` caps it).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub depth: u32,
    /// Child executions this execution's tasks have started (or tried to), counted by the
    /// fenced write that stores the calls before they go out, so a repeated call after a
    /// crash is not counted again (`service::forks` caps it).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub children: u32,
}

fn is_zero_u64(n: &u64) -> bool {
    *n == 0
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A task token: the callback task of an execution that waits on it, and its result once
/// reported. Created before the task is called; the result is written at most once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    pub token: String,
    pub flow: String,
    pub execution: String,
    /// The engine's task id (`task-<event id>`).
    pub task_id: String,
    pub created_ms: i64,
    /// The reported result: a JSON `engine::TaskResult`, once reported.
    #[serde(default)]
    pub result: Option<String>,
    #[serde(default)]
    pub completed_ms: Option<i64>,
}

/// A running execution the sweep found due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueExecution {
    pub flow: String,
    pub name: String,
    pub version: u64,
    pub due_ms: i64,
}

impl ExecutionRecord {
    /// Ends the execution with `status` at `stopped_ms`: its running state (checkpoint, lease,
    /// due time) goes and its version moves on. Answers the version the write must find.
    pub fn close(&mut self, status: ExecutionStatus, stopped_ms: i64) -> u64 {
        let expected = self.version;
        self.version += 1;
        self.status = status;
        self.stopped_ms = Some(stopped_ms);
        (
            self.checkpoint,
            self.lease_owner,
            self.lease_until_ms,
            self.due_ms,
        ) = (None, None, None, None);
        expected
    }

    /// Whether the store's due index lists this execution (when `due_ms` is set): running
    /// ones, and ended ones with work left at their end (the outbox).
    pub fn sits_in_due_index(&self) -> bool {
        !self.status.is_ended() || self.has_end_work()
    }

    /// Something must happen once this execution ends: report to `callback_token`, give its
    /// running-execution slot back.
    pub fn has_end_work(&self) -> bool {
        self.callback_token.is_some() || self.holds_slot
    }

    /// Who holds the execution's slot among its account's.
    pub fn slot_holder(&self) -> String {
        format!("{}/{}", self.flow, self.name)
    }

    /// The listing view: what `list_executions` returns.
    pub fn summary(&self) -> ExecutionRecord {
        ExecutionRecord {
            input: String::new(),
            output: None,
            error: None,
            cause: None,
            definition: String::new(),
            flow_type: String::new(),
            checkpoint: None,
            history: Vec::new(),
            ..self.clone()
        }
    }
}

/// One event of an execution's history, as stored. Ids are assigned by the engine,
/// sequential from 1, so writing the same event twice stores it once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryRecord {
    pub id: u64,
    /// The API's event `Type`.
    pub kind: String,
    pub step_name: String,
    pub schedule_event_id: Option<u64>,
    pub time_ms: i64,
    /// A JSON object as text.
    pub detail: String,
}

impl HistoryRecord {
    /// An event's stored bytes besides its text fields: id, times, punctuation.
    pub const OVERHEAD_BYTES: u64 = 48;

    /// What the store keeps of this event, in bytes: its text fields and the overhead. The one
    /// measure of history, for an execution's cap and for what its final record may keep.
    pub fn stored_bytes(&self) -> u64 {
        (self.kind.len() + self.step_name.len() + self.detail.len()) as u64 + Self::OVERHEAD_BYTES
    }
}

/// A published version of a flow: the definition as it was when published, never changed.
/// Numbers run 1, 2, 3... per flow and are never reused while the flow exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionRecord {
    pub flow: String,
    pub version: u64,
    pub definition: String,
    /// `FDL` or `DEFAULT`.
    pub flow_type: String,
    pub description: String,
    pub created_ms: i64,
}

/// One route of an alias: this share (percent) of executions runs `version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub version: u64,
    pub weight: u32,
}

/// A named pointer at one version, or a split of traffic between two.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AliasRecord {
    pub flow: String,
    pub name: String,
    pub description: String,
    /// One or two routes, distinct versions, weights summing to 100.
    pub routes: Vec<Route>,
    pub created_ms: i64,
    pub modified_ms: i64,
    /// Bumped by every update; updates are conditional on it.
    pub revision: u64,
}

impl AliasRecord {
    /// The version an execution named `execution` runs: a stable hash of the name picks a
    /// point in 0..100, and the routes cover that range in order by weight. The same name
    /// always lands on the same version (while the routes stay the same).
    pub fn pick(&self, execution: &str) -> Option<u64> {
        let point = fnv1a(execution.as_bytes()) % 100;
        let mut upto = 0u64;
        for route in &self.routes {
            upto += u64::from(route.weight);
            if point < upto {
                return Some(route.version);
            }
        }
        self.routes.last().map(|r| r.version)
    }

    /// Whether any route of this alias points at `version`.
    pub fn routes_to(&self, version: u64) -> bool {
        self.routes.iter().any(|r| r.version == version)
    }
}

/// FNV-1a, 64 bits: stable across processes and releases (unlike std's hasher).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}
