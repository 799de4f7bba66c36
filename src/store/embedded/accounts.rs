//! Accounts, access keys and request nonces in the embedded store. Each call is one serialized
//! write (or read) transaction, so "check, then write" inside it is as conditional as
//! DynamoDB's condition expressions.

use async_trait::async_trait;
use redb::{ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};

use super::{EmbeddedStore, backend, begin_write, decode, encode, successor};
use crate::store::{AccessKeyRecord, AccountRecord, AccountStore, Page, StoreError};

/// id -> AccountRecord (JSON).
const ACCOUNTS: TableDefinition<&str, &[u8]> = TableDefinition::new("accounts");
/// id -> AccessKeyRecord (JSON, with its secret).
const ACCESS_KEYS: TableDefinition<&str, &[u8]> = TableDefinition::new("access_keys");
/// "account/id" -> (): one account's keys in id order, kept in the same transactions as the
/// keys themselves.
const KEYS_BY_ACCOUNT: TableDefinition<&str, ()> = TableDefinition::new("access_keys_by_account");
/// "key_id/nonce" -> expires_ms.
const NONCES: TableDefinition<&str, i64> = TableDefinition::new("nonces");
/// "<expires_ms, 20 digits>/key_id/nonce" -> (): nonces by expiry, so that expired ones are
/// found (and removed) without a scan.
const NONCE_EXPIRY: TableDefinition<&str, ()> = TableDefinition::new("nonce_expiry");

/// Expired nonces removed by each recorded one: more than one, so the table shrinks back to
/// the nonces in use whatever the rate, and few, so a write stays cheap.
const NONCES_PRUNED_PER_USE: usize = 8;

/// Creates the tables (at open), so reads never meet a missing table.
pub(super) fn create_tables(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(ACCOUNTS).map_err(backend)?;
    txn.open_table(ACCESS_KEYS).map_err(backend)?;
    txn.open_table(KEYS_BY_ACCOUNT).map_err(backend)?;
    txn.open_table(NONCES).map_err(backend)?;
    txn.open_table(NONCE_EXPIRY).map_err(backend)?;
    Ok(())
}

fn account_key_key(account: &str, id: &str) -> String {
    format!("{account}/{id}")
}

/// `key_id/nonce`; a key id that is empty or holds `/` (which would make that ambiguous) is
/// written `/<length>:key_id/nonce` instead, which no plain key begins with.
fn nonce_key(key_id: &str, nonce: &str) -> String {
    if key_id.is_empty() || key_id.contains('/') {
        format!("/{}:{key_id}/{nonce}", key_id.len())
    } else {
        format!("{key_id}/{nonce}")
    }
}

/// The expiry entry of a nonce: its time, then its key in `NONCES`.
fn expiry_key(expires_ms: i64, nonce_key: &str) -> String {
    format!("{:020}/{nonce_key}", expires_ms.max(0))
}

/// Removes up to `NONCES_PRUNED_PER_USE` nonces expired at `now_ms`, oldest first.
fn prune_nonces(txn: &WriteTransaction, now_ms: i64) -> Result<(), StoreError> {
    let mut expiry = txn.open_table(NONCE_EXPIRY).map_err(backend)?;
    let mut nonces = txn.open_table(NONCES).map_err(backend)?;
    // Keys sort by expiry; everything up to `now_ms` inclusive (`0` follows `/`).
    let end = format!("{:020}0", now_ms.max(0));
    let expired: Vec<String> = expiry
        .range(..end.as_str())
        .map_err(backend)?
        .take(NONCES_PRUNED_PER_USE)
        .map(|entry| entry.map(|(k, _)| k.value().to_owned()).map_err(backend))
        .collect::<Result<_, _>>()?;
    for key in expired {
        expiry.remove(key.as_str()).map_err(backend)?;
        let Some((_, nonce)) = key.split_once('/') else {
            return Err(StoreError::Corrupt(format!("nonce expiry key {key:?}")));
        };
        // Only if still expired: a nonce recorded again since has its own, later entry.
        let live = nonces
            .get(nonce)
            .map_err(backend)?
            .is_some_and(|g| g.value() > now_ms);
        if !live {
            nonces.remove(nonce).map_err(backend)?;
        }
    }
    Ok(())
}

