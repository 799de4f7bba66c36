//! ReportTaskSucceeded / ReportTaskFailed: a callback task's result, reported with its token
//! (api.md; Alibaba's pages for both actions). The result is recorded once; the execution
//! waiting on it carries on in a continuation.

use super::Service;
use super::params;
use super::views::Fields;
use crate::api::Params;
use crate::engine::TaskResult;
use crate::error::FnfError;

/// Longest Error / Cause kept, in bytes (as StopExecution).
const MAX_ERROR_BYTES: usize = 128;
const MAX_CAUSE_BYTES: usize = 32 * 1024;
/// Longest token read; real ones are 53 characters.
const MAX_TOKEN_BYTES: usize = 256;

pub async fn succeeded(svc: &Service, p: &Params) -> Result<Fields, FnfError> {
    let token = token(p)?;
    let raw = p.required("Output")?;
    // A task's output is a JSON object, as every state's data is.
    let output = params::json_object("Output", raw)?;
    svc.report_task(token, TaskResult::Succeeded(output))
        .await?;
    Ok(Fields::new())
}

pub async fn failed(svc: &Service, p: &Params) -> Result<Fields, FnfError> {
    let token = token(p)?;
    // Required, as the API reference says: a failure without a name matches no Catch.
    let error = params::text(p, "Error", MAX_ERROR_BYTES)?
        .ok_or_else(|| FnfError::MissingRequiredParams("Error".into()))?;
    let cause = params::text(p, "Cause", MAX_CAUSE_BYTES)?.unwrap_or_default();
    let result = TaskResult::Failed {
        error: error.to_owned(),
        cause: cause.to_owned(),
    };
    svc.report_task(token, result).await?;
    Ok(Fields::new())
}

fn token(p: &Params) -> Result<&str, FnfError> {
    let token = p.required("TaskToken")?;
    if token.len() > MAX_TOKEN_BYTES {
        return Err(FnfError::InvalidTaskToken("the token is malformed".into()));
    }
    Ok(token)
}
