//! ListFlows, by name, paginated.

use super::Service;
use super::params;
use super::views::{self, Fields};
use crate::api::Params;
use crate::error::FnfError;

pub const DEFAULT_LIMIT: usize = 60;
pub const MAX_LIMIT: usize = 1000;

pub async fn handle(svc: &Service, p: &Params) -> Result<Fields, FnfError> {
    let limit = params::limit(p, DEFAULT_LIMIT, MAX_LIMIT)?;
    let after = params::next_token(p)?;
    let page = svc.store.list_flows(limit, after.as_deref()).await?;
    Ok(views::page("Flows", &page, views::flow))
}
