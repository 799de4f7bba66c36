//! Records <-> DynamoDB items. Single-table layout (see architecture.md):
//! flow `FLOW#<name>`/`FLOW`, execution `EXEC#<flow>#<name>`/`EXEC`; the `gsi1` index lists
//! flows (`FLOWS`) and one flow's executions (`EXECS#<flow>`) by name.
//! A flow's versions and aliases share its partition (`VERSION#<n>`, `ALIAS#<name>`; see
//! `versions.rs`). A task token is `TOKEN#<token>`/`TOKEN` (see `tokens.rs`).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::store::{
    DueExecution, ExecutionRecord, ExecutionStatus, FlowRecord, HistoryRecord, StoreError,
};

pub type Item = HashMap<String, AttributeValue>;

pub const PK: &str = "pk";
pub const SK: &str = "sk";
pub const GSI1: &str = "gsi1";
pub const GSI1_PK: &str = "gsi1pk";
pub const GSI1_SK: &str = "gsi1sk";
/// Non-key attributes projected into `gsi1`: what listings show, never inputs or outputs.
pub const GSI1_PROJECTED: [&str; 13] = [
    "name",
    "id",
    "definition",
    "description",
    "type",
    "role_arn",
    "mode",
    "created_ms",
    "modified_ms",
    "flow",
    "status",
    "started_ms",
    "stopped_ms",
];

pub const FLOWS_PARTITION: &str = "FLOWS";

/// The sparse index of running executions by due time, sharded so the sweep's reads spread.
pub const GSI2: &str = "gsi2";
pub const DUE_SHARD: &str = "due_shard";
pub const DUE_MS: &str = "due_ms";
pub const DUE_SHARDS: u64 = 8;
/// What the sweep reads from the index besides the keys.
pub const GSI2_PROJECTED: [&str; 3] = ["flow", "name", "version"];

/// The shard of an execution: a stable hash of its key (FNV-1a).
pub fn due_shard(flow: &str, name: &str) -> String {
    let hash = flow
        .bytes()
        .chain([b'/'])
        .chain(name.bytes())
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    format!("DUE#{}", hash % DUE_SHARDS)
}

pub fn flow_key(name: &str) -> Item {
    HashMap::from([
        (PK.into(), s(format!("FLOW#{name}"))),
        (SK.into(), s("FLOW")),
    ])
}

pub fn exec_key(flow: &str, name: &str) -> Item {
    HashMap::from([(PK.into(), exec_pk(flow, name)), (SK.into(), s("EXEC"))])
}

/// The execution's partition: its item, history events and checkpoint parts.
pub fn exec_pk(flow: &str, name: &str) -> AttributeValue {
    s(format!("EXEC#{flow}#{name}"))
}

/// History events live under their execution's partition, sorted by zero-padded id.
pub fn event_sort_key(id: u64) -> String {
    format!("EVENT#{id:020}")
}

pub fn execs_partition(flow: &str) -> String {
    format!("EXECS#{flow}")
}

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub fn flow_to_item(f: &FlowRecord) -> Item {
    let mut item = flow_key(&f.name);
    item.extend([
        (GSI1_PK.into(), s(FLOWS_PARTITION)),
        (GSI1_SK.into(), s(&f.name)),
        ("name".into(), s(&f.name)),
        ("id".into(), s(&f.id)),
        ("definition".into(), s(&f.definition)),
        ("description".into(), s(&f.description)),
        ("type".into(), s(&f.flow_type)),
        ("role_arn".into(), s(&f.role_arn)),
        ("mode".into(), s(&f.execution_mode)),
        ("created_ms".into(), n(f.created_ms)),
        ("modified_ms".into(), n(f.modified_ms)),
        ("revision".into(), n(f.revision)),
    ]);
    item
}

pub fn flow_from_item(item: &Item) -> Result<FlowRecord, StoreError> {
    let r = Reader(item);
    Ok(FlowRecord {
        name: r.s("name")?,
        id: r.s("id")?,
        definition: r.s("definition")?,
        description: r.s("description")?,
        flow_type: r.s("type")?,
        role_arn: r.s("role_arn")?,
        execution_mode: r.s("mode")?,
        created_ms: r.n("created_ms")?,
        modified_ms: r.n("modified_ms")?,
        // Not projected into the index: listings do not need it.
        revision: r.opt_n("revision")?.unwrap_or(0),
    })
}

