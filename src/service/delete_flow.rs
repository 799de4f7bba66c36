//! DeleteFlow. Executions already started keep their own copy of the definition, so they stay
//! describable after their flow is gone.

use super::Service;
use super::params;
use super::views::Fields;
use crate::api::Params;
use crate::error::FnfError;

pub async fn handle(svc: &Service, p: &Params) -> Result<Fields, FnfError> {
    let name = params::name(p, "Name")?;
    svc.forget_flow(name);
    if svc.store.delete_flow(name).await? {
        Ok(Fields::new())
    } else {
        Err(FnfError::FlowNotExists(name.to_owned()))
    }
}
