//! What versions and aliases share: the flow they belong to, the versions an alias routes
//! to, and StartExecution's `Qualifier` (a version number or an alias name).

use super::Service;
use super::params;
use crate::error::FnfError;
use crate::store::{AliasRecord, FlowRecord, Route, VersionRecord};

pub async fn existing_flow(svc: &Service, flow: &str) -> Result<FlowRecord, FnfError> {
    svc.store
        .get_flow(flow)
        .await?
        .ok_or_else(|| FnfError::FlowNotExists(flow.to_owned()))
}

pub async fn version(svc: &Service, flow: &str, version: u64) -> Result<VersionRecord, FnfError> {
    svc.store
        .get_version(flow, version)
        .await?
        .ok_or_else(|| FnfError::FlowVersionNotExists {
            flow: flow.to_owned(),
            version: version.to_string(),
        })
}

pub async fn alias(svc: &Service, flow: &str, name: &str) -> Result<AliasRecord, FnfError> {
    svc.store
        .get_alias(flow, name)
        .await?
        .ok_or_else(|| FnfError::FlowAliasNotExists {
            flow: flow.to_owned(),
            alias: name.to_owned(),
        })
}

/// Every version the routes name must exist.
pub async fn check_routes(svc: &Service, flow: &str, routes: &[Route]) -> Result<(), FnfError> {
    for route in routes {
        version(svc, flow, route.version).await?;
    }
    Ok(())
}

/// The version `qualifier` names for execution `execution`: a number is that version; an
/// alias name picks one of its routes by a stable hash of the execution name, so a retried
/// start of the same name resolves the same version.
pub async fn resolve(
    svc: &Service,
    flow: &str,
    qualifier: &str,
    execution: &str,
) -> Result<VersionRecord, FnfError> {
    if qualifier.starts_with(|c: char| c.is_ascii_digit()) {
        let number = params::parse_version("Qualifier", qualifier)?;
        return version(svc, flow, number).await;
    }
    params::check_name("Qualifier", qualifier)?;
    let alias = alias(svc, flow, qualifier).await?;
    let number = alias.pick(execution).ok_or(FnfError::Internal)?;
    version(svc, flow, number).await
}