#[async_trait]
impl AccountStore for EmbeddedStore {
    async fn create_account(&self, a: &AccountRecord) -> Result<(), StoreError> {
        let bytes = encode(a)?;
        self.write_if(ACCOUNTS, a.id.clone(), Some(bytes), |cur| Ok(cur.is_none()))
            .await
    }

    async fn get_account(&self, id: &str) -> Result<Option<AccountRecord>, StoreError> {
        self.read(ACCOUNTS, id.to_owned()).await
    }

    async fn replace_account(&self, a: &AccountRecord) -> Result<(), StoreError> {
        let bytes = encode(a)?;
        self.write_if(ACCOUNTS, a.id.clone(), Some(bytes), |cur| Ok(cur.is_some()))
            .await
    }

    async fn list_accounts(
        &self,
        limit: usize,
        after: Option<&str>,
    ) -> Result<Page<AccountRecord>, StoreError> {
        let start = after.map(successor).unwrap_or_default();
        let (items, more) = self
            .scan(ACCOUNTS, start, None, limit, |_: &AccountRecord| true)
            .await?;
        Ok(Page::new(items, more, |a| a.id.clone()))
    }

    async fn create_key(&self, k: &AccessKeyRecord) -> Result<(), StoreError> {
        let bytes = encode(k)?;
        let (id, account) = (k.id.clone(), k.account.clone());
        self.blocking(move |db| {
            let txn = begin_write(db)?;
            {
                let mut keys = txn.open_table(ACCESS_KEYS).map_err(backend)?;
                if keys.get(id.as_str()).map_err(backend)?.is_some() {
                    return Err(StoreError::ConditionFailed);
                }
                keys.insert(id.as_str(), bytes.as_slice())
                    .map_err(backend)?;
                let mut by_account = txn.open_table(KEYS_BY_ACCOUNT).map_err(backend)?;
                by_account
                    .insert(account_key_key(&account, &id).as_str(), ())
                    .map_err(backend)?;
            }
            txn.commit().map_err(backend)
        })
        .await
    }

    async fn get_key(&self, id: &str) -> Result<Option<AccessKeyRecord>, StoreError> {
        self.read(ACCESS_KEYS, id.to_owned()).await
    }

    /// Rewrites the policy, description and disabled flag of the stored key; its secret,
    /// account and creation time stay.
    async fn replace_key(&self, k: &AccessKeyRecord) -> Result<(), StoreError> {
        let k = k.clone();
        self.blocking(move |db| {
            let txn = begin_write(db)?;
            {
                let mut keys = txn.open_table(ACCESS_KEYS).map_err(backend)?;
                let current: Option<AccessKeyRecord> = {
                    let g = keys.get(k.id.as_str()).map_err(backend)?;
                    g.map(|g| decode(&k.id, g.value())).transpose()?
                };
                let Some(mut stored) = current else {
                    return Err(StoreError::ConditionFailed);
                };
                stored.policy = k.policy;
                stored.description = k.description;
                stored.disabled = k.disabled;
                keys.insert(k.id.as_str(), encode(&stored)?.as_slice())
                    .map_err(backend)?;
            }
            txn.commit().map_err(backend)
        })
        .await
    }

    async fn delete_key(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.blocking(move |db| {
            let txn = begin_write(db)?;
            {
                let mut keys = txn.open_table(ACCESS_KEYS).map_err(backend)?;
                let removed: Option<AccessKeyRecord> = {
                    let g = keys.remove(id.as_str()).map_err(backend)?;
                    g.map(|g| decode(&id, g.value())).transpose()?
                };
                let Some(removed) = removed else {
                    return Ok(false);
                };
                let mut by_account = txn.open_table(KEYS_BY_ACCOUNT).map_err(backend)?;
                by_account
                    .remove(account_key_key(&removed.account, &id).as_str())
                    .map_err(backend)?;
            }
            txn.commit().map_err(backend).map(|()| true)
        })
        .await
    }

