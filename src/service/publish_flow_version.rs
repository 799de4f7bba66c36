//! PublishFlowVersion: freeze the flow's current definition as its next version number.

use super::Service;
use super::params::{self, MAX_DESCRIPTION_BYTES};
use super::views::{self, Fields};
use crate::api::Params;
use crate::error::FnfError;

pub async fn handle(svc: &Service, p: &Params) -> Result<Fields, FnfError> {
    let flow = params::name(p, "FlowName")?;
    let description = params::text(p, "Description", MAX_DESCRIPTION_BYTES)?.unwrap_or_default();
    let now = svc.clock.now_ms();
    let version = svc
        .store
        .publish_version(flow, description, now)
        .await?
        .ok_or_else(|| FnfError::FlowNotExists(flow.to_owned()))?;
    tracing::info!(flow, version = version.version, "version published");
    let mut out = views::version(&version);
    out.insert("FlowName".into(), flow.into());
    Ok(out)
}
