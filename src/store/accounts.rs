//! Accounts, their access keys and the nonces of signed requests (request authentication):
//! records and the part of the storage port that keeps them.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{Page, StoreError};

/// An account: what access keys belong to, and what its limits hang on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRecord {
    pub id: String,
    pub description: String,
    pub created_ms: i64,
    /// Requests per second this account may make (None = the deployment default).
    #[serde(default)]
    pub requests_per_second: Option<u32>,
    /// Executions this account may have running at once (None = the deployment default).
    #[serde(default)]
    pub max_running_executions: Option<u32>,
    /// States one execution may enter (None = the deployment's cap, 0 = none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_execution_transitions: Option<u64>,
    /// History bytes one execution may store (None = the deployment's cap, 0 = none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_history_bytes: Option<u64>,
}

/// An access key: the id a request names, the secret it is signed with, and its account.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessKeyRecord {
    pub id: String,
    /// The signing secret; empty in listings, never printed.
    pub secret: String,
    pub account: String,
    /// The key's policy, JSON text (validated by the caller, stored as given).
    pub policy: String,
    pub description: String,
    pub created_ms: i64,
    #[serde(default)]
    pub disabled: bool,
}

/// Everything but the secret: records end up in logs.
impl std::fmt::Debug for AccessKeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKeyRecord")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .field("account", &self.account)
            .field("policy", &self.policy)
            .field("description", &self.description)
            .field("created_ms", &self.created_ms)
            .field("disabled", &self.disabled)
            .finish()
    }
}

#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Creates an account; `ConditionFailed` if the account exists.
    async fn create_account(&self, a: &AccountRecord) -> Result<(), StoreError>;
    async fn get_account(&self, id: &str) -> Result<Option<AccountRecord>, StoreError>;
    /// Replaces an existing account (`ConditionFailed` if missing).
    async fn replace_account(&self, a: &AccountRecord) -> Result<(), StoreError>;
    /// Lists accounts by id, ascending, after `after` (exclusive).
    async fn list_accounts(
        &self,
        limit: usize,
        after: Option<&str>,
    ) -> Result<Page<AccountRecord>, StoreError>;

    /// Creates a key; `ConditionFailed` if a key with that id exists.
    async fn create_key(&self, k: &AccessKeyRecord) -> Result<(), StoreError>;
    async fn get_key(&self, id: &str) -> Result<Option<AccessKeyRecord>, StoreError>;
    /// Replaces an existing key's policy, description and disabled flag (its secret, account
    /// and creation time stay as stored); `ConditionFailed` if missing.
    async fn replace_key(&self, k: &AccessKeyRecord) -> Result<(), StoreError>;
    /// Deletes a key; `false` if there was none.
    async fn delete_key(&self, id: &str) -> Result<bool, StoreError>;
    /// One account's keys by id, ascending, after `after` (exclusive); the listing never
    /// carries secrets (secret = "").
    async fn list_keys(
        &self,
        account: &str,
        limit: usize,
        after: Option<&str>,
    ) -> Result<Page<AccessKeyRecord>, StoreError>;

    /// Records that `nonce` was used with `key_id`, until `expires_ms`. `ConditionFailed` if
    /// the same pair was recorded before and has not expired at `now_ms` (a replay: a record
    /// lives while `now_ms < expires_ms`); an expired record may be overwritten. One
    /// conditional write.
    async fn use_nonce(
        &self,
        key_id: &str,
        nonce: &str,
        now_ms: i64,
        expires_ms: i64,
    ) -> Result<(), StoreError>;

    /// Takes a slot for `holder` (a running execution, e.g. "flow/name") among `account`'s at
    /// most `limit` slots. Idempotent: a holder that has a slot keeps it and gets Ok (whatever
    /// `limit` is now). `ConditionFailed` when `limit` slots are held by others. One
    /// conditional write.
    async fn acquire_slot(&self, account: &str, holder: &str, limit: u32)
    -> Result<(), StoreError>;
    /// Gives the holder's slot back; idempotent (Ok if it had none).
    async fn release_slot(&self, account: &str, holder: &str) -> Result<(), StoreError>;
    /// How many slots the account's holders have (for tests and DescribeAccount).
    async fn slots_held(&self, account: &str) -> Result<u32, StoreError>;
}
