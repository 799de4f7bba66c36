//! DescribeExecution.

use super::Service;
use super::params;
use super::views::{self, Fields};
use crate::api::Params;
use crate::error::FnfError;

pub async fn handle(svc: &Service, p: &Params) -> Result<Fields, FnfError> {
    let flow = params::name(p, "FlowName")?;
    let name = params::name(p, "ExecutionName")?;
    // Long polling (WaitTimeSeconds) comes with continuations; refused, not ignored, until then.
    params::unsupported(p, "WaitTimeSeconds")?;
    match svc.store.get_execution(flow, name).await? {
        Some(exec) => Ok(views::execution(&exec)),
        None => Err(FnfError::ExecutionNotExists {
            flow: flow.to_owned(),
            execution: name.to_owned(),
        }),
    }
}
