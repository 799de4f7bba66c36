//! UpdateFlow: change definition, description, type or role; conditional on the revision read,
//! so two concurrent updates never silently overwrite each other.

use super::Service;
use super::create_flow::{definition, flow_type};
use super::params::{self, MAX_DESCRIPTION_BYTES, MAX_ROLE_ARN_BYTES};
use super::views::{self, Fields};
use crate::api::Params;
use crate::error::FnfError;
use crate::flow::FlowType;
use crate::store::StoreError;

/// Concurrent updates of one flow are retried this many times before giving up.
const ATTEMPTS: usize = 5;

pub async fn handle(svc: &Service, p: &Params) -> Result<Fields, FnfError> {
    let name = params::name(p, "Name")?;
    let new_type = p.optional("Type").map(flow_type).transpose()?;
    let new_definition = p.optional("Definition");
    let description = params::text(p, "Description", MAX_DESCRIPTION_BYTES)?;
    let role_arn = params::text(p, "RoleArn", MAX_ROLE_ARN_BYTES)?;
    for _ in 0..ATTEMPTS {
        let mut flow = svc
            .store
            .get_flow(name)
            .await?
            .ok_or_else(|| FnfError::FlowNotExists(name.to_owned()))?;
        let current_type = FlowType::from_api(&flow.flow_type).unwrap_or(FlowType::CloudFlow);
        let kind = new_type.unwrap_or(current_type);
        // A new type alone re-validates the stored definition in the new language.
        if new_definition.is_some() || kind != current_type {
            flow.definition =
                definition(new_definition.unwrap_or(&flow.definition), kind)?.to_owned();
            flow.flow_type = kind.as_api().to_owned();
        }
        if let Some(d) = description {
            flow.description = d.to_owned();
        }
        if let Some(r) = role_arn {
            flow.role_arn = r.to_owned();
        }
        let expected = flow.revision;
        flow.revision += 1;
        flow.modified_ms = svc.clock.now_ms();
        match svc.store.replace_flow(&flow, expected).await {
            Ok(()) => {
                svc.forget_flow(name);
                return Ok(views::flow(&flow));
            }
            Err(StoreError::ConditionFailed) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(FnfError::ResourceThrottled)
}
