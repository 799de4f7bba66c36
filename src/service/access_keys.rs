//! Access keys (our actions, in the API's style): CreateAccessKey, ListAccessKeys,
//! UpdateAccessKey, DeleteAccessKey. A key belongs to one account and carries a policy. The
//! operator (the default account) manages every account's keys; another account only its own,
//! and only as its key's policy allows (checked at the gate, like every action).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use super::Service;
use super::accounts::{account_param, check_account_exists};
use super::params::{self, MAX_DESCRIPTION_BYTES};
use super::truncate;
use super::views::{self, Fields};
use crate::api::Params;
use crate::auth::policy::Policy;
use crate::error::FnfError;
use crate::store::{AccessKeyRecord, StoreError};

const DEFAULT_LIMIT: usize = 60;
const MAX_LIMIT: usize = 100;

pub async fn create(svc: &Service, p: &Params) -> Result<Fields, FnfError> {
    let account = account_param(svc, p)?;
    check_account_exists(svc, &account).await?;
    let policy = match p.optional("Policy") {
        Some(text) => Policy::parse(text).map_err(|e| FnfError::invalid("Policy", e))?,
        None => Policy::full_access(),
    };
    let description = params::text(p, "Description", MAX_DESCRIPTION_BYTES)?.unwrap_or("");
    let key = AccessKeyRecord {
        id: new_key_id(),
        secret: new_secret(),
        account,
        policy: policy.to_json(),
        description: description.to_owned(),
        created_ms: svc.clock.now_ms(),
        disabled: false,
    };
    // 80 random bits: a collision is not a case to handle but to refuse.
    svc.store_root()
        .create_key(&key)
        .await
        .map_err(|e| match e {
            StoreError::ConditionFailed => FnfError::Internal,
            other => other.into(),
        })?;
    tracing::info!(key = %key.id, account = %key.account, "access key created");
    let mut fields = views::access_key(&key);
    // The only answer that ever carries the secret.
    fields.insert("AccessKeySecret".into(), Value::String(key.secret.clone()));
    Ok(fields)
}

pub async fn list(svc: &Service, p: &Params) -> Result<Fields, FnfError> {
    let account = account_param(svc, p)?;
    let limit = params::limit(p, DEFAULT_LIMIT, MAX_LIMIT)?;
    // Key ids are ours (`FNF...`) or the operator's from the environment: any text up to 128
    // bytes (src/entry/access.rs), not flow names.
    let after = params::next_token_of(p, |k| !k.is_empty() && k.len() <= 128)?;
    let page = svc
        .store_root()
        .list_keys(&account, limit, after.as_deref())
        .await?;
    Ok(views::page("AccessKeys", &page, views::access_key))
}

pub async fn update(svc: &Service, p: &Params) -> Result<Fields, FnfError> {
    let mut key = own_key(svc, p).await?;
    if let Some(text) = p.optional("Policy") {
        let policy = Policy::parse(text).map_err(|e| FnfError::invalid("Policy", e))?;
        key.policy = policy.to_json();
    }
    if let Some(d) = params::text(p, "Description", MAX_DESCRIPTION_BYTES)? {
        key.description = d.to_owned();
    }
    match p.optional("Status") {
        None => {}
        Some("Active") => key.disabled = false,
        Some("Inactive") => key.disabled = true,
        Some(other) => {
            return Err(FnfError::invalid(
                "Status",
                format!("must be Active or Inactive, got {other:.32?}"),
            ));
        }
    }
    match svc.store_root().replace_key(&key).await {
        Ok(()) => Ok(views::access_key(&key)),
        Err(StoreError::ConditionFailed) => Err(not_found(&key.id)),
        Err(e) => Err(e.into()),
    }
}

pub async fn delete(svc: &Service, p: &Params) -> Result<Fields, FnfError> {
    let key = own_key(svc, p).await?;
    svc.store_root().delete_key(&key.id).await?;
    tracing::info!(key = %key.id, account = %key.account, "access key deleted");
    Ok(Fields::new())
}

/// The key `AccessKeyId` names, if the caller may manage it; another account's key is as
/// unknown as a missing one.
async fn own_key(svc: &Service, p: &Params) -> Result<AccessKeyRecord, FnfError> {
    let id = p.required("AccessKeyId")?;
    let key = svc.store_root().get_key(id).await?;
    let caller = svc.caller();
    match key {
        Some(k) if caller.is_operator() || k.account == caller.account => Ok(k),
        _ => Err(not_found(id)),
    }
}

fn not_found(id: &str) -> FnfError {
    FnfError::InvalidAccessKeyId(truncate(id, 64))
}

/// `FNF` and 21 upper-case hex digits of a v4 UUID (80 random bits).
fn new_key_id() -> String {
    let hex = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
    format!("FNF{}", &hex[..21])
}

/// 43 characters of URL-safe base64 over two v4 UUIDs (244 random bits).
fn new_secret() -> String {
    let mut bytes = Vec::with_capacity(32);
    bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}
