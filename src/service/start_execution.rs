//! StartExecution (api.md): claim the name with one conditional write, run the flow in this
//! invocation, write the end state, answer with the execution's details.

use super::create_flow::EXPRESS;
use super::params;
use super::views::{self, Fields};
use super::{Service, qualifier};
use crate::api::Params;
use crate::engine;
use crate::error::FnfError;
use crate::store::{Claim, ExecutionRecord, ExecutionStatus, StoreError};

/// What StartExecution asks for, checked: from the API, or from a parent's nested-flow task.
#[derive(Debug, Clone)]
pub struct StartRequest {
    pub flow: String,
    pub name: String,
    /// A JSON object as text; `None` is `{}`.
    pub input: Option<String>,
    pub qualifier: Option<String>,
    /// Reported to when the execution ends (the parent's waiting task).
    pub callback_token: Option<String>,
    /// 0 from the API; a child's is its parent's plus one (`forks`).
    pub depth: u32,
}

pub async fn handle(svc: &Service, p: &Params) -> Result<Fields, FnfError> {
    let flow = params::name(p, "FlowName")?.to_owned();
    let name = match p.optional("ExecutionName") {
        Some(n) => n.to_owned(),
        None => generated_name(),
    };
    let req = StartRequest {
        flow,
        name,
        input: p.optional("Input").map(str::to_owned),
        qualifier: p.optional("Qualifier").map(str::to_owned),
        callback_token: p.optional("CallbackFnFTaskToken").map(str::to_owned),
        depth: 0,
    };
    let exec = start(svc, req).await?;
    Ok(views::execution(&exec))
}

/// Claims the name with one conditional write and runs the execution within the response
/// budget; answers the execution as it stands (or the running one that holds the name).
pub async fn start(svc: &Service, req: StartRequest) -> Result<ExecutionRecord, FnfError> {
    let flow_name = req.flow.as_str();
    params::check_name("FlowName", flow_name)?;
    params::check_name("ExecutionName", &req.name)?;
    let input = input(req.input.as_deref())?;
    if let Some(token) = &req.callback_token {
        check_callback_token(svc, token).await?;
    }

    let flow = svc
        .flow_to_start(flow_name)
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
    let (definition, flow_type) = match req.qualifier.as_deref() {
        Some(q) => {
            let version = qualifier::resolve(svc, flow_name, q, &req.name).await?;
            (version.definition, version.flow_type)
        }
        None => (flow.definition, flow.flow_type),
    };

    let now = svc.clock.now_ms();
    let budget = svc.budgets.response_ms;
    let lease_until = now
        .saturating_add(budget)
        .saturating_add(svc.budgets.lease_margin_ms);
    let mut record = ExecutionRecord {
        flow: flow.name.clone(),
        name: req.name,
        status: ExecutionStatus::Running,
        input,
        definition,
        flow_type,
        started_ms: now,
        version: 1,
        // This call drives the execution first; if it dies, the sweep finds the execution
        // when the lease runs out.
        lease_owner: Some(uuid::Uuid::new_v4().to_string()),
        lease_until_ms: Some(lease_until),
        due_ms: Some(lease_until),
        callback_token: req.callback_token,
        // Its children are started with this key's permissions (`calls::start_child`).
        started_by: svc.starter.clone(),
        depth: req.depth,
        ..ExecutionRecord::default()
    };
    record.holds_slot = take_slot(svc, &record).await?;
    let claimed = svc.store.claim_execution(&record).await;
    // The slot stays only with an execution this call started.
    let keep_slot = match &claimed {
        Ok(Claim::Created) => true,
        Ok(Claim::Existing(running)) => running.holds_slot && !running.status.is_ended(),
        Err(_) => false,
    };
    if record.holds_slot && !keep_slot {
        svc.store_root()
            .release_slot(svc.account(), &record.slot_holder())
            .await?;
    }
    match claimed? {
        Claim::Created => {}
        // Same name, still running: nothing new starts; the caller gets the running one.
        Claim::Existing(running) if !running.status.is_ended() => return Ok(*running),
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
    svc.drive(record, budget).await
}

/// Takes a running-execution slot when the account has a limit (`MaxRunningExecutions`, else
/// `FNF_MAX_RUNNING_EXECUTIONS`); `RunningExecutionsLimit` (answered `ResourceThrottled`)
/// when all are taken. Answers whether a slot was taken.
async fn take_slot(svc: &Service, record: &ExecutionRecord) -> Result<bool, FnfError> {
    let account = svc.account_limits(svc.account()).await?;
    let own = account.and_then(|a| a.max_running_executions);
    let Some(limit) = svc.forks.running_limit(own) else {
        return Ok(false);
    };
    match svc
        .store_root()
        .acquire_slot(svc.account(), &record.slot_holder(), limit)
        .await
    {
        Ok(()) => Ok(true),
        Err(StoreError::ConditionFailed) => {
            tracing::info!(
                account = svc.account(),
                limit,
                "running-execution limit reached"
            );
            Err(FnfError::RunningExecutionsLimit(limit))
        }
        Err(e) => Err(e.into()),
    }
}

/// `CallbackFnFTaskToken` must name a task that waits for a result.
async fn check_callback_token(svc: &Service, token: &str) -> Result<(), FnfError> {
    if !engine::is_task_token(token) {
        return Err(FnfError::InvalidTaskToken(
            "CallbackFnFTaskToken is malformed".into(),
        ));
    }
    match svc.store.get_token(token).await? {
        None => Err(FnfError::InvalidTaskToken(
            "no task waits on CallbackFnFTaskToken".into(),
        )),
        Some(t) if t.result.is_some() => Err(FnfError::TaskAlreadyCompleted(
            "the task of CallbackFnFTaskToken already has its result".into(),
        )),
        Some(_) => Ok(()),
    }
}

/// Generated names follow the name rules (first character a letter) and never collide.
fn generated_name() -> String {
    format!("exec-{}", uuid::Uuid::new_v4().simple())
}

/// `Input`: a JSON object as text, `{}` when absent.
fn input(raw: Option<&str>) -> Result<String, FnfError> {
    match raw {
        None => Ok("{}".to_owned()),
        Some(raw) => params::json_object("Input", raw).map(|_| raw.to_owned()),
    }
}
