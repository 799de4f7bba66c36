//! DeleteFlow. Executions already started keep their own copy of the definition, so they stay
//! describable after their flow is gone.

use super::Service;
use super::params;
use super::views::Fields;
use crate::api::Params;
use crate::error::FnfError;

pub async fn handle(svc: &Service, p: &Params) -> Result<Fields, FnfError> {
    let name = params::name(p, "Name")?;
    let deleted = svc.store.delete_flow(name).await;
    // After the delete: a StartExecution meanwhile may have cached the flow again.
    svc.forget_flow(name);
    if deleted? {
        Ok(Fields::new())
    } else {
        Err(FnfError::FlowNotExists(name.to_owned()))
    }
}
