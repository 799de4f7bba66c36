//! Accounts, access keys and request nonces in DynamoDB.
//!
//! - Account: `ACCOUNT#<id>`/`ACCOUNT` with `id`, `description`, `created_ms` and its limits as
//!   JSON text in `definition`; listed through `gsi1` partition `ACCOUNTS`, sorted by id.
//! - Access key: `KEY#<id>`/`KEY` with `id`, `secret`, `account`, the policy in `definition`,
//!   `description`, `created_ms` and `status` (`Enabled` or `Disabled`); listed through `gsi1`
//!   partition `KEYS#<account>`, sorted by id.
//! - Nonce: `NONCE#<key_id>#<nonce>`/`NONCE` with `expires_ms` and `expires_at`.
//! - Running-execution slots: `SLOTS#<account>`/`SLOTS` (see `slots.rs`).
//!
//! Listings read the index alone, so everything they show is stored under attribute names
//! `gsi1` already projects (`id`, `definition`, `description`, `status`, `created_ms`; the
//! account of a key comes from the index key): the projection of an existing index cannot be
//! changed in place. The `secret` is not projected, and must never be: listings carry none.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::item::{GSI1_PK, GSI1_SK, Item, PK, Reader, SK, n, s};
use super::{DynamoStore, classify};
use crate::store::{AccessKeyRecord, AccountRecord, AccountStore, Page, StoreError};

const ACCOUNT_PREFIX: &str = "ACCOUNT#";
const ACCOUNT_SORT_KEY: &str = "ACCOUNT";
const ACCOUNTS_PARTITION: &str = "ACCOUNTS";
const KEY_PREFIX: &str = "KEY#";
const KEY_SORT_KEY: &str = "KEY";
const KEYS_PARTITION_PREFIX: &str = "KEYS#";
const NONCE_PREFIX: &str = "NONCE#";
const NONCE_SORT_KEY: &str = "NONCE";

/// An account's limits (JSON), and a key's policy: projected into `gsi1` under this name.
const DEFINITION: &str = "definition";
/// A key's state, `Enabled` or `Disabled`: projected into `gsi1` under this name.
const STATUS: &str = "status";
const ENABLED: &str = "Enabled";
const DISABLED: &str = "Disabled";
/// Never projected into any index.
const SECRET: &str = "secret";
const EXPIRES_MS: &str = "expires_ms";
/// Epoch seconds: the attribute of the table's TimeToLiveSpecification (template.yaml), so
/// DynamoDB deletes expired nonces by itself. TTL deletion lags (up to days); the write's own
/// condition on `expires_ms` is what decides whether a nonce is still in use.
const EXPIRES_AT: &str = "expires_at";

/// DynamoDB's limit on a partition key value, in bytes.
const MAX_PARTITION_KEY_BYTES: usize = 2048;

/// The limits of an account, as stored in `definition`.
#[derive(Serialize, Deserialize)]
struct Limits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    requests_per_second: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_running_executions: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_execution_transitions: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_history_bytes: Option<u64>,
}

fn key_of(pk: String, sk: &str) -> Item {
    HashMap::from([(PK.into(), s(pk)), (SK.into(), s(sk))])
}

/// Whether an item with this partition key can exist at all: a longer id (from a request,
/// never created here) is simply not found, rather than refused by DynamoDB as invalid.
fn storable(prefix: &str, id: &str) -> bool {
    prefix.len() + id.len() <= MAX_PARTITION_KEY_BYTES
}

fn account_key(id: &str) -> Item {
    key_of(format!("{ACCOUNT_PREFIX}{id}"), ACCOUNT_SORT_KEY)
}

fn access_key_key(id: &str) -> Item {
    key_of(format!("{KEY_PREFIX}{id}"), KEY_SORT_KEY)
}

fn keys_partition(account: &str) -> String {
    format!("{KEYS_PARTITION_PREFIX}{account}")
}

/// The nonce's key, `NONCE#<key_id>#<nonce>`. When that would be ambiguous (a key id that is
/// empty or holds `#`) or too long for a partition key, the pair is stored under a digest of
/// both instead (length-prefixed, so no two pairs share one; and with no `#` after the
/// prefix, so it never equals a plain key).
fn nonce_key(key_id: &str, nonce: &str) -> Item {
    let plain = format!("{NONCE_PREFIX}{key_id}#{nonce}");
    if plain.len() <= MAX_PARTITION_KEY_BYTES && !key_id.is_empty() && !key_id.contains('#') {
        return key_of(plain, NONCE_SORT_KEY);
    }
    let digest = Sha256::new()
        .chain_update(format!("{}:", key_id.len()))
        .chain_update(key_id)
        .chain_update(nonce)
        .finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    key_of(format!("{NONCE_PREFIX}~sha256:{hex}"), NONCE_SORT_KEY)
}

