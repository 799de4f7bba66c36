//! DeleteFlowVersion (`FlowName`, `FlowVersion`: the SDK's name, since `Version` is the API
//! version). A version an alias routes to is refused, checked in the delete's own write.

use super::params;
use super::views::Fields;
use super::{Service, qualifier};
use crate::api::Params;
use crate::error::FnfError;
use crate::store::StoreError;

pub async fn handle(svc: &Service, p: &Params) -> Result<Fields, FnfError> {
    let flow = params::name(p, "FlowName")?;
    let raw = p.required("FlowVersion")?;
    let version = params::parse_version("FlowVersion", raw)?;
    qualifier::existing_flow(svc, flow).await?;
    match svc.store.delete_version(flow, version).await {
        Ok(true) => Ok(Fields::new()),
        Ok(false) => Err(FnfError::FlowVersionNotExists {
            flow: flow.to_owned(),
            version: version.to_string(),
        }),
        Err(StoreError::ConditionFailed) => Err(FnfError::FlowVersionInUse {
            flow: flow.to_owned(),
            version: version.to_string(),
            alias: routing_alias(svc, flow, version).await?,
        }),
        Err(e) => Err(e.into()),
    }
}

/// The name of an alias that routes to `version`, for the message.
async fn routing_alias(svc: &Service, flow: &str, version: u64) -> Result<String, FnfError> {
    let mut after: Option<String> = None;
    loop {
        let page = svc.store.list_aliases(flow, 100, after.as_deref()).await?;
        if let Some(a) = page.items.iter().find(|a| a.routes_to(version)) {
            return Ok(a.name.clone());
        }
        match page.next_after {
            Some(next) => after = Some(next),
            // Moved away since the delete was refused: say so without a name.
            None => return Ok("(one that has since changed)".to_owned()),
        }
    }
}
