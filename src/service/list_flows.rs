//! ListFlows, by name, paginated.

use serde_json::Value;

use super::Service;
use super::params;
use super::views::{self, Fields};
use crate::api::Params;
use crate::error::FnfError;

pub const DEFAULT_LIMIT: usize = 60;
pub const MAX_LIMIT: usize = 1000;

pub async fn handle(svc: &Service, p: &Params) -> Result<Fields, FnfError> {
    let limit = params::limit(p, DEFAULT_LIMIT, MAX_LIMIT)?;
    let after = params::next_token(p)?;
    let page = svc.store.list_flows(limit, after.as_deref()).await?;
    let mut out = Fields::new();
    let flows = page
        .items
        .iter()
        .map(|f| Value::Object(views::flow(f)))
        .collect();
    out.insert("Flows".into(), Value::Array(flows));
    if let Some(after) = page.next_after {
        out.insert(
            "NextToken".into(),
            Value::String(params::encode_token(&after)),
        );
    }
    Ok(out)
}
