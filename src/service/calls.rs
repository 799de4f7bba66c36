//! Making one task call: the integration its resource names, or a child execution started
//! through the same code path as StartExecution.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::Service;
use super::callbacks::started_child;
use super::start_execution::{StartRequest, start};
use crate::auth::policy::Policy;
use crate::engine::{TaskMode, TaskRequest, TaskResult};
use crate::error::FnfError;
use crate::store::ExecutionRecord;
use crate::tasks::{self, FDL_FLOW_PREFIX, Target};

/// Error names of the nested-flow task (our choice, in the `FnF.` family of the engine's).
pub const CHILD_START_FAILED: &str = "FnF.StartExecutionFailed";
pub const CHILD_INVALID: &str = "FnF.InvalidArgument";
/// A task whose integration this deployment has not set up (e.g. no Lambda client).
pub const NOT_CONFIGURED: &str = "FnF.TaskNotConfigured";
/// A policy that allows nothing: a revoked starter's.
const NO_ACCESS: &str = r#"{"Version": "1", "Statement": []}"#;
/// Child executions started inside their parent's invocation, at most this deep; deeper ones
/// are handed to a continuation at once (a flow that starts itself cannot recurse unbounded).
const MAX_INLINE_DEPTH: u8 = 4;

impl Service {
    /// Makes the call `req` of an execution at `depth` asks for; every failure is a named
    /// task error.
    pub(super) async fn call_task(&self, req: &TaskRequest, depth: u32) -> TaskResult {
        let integration = match tasks::target(&req.resource) {
            Some(Target::Http) => (self.integrations.http.as_ref(), "HTTP tasks"),
            Some(Target::Function) => (
                self.integrations.function.as_ref(),
                "function tasks need AWS Lambda",
            ),
            Some(Target::Flow) => return self.start_child(req, depth + 1).await,
            // The driver runs test tasks itself; validation refuses anything else.
            Some(Target::Test) | None => {
                return failed(
                    NOT_CONFIGURED,
                    format!(
                        "resource {:.128} is not a task this service runs",
                        req.resource
                    ),
                );
            }
        };
        match integration {
            (Some(i), _) => i.call(req).await,
            (None, what) => failed(
                NOT_CONFIGURED,
                format!("{what}: this deployment has not set them up (see README)"),
            ),
        }
    }

