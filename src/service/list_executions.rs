//! ListExecutions of one flow, by name, paginated, filtered by status, name prefix and start
//! time. Entries carry metadata only (as with the SDK's `MetadataOnly`); DescribeExecution
//! gives input, output and definition.

use super::Service;
use super::params;
use super::views::{self, Fields};
use crate::api::Params;
use crate::error::FnfError;
use crate::store::{ExecutionFilter, ExecutionStatus};

pub const DEFAULT_LIMIT: usize = 60;
pub const MAX_LIMIT: usize = 100;

pub async fn handle(svc: &Service, p: &Params) -> Result<Fields, FnfError> {
    let flow = params::name(p, "FlowName")?;
    let limit = params::limit(p, DEFAULT_LIMIT, MAX_LIMIT)?;
    let after = params::next_token(p)?;
    let status = p
        .optional("Status")
        .map(|s| {
            ExecutionStatus::parse(s).ok_or_else(|| {
                FnfError::invalid("Status", format!("must be one of Starting, Running, Stopped, Succeeded, Failed, TimedOut, got {s:.32?}"))
            })
        })
        .transpose()?;
    let name_prefix = params::text(p, "ExecutionNamePrefix", params::MAX_NAME_CHARS)?;
    let filter = ExecutionFilter {
        status,
        name_prefix: name_prefix.map(str::to_owned),
        started_from_ms: params::time(p, "StartedTimeBegin")?,
        started_to_ms: params::time(p, "StartedTimeEnd")?,
    };
    params::unsupported(p, "Qualifier")?;
    if svc.store.get_flow(flow).await?.is_none() {
        return Err(FnfError::FlowNotExists(flow.to_owned()));
    }
    let page = svc
        .store
        .list_executions(flow, &filter, limit, after.as_deref())
        .await?;
    Ok(views::page("Executions", &page, views::execution))
}