fn account_to_item(a: &AccountRecord) -> Result<Item, StoreError> {
    let limits = Limits {
        requests_per_second: a.requests_per_second,
        max_running_executions: a.max_running_executions,
        max_execution_transitions: a.max_execution_transitions,
        max_history_bytes: a.max_history_bytes,
    };
    let limits = serde_json::to_string(&limits).map_err(|e| StoreError::Backend(e.to_string()))?;
    let mut item = account_key(&a.id);
    item.extend([
        (GSI1_PK.into(), s(ACCOUNTS_PARTITION)),
        (GSI1_SK.into(), s(&a.id)),
        ("id".into(), s(&a.id)),
        ("description".into(), s(&a.description)),
        ("created_ms".into(), n(a.created_ms)),
        (DEFINITION.into(), s(limits)),
    ]);
    Ok(item)
}

/// Decodes an account, from the table or the index (which projects all it needs).
fn account_from_item(item: &Item) -> Result<AccountRecord, StoreError> {
    let r = Reader(item);
    let limits: Limits = serde_json::from_str(&r.s(DEFINITION)?)
        .map_err(|e| StoreError::Corrupt(format!("account limits: {e}")))?;
    Ok(AccountRecord {
        id: r.s("id")?,
        description: r.s("description")?,
        created_ms: r.n("created_ms")?,
        requests_per_second: limits.requests_per_second,
        max_running_executions: limits.max_running_executions,
        max_execution_transitions: limits.max_execution_transitions,
        max_history_bytes: limits.max_history_bytes,
    })
}

fn status_of(disabled: bool) -> AttributeValue {
    s(if disabled { DISABLED } else { ENABLED })
}

fn access_key_to_item(k: &AccessKeyRecord) -> Item {
    let mut item = access_key_key(&k.id);
    item.extend([
        (GSI1_PK.into(), s(keys_partition(&k.account))),
        (GSI1_SK.into(), s(&k.id)),
        ("id".into(), s(&k.id)),
        (SECRET.into(), s(&k.secret)),
        ("account".into(), s(&k.account)),
        (DEFINITION.into(), s(&k.policy)),
        ("description".into(), s(&k.description)),
        ("created_ms".into(), n(k.created_ms)),
        (STATUS.into(), status_of(k.disabled)),
    ]);
    item
}

/// Decodes a key from the table, or from the index (no secret, which comes back empty; the
/// account is read from the index key).
fn access_key_from_item(item: &Item) -> Result<AccessKeyRecord, StoreError> {
    let r = Reader(item);
    let account = match r.opt_s("account")? {
        Some(a) => a,
        None => {
            let partition = r.s(GSI1_PK)?;
            partition
                .strip_prefix(KEYS_PARTITION_PREFIX)
                .ok_or_else(|| StoreError::Corrupt(format!("key index partition {partition:?}")))?
                .to_owned()
        }
    };
    let status = r.s(STATUS)?;
    let disabled = match status.as_str() {
        ENABLED => false,
        DISABLED => true,
        other => return Err(StoreError::Corrupt(format!("key status {other:?}"))),
    };
    Ok(AccessKeyRecord {
        id: r.s("id")?,
        secret: r.opt_s(SECRET)?.unwrap_or_default(),
        account,
        policy: r.s(DEFINITION)?,
        description: r.s("description")?,
        created_ms: r.n("created_ms")?,
        disabled,
    })
}

/// `expires_ms` in epoch seconds, rounded up: TTL never removes a nonce before it expires.
fn ttl_seconds(expires_ms: i64) -> i64 {
    expires_ms.div_euclid(1000) + i64::from(expires_ms.rem_euclid(1000) != 0)
}

#[async_trait]
impl AccountStore for DynamoStore {
    async fn create_account(&self, a: &AccountRecord) -> Result<(), StoreError> {
        self.put_if(account_to_item(a)?, "attribute_not_exists(pk)", None)
            .await
    }

    async fn get_account(&self, id: &str) -> Result<Option<AccountRecord>, StoreError> {
        if !storable(ACCOUNT_PREFIX, id) {
            return Ok(None);
        }
        self.get(account_key(id))
            .await?
            .as_ref()
            .map(account_from_item)
            .transpose()
    }

    async fn replace_account(&self, a: &AccountRecord) -> Result<(), StoreError> {
        if !storable(ACCOUNT_PREFIX, &a.id) {
            return Err(StoreError::ConditionFailed);
        }
        self.put_if(account_to_item(a)?, "attribute_exists(pk)", None)
            .await
    }

    async fn list_accounts(
        &self,
        limit: usize,
        after: Option<&str>,
    ) -> Result<Page<AccountRecord>, StoreError> {
        self.list_partition(
            ACCOUNTS_PARTITION.to_owned(),
            limit,
            after,
            account_from_item,
            |a| a.id.clone(),
        )
        .await
    }

    async fn create_key(&self, k: &AccessKeyRecord) -> Result<(), StoreError> {
        self.put_if(access_key_to_item(k), "attribute_not_exists(pk)", None)
            .await
    }