    /// Starts a child execution at `depth`. Fire-and-forget (`RequestComplete`) answers who
    /// was started; the callback modes are answered through the task token the child reports
    /// to.
    fn start_child<'a>(
        &'a self,
        req: &'a TaskRequest,
        depth: u32,
    ) -> Pin<Box<dyn Future<Output = TaskResult> + Send + 'a>> {
        // Boxed: a child's run may start children of its own.
        Box::pin(async move {
            let start_req = match child_request(req, depth) {
                Ok(r) => r,
                Err(cause) => return failed(CHILD_INVALID, cause),
            };
            // A child runs with the permissions of whoever started the execution.
            let policy = match self.starter_policy().await {
                Ok(policy) => policy,
                Err(e) => return failed(CHILD_START_FAILED, format!("{}: {e}", e.code())),
            };
            if !policy.allows("StartExecution", Some(&start_req.flow), &self.account) {
                let denied = FnfError::AccessDenied(format!(
                    "The access key {} that started this execution may not start flow {}.",
                    self.starter.as_deref().unwrap_or("-"),
                    start_req.flow
                ));
                return failed(CHILD_START_FAILED, format!("{}: {denied}", denied.code()));
            }
            let child = self.nested();
            let derived_name = start_req.name == child_name(&req.idempotency_key);
            match start(&child, start_req).await {
                Ok(exec) if req.mode == TaskMode::RequestComplete => {
                    TaskResult::Succeeded(started_child(&exec))
                }
                Ok(_) => TaskResult::Succeeded(Value::Object(Default::default())),
                // The child ran before (this call is a repeat): it has reported already, or
                // (it ended in the call that timed out) its result waits on the token.
                Err(
                    FnfError::ExecutionAlreadyExists { .. } | FnfError::TaskAlreadyCompleted(_),
                ) if req.mode != TaskMode::RequestComplete => {
                    TaskResult::Succeeded(Value::Object(Default::default()))
                }
                // A derived name is this very call's child: the call is made again (its
                // invocation ran out before the answer was stored) and the child has ended.
                Err(FnfError::ExecutionAlreadyExists { flow, execution }) if derived_name => {
                    match self.store.view_execution(&flow, &execution).await {
                        Ok(Some(exec)) => TaskResult::Succeeded(started_child(&exec)),
                        Ok(None) => failed(CHILD_START_FAILED, "the child execution is gone"),
                        Err(e) => {
                            let e = FnfError::from(e);
                            failed(CHILD_START_FAILED, format!("{}: {e}", e.code()))
                        }
                    }
                }
                Err(e @ FnfError::RunningExecutionsLimit(_)) => {
                    failed(super::forks::RUNNING_LIMIT_EXCEEDED, e.to_string())
                }
                Err(e) => failed(CHILD_START_FAILED, format!("{}: {e}", e.code())),
            }
        })
    }

    /// The policy of the access key whose permissions executions driven here carry: the
    /// caller's own in a request; in a continuation (which acts for the account) the starter's
    /// key, read when a child is about to start, so that a continuation that starts none reads
    /// nothing. A key since deleted, disabled or moved may start nothing more; an execution the
    /// operator started keeps full access.
    async fn starter_policy(&self) -> Result<Arc<Policy>, FnfError> {
        let Some(key_id) = self
            .starter
            .as_ref()
            .filter(|k| self.caller.key.as_ref() != Some(*k))
        else {
            return Ok(self.caller.policy.clone());
        };
        let key = self.root.get_key(key_id).await?;
        let policy = key
            .filter(|k| !k.disabled && k.account == self.account)
            .and_then(|k| Policy::parse(&k.policy).ok())
            .unwrap_or_else(|| Policy::parse(NO_ACCESS).expect("an empty policy is valid"));
        Ok(Arc::new(policy))
    }

    /// This service driving `exec`: its executions carry the permissions of `exec`'s starter.
    pub(super) fn driving(&self, exec: &ExecutionRecord) -> Service {
        let mut svc = self.clone();
        svc.starter = exec.started_by.clone();
        svc
    }

    /// This service for a child started inside its parent's invocation: one level deeper,
    /// and past the inline depth, with no time of its own (it parks and continues apart).
    fn nested(&self) -> Service {
        let mut child = self.clone();
        child.inline_depth = self.inline_depth.saturating_add(1);
        if child.inline_depth > MAX_INLINE_DEPTH {
            child.budgets.response_ms = 0;
        }
        child
    }
}

fn failed(error: &str, cause: impl Into<String>) -> TaskResult {
    TaskResult::Failed {
        error: error.into(),
        cause: cause.into(),
    }
}

/// The StartExecution of a nested-flow task. CloudFlow `FNF:StartExecution` takes `FlowName`,
/// optional `ExecutionName`, `Input` (object or JSON text) and `Qualifier`; FDL
/// `acs:fnf:::flow/<name>` passes the step's input. Without a name, the child's name derives
/// from the task's idempotency key, so a repeated call finds the same child.
fn child_request(req: &TaskRequest, depth: u32) -> Result<StartRequest, String> {
    let params = req.parameters.as_object();
    let text = |key: &str| -> Result<Option<String>, String> {
        match params.and_then(|p| p.get(key)) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(format!("{key} must be a string, found {other}")),
        }
    };
    let (flow, name, input, qualifier) = match req.resource.strip_prefix(FDL_FLOW_PREFIX) {
        Some(flow) => (
            flow.to_owned(),
            None,
            Some(req.parameters.to_string()),
            None,
        ),
        None => {
            let flow = text("FlowName")?.ok_or("FNF:StartExecution needs FlowName")?;
            let input = match params.and_then(|p| p.get("Input")) {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(v) => Some(v.to_string()),
            };
            (flow, text("ExecutionName")?, input, text("Qualifier")?)
        }
    };
    let name = name.unwrap_or_else(|| child_name(&req.idempotency_key));
    let callback_token = match req.mode {
        TaskMode::WaitForSystemCallback => req.task_token.clone(),
        _ => None,
    };
    Ok(StartRequest {
        flow,
        name,
        input,
        qualifier,
        callback_token,
        depth,
    })
}

/// `child-` and 32 hex digits of the key's digest: a valid, stable, collision-free name.
fn child_name(idempotency_key: &str) -> String {
    let digest = Sha256::digest(idempotency_key.as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("child-{hex}")
}
