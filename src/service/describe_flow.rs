//! DescribeFlow.

use super::Service;
use super::params;
use super::views::{self, Fields};
use crate::api::Params;
use crate::error::FnfError;

pub async fn handle(svc: &Service, p: &Params) -> Result<Fields, FnfError> {
    let name = params::name(p, "Name")?;
    match svc.store.get_flow(name).await? {
        Some(flow) => Ok(views::flow(&flow)),
        None => Err(FnfError::FlowNotExists(name.to_owned())),
    }
}