pub fn exec_to_item(e: &ExecutionRecord) -> Item {
    let mut item = exec_key(&e.flow, &e.name);
    item.extend([
        (GSI1_PK.into(), s(execs_partition(&e.flow))),
        (GSI1_SK.into(), s(&e.name)),
        ("flow".into(), s(&e.flow)),
        ("name".into(), s(&e.name)),
        ("status".into(), s(e.status.as_str())),
        ("input".into(), s(&e.input)),
        // Named apart from the flow's `definition` so the index does not project it.
        ("run_definition".into(), s(&e.definition)),
        ("run_type".into(), s(&e.flow_type)),
        ("started_ms".into(), n(e.started_ms)),
        ("version".into(), n(e.version)),
    ]);
    // A sparse index: no key, no entry.
    let due = e.due_ms.filter(|_| e.sits_in_due_index());
    let optional = [
        ("output", e.output.as_ref().map(s)),
        ("error", e.error.as_ref().map(s)),
        ("cause", e.cause.as_ref().map(s)),
        ("stopped_ms", e.stopped_ms.map(n)),
        // A larger one is kept in parts beside the item (`spill.rs`).
        (
            "checkpoint",
            e.checkpoint
                .as_ref()
                .filter(|c| c.len() <= super::spill::INLINE_CHECKPOINT_BYTES)
                .map(s),
        ),
        ("lease_owner", e.lease_owner.as_ref().map(s)),
        ("lease_until_ms", e.lease_until_ms.map(n)),
        ("callback_token", e.callback_token.as_ref().map(s)),
        ("holds_slot", e.holds_slot.then(|| n(1))),
        ("abandoned", (e.abandoned > 0).then(|| n(e.abandoned))),
        ("started_by", e.started_by.as_ref().map(s)),
        // Short names: these ride on every write of the execution.
        ("hb", (e.history_bytes > 0).then(|| n(e.history_bytes))),
        ("dp", (e.depth > 0).then(|| n(e.depth))),
        ("ch", (e.children > 0).then(|| n(e.children))),
        (DUE_MS, due.map(n)),
        (DUE_SHARD, due.map(|_| s(due_shard(&e.flow, &e.name)))),
        (
            KEPT_EVENTS,
            (!e.history.is_empty()).then(|| s(kept_events(&e.history))),
        ),
    ];
    item.extend(
        optional
            .into_iter()
            .filter_map(|(k, v)| Some((k.to_owned(), v?))),
    );
    item
}

/// Decodes an execution; a summary from the index lacks the large fields, which default empty.
pub fn exec_from_item(item: &Item) -> Result<ExecutionRecord, StoreError> {
    let r = Reader(item);
    let status = r.s("status")?;
    Ok(ExecutionRecord {
        flow: r.s("flow")?,
        name: r.s("name")?,
        status: ExecutionStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown status {status:?}")))?,
        input: r.opt_s("input")?.unwrap_or_default(),
        output: r.opt_s("output")?,
        error: r.opt_s("error")?,
        cause: r.opt_s("cause")?,
        definition: r.opt_s("run_definition")?.unwrap_or_default(),
        flow_type: r.opt_s("run_type")?.unwrap_or_default(),
        started_ms: r.n("started_ms")?,
        stopped_ms: r.opt_n("stopped_ms")?,
        version: r.opt_n("version")?.unwrap_or(0),
        checkpoint: r.opt_s("checkpoint")?,
        lease_owner: r.opt_s("lease_owner")?,
        lease_until_ms: r.opt_n("lease_until_ms")?,
        due_ms: r.opt_n(DUE_MS)?,
        callback_token: r.opt_s("callback_token")?,
        holds_slot: r.opt_n::<u8>("holds_slot")? == Some(1),
        abandoned: r.opt_n("abandoned")?.unwrap_or(0),
        started_by: r.opt_s("started_by")?,
        history_bytes: r.opt_n("hb")?.unwrap_or(0),
        depth: r.opt_n("dp")?.unwrap_or(0),
        children: r.opt_n("ch")?.unwrap_or(0),
        history: match r.opt_s(KEPT_EVENTS)? {
            Some(text) => kept_events_from(&text)?,
            None => Vec::new(),
        },
    })
}

