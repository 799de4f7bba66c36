//! ListFlowVersions: a flow's versions in ascending order, paginated.

use super::params;
use super::views::{self, Fields};
use super::{Service, qualifier};
use crate::api::Params;
use crate::error::FnfError;

pub const DEFAULT_LIMIT: usize = 60;
pub const MAX_LIMIT: usize = 100;

pub async fn handle(svc: &Service, p: &Params) -> Result<Fields, FnfError> {
    let flow = params::name(p, "FlowName")?;
    let limit = params::limit(p, DEFAULT_LIMIT, MAX_LIMIT)?;
    let after = params::next_version_token(p)?;
    qualifier::existing_flow(svc, flow).await?;
    let page = svc.store.list_versions(flow, limit, after).await?;
    Ok(views::page("FlowVersions", &page, views::version))
}