    async fn list_keys(
        &self,
        account: &str,
        limit: usize,
        after: Option<&str>,
    ) -> Result<Page<AccessKeyRecord>, StoreError> {
        let account = account.to_owned();
        let prefix = format!("{account}/");
        let start = match after {
            Some(a) => successor(&account_key_key(&account, a)),
            None => prefix.clone(),
        };
        // `0` is the character after `/`: the end of this account's key range.
        let end = format!("{account}0");
        let (items, more) = self
            .blocking(move |db| {
                let txn = db.begin_read().map_err(backend)?;
                let by_account = txn.open_table(KEYS_BY_ACCOUNT).map_err(backend)?;
                let keys = txn.open_table(ACCESS_KEYS).map_err(backend)?;
                let mut items = Vec::new();
                for entry in by_account
                    .range(start.as_str()..end.as_str())
                    .map_err(backend)?
                {
                    let (k, _) = entry.map_err(backend)?;
                    let Some(id) = k.value().strip_prefix(prefix.as_str()) else {
                        continue;
                    };
                    let found: Option<AccessKeyRecord> = {
                        let g = keys.get(id).map_err(backend)?;
                        g.map(|g| decode(id, g.value())).transpose()?
                    };
                    // Defensive: the key's own record says whose it is.
                    let Some(mut key) = found.filter(|f| f.account == account) else {
                        continue;
                    };
                    if items.len() == limit {
                        return Ok((items, true));
                    }
                    key.secret = String::new();
                    items.push(key);
                }
                Ok((items, false))
            })
            .await?;
        Ok(Page::new(items, more, |k| k.id.clone()))
    }

    /// One write transaction: refused if the pair is recorded and alive at `now_ms`; else
    /// recorded (over an expired record), and a few expired nonces removed on the way.
    async fn use_nonce(
        &self,
        key_id: &str,
        nonce: &str,
        now_ms: i64,
        expires_ms: i64,
    ) -> Result<(), StoreError> {
        let key = nonce_key(key_id, nonce);
        self.blocking(move |db| {
            let txn = begin_write(db)?;
            {
                let mut nonces = txn.open_table(NONCES).map_err(backend)?;
                let previous = nonces
                    .get(key.as_str())
                    .map_err(backend)?
                    .map(|g| g.value());
                if previous.is_some_and(|p| p > now_ms) {
                    return Err(StoreError::ConditionFailed);
                }
                nonces.insert(key.as_str(), expires_ms).map_err(backend)?;
                let mut expiry = txn.open_table(NONCE_EXPIRY).map_err(backend)?;
                if let Some(p) = previous {
                    expiry
                        .remove(expiry_key(p, &key).as_str())
                        .map_err(backend)?;
                }
                expiry
                    .insert(expiry_key(expires_ms, &key).as_str(), ())
                    .map_err(backend)?;
            }
            prune_nonces(&txn, now_ms)?;
            txn.commit().map_err(backend)
        })
        .await
    }

    /// See `slots.rs`: one write transaction on the account's list of holders.
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

    fn count<V: redb::Value + 'static>(
        store: &EmbeddedStore,
        table: TableDefinition<&str, V>,
    ) -> usize {
        let txn = store.db.begin_read().unwrap();
        let t = txn.open_table(table).unwrap();
        t.iter().unwrap().count()
    }

    #[tokio::test]
    async fn expired_nonces_are_pruned_as_new_ones_come() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        for i in 0..20 {
            store
                .use_nonce("AK", &format!("n{i}"), 0, 1_000)
                .await
                .unwrap();
        }
        assert_eq!(count(&store, NONCES), 20, "nothing expired yet");
        // Each new nonce, once the others expired, removes up to 8 of them.
        store
            .use_nonce("AK", "later-1", 1_000, 5_000)
            .await
            .unwrap();
        assert_eq!(count(&store, NONCES), 13);
        store
            .use_nonce("AK", "later-2", 1_000, 5_000)
            .await
            .unwrap();
        store
            .use_nonce("AK", "later-3", 1_000, 5_000)
            .await
            .unwrap();
        assert_eq!(count(&store, NONCES), 3, "only the live ones are left");
        assert_eq!(count(&store, NONCE_EXPIRY), 3);
        // A live nonce is still refused, and one recorded again keeps one expiry entry.
        assert!(matches!(
            store.use_nonce("AK", "later-1", 4_999, 9_000).await,
            Err(StoreError::ConditionFailed)
        ));
        store
            .use_nonce("AK", "later-1", 5_000, 9_000)
            .await
            .unwrap();
        assert_eq!(count(&store, NONCE_EXPIRY), 1, "the other two were pruned");
        assert_eq!(count(&store, NONCES), 1);
    }
}