/// The execution's kept history events (`ExecutionRecord::history`), as one JSON array of
/// `[id, type, step, scheduled id or null, time, detail]`: positions rather than field
/// names, since every byte of the item is paid for on each write.
const KEPT_EVENTS: &str = "events";

type KeptEvent = (u64, String, String, Option<u64>, i64, String);
type KeptEventRef<'a> = (u64, &'a str, &'a str, Option<u64>, i64, &'a str);

fn kept_events(events: &[HistoryRecord]) -> String {
    let rows: Vec<KeptEventRef> = events
        .iter()
        .map(|e| {
            let (kind, step, detail) = (&e.kind, &e.step_name, &e.detail);
            (
                e.id,
                kind.as_str(),
                step.as_str(),
                e.schedule_event_id,
                e.time_ms,
                detail.as_str(),
            )
        })
        .collect();
    serde_json::to_string(&rows).unwrap_or_default()
}

fn kept_events_from(text: &str) -> Result<Vec<HistoryRecord>, StoreError> {
    let rows: Vec<KeptEvent> =
        serde_json::from_str(text).map_err(|e| corrupt(KEPT_EVENTS, &e.to_string()))?;
    Ok(rows
        .into_iter()
        .map(
            |(id, kind, step_name, schedule_event_id, time_ms, detail)| HistoryRecord {
                id,
                kind,
                step_name,
                schedule_event_id,
                time_ms,
                detail,
            },
        )
        .collect())
}

pub fn due_from_item(item: &Item) -> Result<DueExecution, StoreError> {
    let r = Reader(item);
    Ok(DueExecution {
        flow: r.s("flow")?,
        name: r.s("name")?,
        version: r.n("version")?,
        due_ms: r.n(DUE_MS)?,
    })
}

pub fn event_to_item(flow: &str, name: &str, e: &HistoryRecord) -> Item {
    let mut item = exec_key(flow, name);
    item.insert(SK.into(), s(event_sort_key(e.id)));
    item.extend([
        ("id".into(), n(e.id)),
        ("kind".into(), s(&e.kind)),
        ("step".into(), s(&e.step_name)),
        ("time_ms".into(), n(e.time_ms)),
        ("detail".into(), s(&e.detail)),
    ]);
    if let Some(scheduled) = e.schedule_event_id {
        item.insert("scheduled".into(), n(scheduled));
    }
    item
}

pub fn event_from_item(item: &Item) -> Result<HistoryRecord, StoreError> {
    let r = Reader(item);
    Ok(HistoryRecord {
        id: r.n("id")?,
        kind: r.s("kind")?,
        step_name: r.s("step")?,
        schedule_event_id: r.opt_n("scheduled")?,
        time_ms: r.n("time_ms")?,
        detail: r.s("detail")?,
    })
}

/// Reads typed attributes of an item; a missing or mistyped one is `Corrupt`.
pub struct Reader<'a>(pub &'a Item);

impl Reader<'_> {
    pub fn opt_s(&self, key: &str) -> Result<Option<String>, StoreError> {
        match self.0.get(key) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::S(v)) => Ok(Some(v.clone())),
            Some(_) => Err(corrupt(key, "not a string")),
        }
    }

    pub fn s(&self, key: &str) -> Result<String, StoreError> {
        self.opt_s(key)?.ok_or_else(|| corrupt(key, "missing"))
    }

    pub fn opt_n<T: std::str::FromStr>(&self, key: &str) -> Result<Option<T>, StoreError> {
        match self.0.get(key) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::N(v)) => v
                .parse()
                .map(Some)
                .map_err(|_| corrupt(key, "not an integer")),
            Some(_) => Err(corrupt(key, "not a number")),
        }
    }

    pub fn n<T: std::str::FromStr>(&self, key: &str) -> Result<T, StoreError> {
        self.opt_n(key)?.ok_or_else(|| corrupt(key, "missing"))
    }
}

fn corrupt(key: &str, why: &str) -> StoreError {
    StoreError::Corrupt(format!("attribute {key}: {why}"))
}
