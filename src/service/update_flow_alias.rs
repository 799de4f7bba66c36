//! UpdateFlowAlias: new description and/or routes; conditional on the revision read, so two
//! concurrent updates never silently overwrite each other. Answers `{"Alias": {...}}`.

use serde_json::Value;

use super::params::{self, MAX_DESCRIPTION_BYTES};
use super::views::{self, Fields};
use super::{Service, qualifier};
use crate::api::Params;
use crate::error::FnfError;
use crate::store::StoreError;

/// Concurrent updates of one alias are retried this many times before giving up.
const ATTEMPTS: usize = 5;

pub async fn handle(svc: &Service, p: &Params) -> Result<Fields, FnfError> {
    let flow = params::name(p, "FlowName")?;
    let name = params::name(p, "Name")?;
    let description = params::text(p, "Description", MAX_DESCRIPTION_BYTES)?;
    let routes = params::routes(p, "RoutingConfigurations")?;
    qualifier::existing_flow(svc, flow).await?;
    for _ in 0..ATTEMPTS {
        let mut alias = qualifier::alias(svc, flow, name).await?;
        if let Some(d) = description {
            alias.description = d.to_owned();
        }
        if let Some(r) = &routes {
            qualifier::check_routes(svc, flow, r).await?;
            alias.routes = r.clone();
        }
        let expected = alias.revision;
        alias.revision += 1;
        alias.modified_ms = svc.clock.now_ms();
        match svc.store.replace_alias(&alias, expected).await {
            Ok(()) => {
                let mut out = Fields::new();
                out.insert("Alias".into(), Value::Object(views::alias(&alias)));
                return Ok(out);
            }
            Err(StoreError::ConditionFailed) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(FnfError::ResourceThrottled)
}
