//! How callers get in, from the environment: the authentication mode, the default request
//! rate, and the operator's first access key.

use std::sync::Arc;

use crate::api::auth::{AuthMode, Gate};
use crate::auth::policy::Policy;
use crate::store::scoped::DEFAULT_ACCOUNT;
use crate::store::{AccessKeyRecord, Store, StoreError};

/// Requests per second per account when `FNF_REQUESTS_PER_SECOND` is unset and
/// authentication is on (0 means no limit).
pub const DEFAULT_REQUESTS_PER_SECOND: u32 = 100;

/// `FNF_AUTH` (default `default_mode`) and `FNF_REQUESTS_PER_SECOND` (default 100 with
/// signatures, no limit without).
pub fn gate_from_env(default_mode: AuthMode) -> Result<Gate, String> {
    let mode = AuthMode::from_env(default_mode)?;
    let rate = match std::env::var("FNF_REQUESTS_PER_SECOND") {
        Ok(raw) if !raw.trim().is_empty() => raw
            .trim()
            .parse()
            .map_err(|_| format!("FNF_REQUESTS_PER_SECOND={raw:?}: expected a whole number"))?,
        _ if mode == AuthMode::Signature => DEFAULT_REQUESTS_PER_SECOND,
        _ => 0,
    };
    Ok(Gate::new(mode, rate))
}

/// Makes sure the operator's key from `FNF_ADMIN_ACCESS_KEY_ID` and
/// `FNF_ADMIN_ACCESS_KEY_SECRET` exists (full access, default account), with that secret:
/// the environment is the truth for this one key, so rotating it is changing the variables.
pub async fn bootstrap_admin_key(store: &Arc<dyn Store>, now_ms: i64) -> Result<(), String> {
    let id = std::env::var("FNF_ADMIN_ACCESS_KEY_ID").unwrap_or_default();
    let secret = std::env::var("FNF_ADMIN_ACCESS_KEY_SECRET").unwrap_or_default();
    let (id, secret) = (id.trim(), secret.trim());
    match (id.is_empty(), secret.is_empty()) {
        (true, true) => return Ok(()),
        (false, false) => {}
        _ => {
            return Err(
                "set both FNF_ADMIN_ACCESS_KEY_ID and FNF_ADMIN_ACCESS_KEY_SECRET, or neither"
                    .into(),
            );
        }
    }
    if id.len() > 128 || secret.len() < 16 {
        return Err(
            "the admin key id must be at most 128 characters and its secret at least 16".into(),
        );
    }
    let key = AccessKeyRecord {
        id: id.to_owned(),
        secret: secret.to_owned(),
        account: DEFAULT_ACCOUNT.to_owned(),
        policy: Policy::full_access().to_json(),
        description: "the operator's key, from FNF_ADMIN_ACCESS_KEY_ID".into(),
        created_ms: now_ms,
        disabled: false,
    };
    let failed = |e: StoreError| format!("cannot store the admin key: {e}");
    match store.get_key(id).await.map_err(failed)? {
        None => match store.create_key(&key).await {
            Ok(()) | Err(StoreError::ConditionFailed) => {}
            Err(e) => return Err(failed(e)),
        },
        Some(stored) => {
            // The key keeps when it was first made; anything else follows the environment.
            let key = AccessKeyRecord {
                created_ms: stored.created_ms,
                ..key
            };
            if key != stored {
                store.replace_key(&key).await.map_err(failed)?;
            }
        }
    }
    tracing::info!(key = %id, "the operator's access key is ready");
    Ok(())
}
