//! DeleteFlowAlias. The versions it routed to become deletable again.

use super::params;
use super::views::Fields;
use super::{Service, qualifier};
use crate::api::Params;
use crate::error::FnfError;

pub async fn handle(svc: &Service, p: &Params) -> Result<Fields, FnfError> {
    let flow = params::name(p, "FlowName")?;
    let name = params::name(p, "Name")?;
    qualifier::existing_flow(svc, flow).await?;
    if svc.store.delete_alias(flow, name).await? {
        Ok(Fields::new())
    } else {
        Err(FnfError::FlowAliasNotExists {
            flow: flow.to_owned(),
            alias: name.to_owned(),
        })
    }
}
