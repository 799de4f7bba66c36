//! StartExecution (api.md): claim the name with one conditional write, run the flow in this
//! invocation, write the end state, answer with the execution's details.

use serde_json::Value;

use super::create_flow::EXPRESS;
use super::params::{self, MAX_INPUT_BYTES};
use super::views::{self, Fields};
use super::{Service, qualifier};
use crate::api::Params;
use crate::engine::kind_of;
use crate::error::FnfError;
use crate::store::{Claim, ExecutionRecord, ExecutionStatus};

pub async fn handle(svc: &Service, p: &Params) -> Result<Fields, FnfError> {
    let flow_name = params::name(p, "FlowName")?;
    let exec_name = match p.optional("ExecutionName") {
        Some(n) => {
            params::check_name("ExecutionName", n)?;
            n.to_owned()
        }
        None => generated_name(),
    };
    let input = input(p.optional("Input"))?;
    // Comes with task integrations; refused rather than silently ignored.
    params::unsupported(p, "CallbackFnFTaskToken")?;

    let flow = svc
        .store
        .get_flow(flow_name)
        .await?
        .ok_or_else(|| FnfError::FlowNotExists(flow_name.to_owned()))?;
    if flow.execution_mode == EXPRESS {
        return Err(FnfError::invalid(
            "FlowName",
            format!(
                "flow {flow_name} runs in Express mode; StartExecution runs Standard flows only"
            ),
        ));
    }

    // A version (by number, or by an alias's routes) runs its own frozen definition; no
    // Qualifier runs the latest.
    let (definition, flow_type) = match p.optional("Qualifier") {
        Some(q) => {
            let version = qualifier::resolve(svc, flow_name, q, &exec_name).await?;
            (version.definition, version.flow_type)
        }
        None => (flow.definition, flow.flow_type),
    };

    let now = svc.clock.now_ms();
    let budget = svc.budgets.response_ms;
    let lease_until = now
        .saturating_add(budget)
        .saturating_add(svc.budgets.lease_margin_ms);
    let record = ExecutionRecord {
        flow: flow.name.clone(),
        name: exec_name,
        status: ExecutionStatus::Running,
        input,
        output: None,
        error: None,
        cause: None,
        definition,
        flow_type,
        started_ms: now,
        stopped_ms: None,
        version: 1,
        // This call drives the execution first; if it dies, the sweep finds the execution
        // when the lease runs out.
        lease_owner: Some(uuid::Uuid::new_v4().to_string()),
        lease_until_ms: Some(lease_until),
        due_ms: Some(lease_until),
        ..ExecutionRecord::default()
    };
    match svc.store.claim_execution(&record).await? {
        Claim::Created => {}
        // Same name, still running: nothing new starts; the caller gets the running one.
        Claim::Existing(running) if !running.status.is_ended() => {
            return Ok(views::execution(&running));
        }
        Claim::Existing(ended) => {
            return Err(FnfError::ExecutionAlreadyExists {
                flow: ended.flow.clone(),
                execution: ended.name.clone(),
            });
        }
    }
    tracing::info!(flow = %record.flow, execution = %record.name, "execution started");
    // A short flow ends inside this call; a longer one answers Running and carries on in
    // continuations.
    let current = svc.drive(record, budget).await?;
    Ok(views::execution(&current))
}

/// Generated names follow the name rules (first character a letter) and never collide.
fn generated_name() -> String {
    format!("exec-{}", uuid::Uuid::new_v4().simple())
}

/// `Input`: a JSON object as text, `{}` when absent.
fn input(raw: Option<&str>) -> Result<String, FnfError> {
    let Some(raw) = raw else {
        return Ok("{}".to_owned());
    };
    if raw.len() > MAX_INPUT_BYTES {
        return Err(FnfError::EntityTooLarge(MAX_INPUT_BYTES));
    }
    match serde_json::from_str::<Value>(raw) {
        Ok(Value::Object(_)) => Ok(raw.to_owned()),
        Ok(other) => Err(FnfError::invalid(
            "Input",
            format!("must be a JSON object, got {}", kind_of(&other)),
        )),
        Err(e) => Err(FnfError::invalid(
            "Input",
            format!("is not valid JSON: {e}"),
        )),
    }
}
