//! CreateFlowAlias: a name for one version, or a weighted split between two.

use super::params::{self, MAX_DESCRIPTION_BYTES};
use super::views::{self, Fields};
use super::{Service, qualifier};
use crate::api::Params;
use crate::error::FnfError;
use crate::store::{AliasRecord, StoreError};

pub async fn handle(svc: &Service, p: &Params) -> Result<Fields, FnfError> {
    let flow = params::name(p, "FlowName")?;
    let name = params::name(p, "Name")?;
    let description = params::text(p, "Description", MAX_DESCRIPTION_BYTES)?.unwrap_or_default();
    let routes = params::routes(p, "RoutingConfigurations")?
        .ok_or_else(|| FnfError::MissingRequiredParams("RoutingConfigurations".into()))?;
    qualifier::existing_flow(svc, flow).await?;
    qualifier::check_routes(svc, flow, &routes).await?;
    let now = svc.clock.now_ms();
    let alias = AliasRecord {
        flow: flow.to_owned(),
        name: name.to_owned(),
        description: description.to_owned(),
        routes,
        created_ms: now,
        modified_ms: now,
        revision: 1,
    };
    match svc.store.create_alias(&alias).await {
        Ok(()) => {}
        Err(StoreError::ConditionFailed) => {
            if svc.store.get_alias(flow, name).await?.is_some() {
                return Err(FnfError::FlowAliasAlreadyExists {
                    flow: flow.to_owned(),
                    alias: name.to_owned(),
                });
            }
            // Otherwise a version was deleted since it was checked: say which.
            qualifier::check_routes(svc, flow, &alias.routes).await?;
            return Err(FnfError::ResourceThrottled);
        }
        Err(e) => return Err(e.into()),
    }
    let mut out = views::alias(&alias);
    out.insert("FlowName".into(), flow.into());
    Ok(out)
}
