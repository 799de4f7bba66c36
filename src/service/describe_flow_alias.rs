//! DescribeFlowAlias: answers `{"Alias": {...}}`, as the SDK's model reads it.

use serde_json::Value;

use super::params;
use super::views::{self, Fields};
use super::{Service, qualifier};
use crate::api::Params;
use crate::error::FnfError;

pub async fn handle(svc: &Service, p: &Params) -> Result<Fields, FnfError> {
    let flow = params::name(p, "FlowName")?;
    let name = params::name(p, "Name")?;
    qualifier::existing_flow(svc, flow).await?;
    let alias = qualifier::alias(svc, flow, name).await?;
    let mut out = Fields::new();
    out.insert("Alias".into(), Value::Object(views::alias(&alias)));
    Ok(out)
}