    /// A strongly consistent read: a key just created (or disabled) is seen.
    async fn get_key(&self, id: &str) -> Result<Option<AccessKeyRecord>, StoreError> {
        if !storable(KEY_PREFIX, id) {
            return Ok(None);
        }
        self.get(access_key_key(id))
            .await?
            .as_ref()
            .map(access_key_from_item)
            .transpose()
    }

    /// One conditional UpdateItem of the policy, description and status: the secret, account
    /// and creation time are never rewritten.
    async fn replace_key(&self, k: &AccessKeyRecord) -> Result<(), StoreError> {
        if !storable(KEY_PREFIX, &k.id) {
            return Err(StoreError::ConditionFailed);
        }
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(access_key_key(&k.id)))
            .update_expression(
                "SET #policy = :policy, #description = :description, #status = :status",
            )
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#policy", DEFINITION)
            .expression_attribute_names("#description", "description")
            .expression_attribute_names("#status", STATUS)
            .expression_attribute_values(":policy", s(&k.policy))
            .expression_attribute_values(":description", s(&k.description))
            .expression_attribute_values(":status", status_of(k.disabled))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn delete_key(&self, id: &str) -> Result<bool, StoreError> {
        if !storable(KEY_PREFIX, id) {
            return Ok(false);
        }
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(access_key_key(id)))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .send()
            .await;
        match result.map_err(classify) {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn list_keys(
        &self,
        account: &str,
        limit: usize,
        after: Option<&str>,
    ) -> Result<Page<AccessKeyRecord>, StoreError> {
        let decode = |it: &Item| {
            let mut k = access_key_from_item(it)?;
            // The index does not project it; should that ever change, it still never leaks.
            k.secret = String::new();
            Ok(k)
        };
        self.list_partition(keys_partition(account), limit, after, decode, |k| {
            k.id.clone()
        })
        .await
    }

    /// One conditional PutItem: written if no record of the pair exists, or the one there has
    /// expired at `now_ms`.
    async fn use_nonce(
        &self,
        key_id: &str,
        nonce: &str,
        now_ms: i64,
        expires_ms: i64,
    ) -> Result<(), StoreError> {
        let mut item = nonce_key(key_id, nonce);
        item.extend([
            (EXPIRES_MS.into(), n(expires_ms)),
            (EXPIRES_AT.into(), n(ttl_seconds(expires_ms))),
        ]);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk) OR #expires <= :now")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#expires", EXPIRES_MS)
            .expression_attribute_values(":now", n(now_ms))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    /// See `slots.rs`: one conditional `ADD` to the account's set of holders.
    async fn acquire_slot(
        &self,
        account: &str,
        holder: &str,
        limit: u32,
    ) -> Result<(), StoreError> {
        self.slots_acquire(account, holder, limit).await
    }

    async fn release_slot(&self, account: &str, holder: &str) -> Result<(), StoreError> {
        self.slots_release(account, holder).await
    }

    async fn slots_held(&self, account: &str) -> Result<u32, StoreError> {
        self.slots_count(account).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_rounds_up_to_whole_seconds() {
        assert_eq!(ttl_seconds(0), 0);
        assert_eq!(ttl_seconds(1), 1);
        assert_eq!(ttl_seconds(1_000), 1);
        assert_eq!(ttl_seconds(1_001), 2);
        assert_eq!(ttl_seconds(-1), 0);
    }

    #[test]
    fn long_nonces_get_a_bounded_distinct_key() {
        let pk = |k: &str, n: &str| match nonce_key(k, n).remove(PK) {
            Some(AttributeValue::S(v)) => v,
            _ => unreachable!(),
        };
        assert_eq!(pk("AK1", "abc"), "NONCE#AK1#abc");
        let long = "n".repeat(4000);
        let a = pk("AK1", &long);
        assert!(a.len() <= MAX_PARTITION_KEY_BYTES);
        assert_eq!(a, pk("AK1", &long), "stable");
        assert_ne!(a, pk("AK2", &long));
        assert_ne!(
            a,
            pk("AK1n", &long[1..]),
            "the key id's length is part of it"
        );
    }

    #[test]
    fn listed_keys_take_their_account_from_the_index_key() {
        let k = AccessKeyRecord {
            id: "AK".into(),
            secret: "s3cr\u{e9}t".into(),
            account: "acct".into(),
            policy: "{}".into(),
            description: "d".into(),
            created_ms: 5,
            disabled: true,
        };
        let mut item = access_key_to_item(&k);
        assert_eq!(access_key_from_item(&item).unwrap(), k);
        item.remove("account");
        item.remove(SECRET);
        let listed = access_key_from_item(&item).unwrap();
        assert_eq!(
            listed,
            AccessKeyRecord {
                secret: String::new(),
                ..k
            }
        );
    }
}
