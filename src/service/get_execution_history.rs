//! GetExecutionHistory: an execution's events in order, paginated.

use serde_json::{Value, json};

use super::Service;
use super::params;
use super::views::{self, Fields};
use crate::api::Params;
use crate::error::FnfError;
use crate::store::HistoryRecord;
use crate::time::format_rfc3339;

pub const DEFAULT_LIMIT: usize = 60;
pub const MAX_LIMIT: usize = 100;

pub async fn handle(svc: &Service, p: &Params) -> Result<Fields, FnfError> {
    let flow = params::name(p, "FlowName")?;
    let name = params::name(p, "ExecutionName")?;
    let limit = params::limit(p, DEFAULT_LIMIT, MAX_LIMIT)?;
    let after = params::next_event_token(p)?;
    let Some(exec) = svc.store.view_execution(flow, name).await? else {
        return Err(FnfError::ExecutionNotExists {
            flow: flow.to_owned(),
            execution: name.to_owned(),
        });
    };
    let page = svc.store.execution_history(&exec, limit, after).await?;
    Ok(views::page("Events", &page, event))
}

fn event(e: &HistoryRecord) -> Fields {
    let mut out = Fields::new();
    out.insert("EventId".into(), json!(e.id));
    out.insert("Type".into(), Value::String(e.kind.clone()));
    out.insert("StepName".into(), Value::String(e.step_name.clone()));
    if let Some(scheduled) = e.schedule_event_id {
        out.insert("ScheduleEventId".into(), json!(scheduled));
    }
    out.insert("Time".into(), Value::String(format_rfc3339(e.time_ms)));
    out.insert("EventDetail".into(), Value::String(e.detail.clone()));
    out
}
