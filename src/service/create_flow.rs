//! CreateFlow: validate the definition, then create the flow if its name is free.

use super::Service;
use super::params::{self, MAX_DESCRIPTION_BYTES, MAX_ROLE_ARN_BYTES};
use super::views::{self, Fields};
use crate::api::Params;
use crate::error::FnfError;
use crate::flow::{self, FlowType};
use crate::store::{FlowRecord, StoreError};

pub const STANDARD: &str = "Standard";
pub const EXPRESS: &str = "Express";

pub async fn handle(svc: &Service, p: &Params) -> Result<Fields, FnfError> {
    let name = params::name(p, "Name")?;
    let flow_type = flow_type(p.required("Type")?)?;
    let definition = definition(p.required("Definition")?, flow_type)?;
    let description = params::text(p, "Description", MAX_DESCRIPTION_BYTES)?.unwrap_or_default();
    let role_arn = params::text(p, "RoleArn", MAX_ROLE_ARN_BYTES)?.unwrap_or_default();
    let mode = match p.optional("ExecutionMode").unwrap_or(STANDARD) {
        m @ (STANDARD | EXPRESS) => m,
        other => {
            return Err(FnfError::invalid(
                "ExecutionMode",
                format!("must be Standard or Express, got {other:.32?}"),
            ));
        }
    };
    let now = svc.clock.now_ms();
    let record = FlowRecord {
        name: name.to_owned(),
        id: uuid::Uuid::new_v4().to_string(),
        definition: definition.to_owned(),
        description: description.to_owned(),
        flow_type: flow_type.as_api().to_owned(),
        role_arn: role_arn.to_owned(),
        execution_mode: mode.to_owned(),
        created_ms: now,
        modified_ms: now,
        revision: 1,
    };
    match svc.store.create_flow(&record).await {
        Ok(()) => Ok(views::flow(&record)),
        Err(StoreError::ConditionFailed) => Err(FnfError::FlowAlreadyExists(name.to_owned())),
        Err(e) => Err(e.into()),
    }
}

/// `Type`: `FDL` (the old language) or `DEFAULT` (CloudFlow).
pub fn flow_type(raw: &str) -> Result<FlowType, FnfError> {
    FlowType::from_api(raw)
        .ok_or_else(|| FnfError::invalid("Type", format!("must be FDL or DEFAULT, got {raw:.32?}")))
}

/// Checks a definition's size and validity; the message says where it is wrong.
pub fn definition(text: &str, flow_type: FlowType) -> Result<&str, FnfError> {
    if text.len() > flow::MAX_DEFINITION_BYTES {
        return Err(FnfError::EntityTooLarge(flow::MAX_DEFINITION_BYTES));
    }
    flow::parse(text, flow_type).map_err(|e| FnfError::invalid("Definition", e))?;
    Ok(text)
}
