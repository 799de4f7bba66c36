//! Running-execution slots in the embedded store: one table, account -> the holders that have
//! a slot (a JSON list, sorted, each once; no row when none). Each call is one serialized
//! write (or read) transaction, so "read, check, write" inside it is as conditional as
//! DynamoDB's condition expressions.

use std::collections::BTreeSet;

use redb::{ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};

use super::{EmbeddedStore, backend, begin_write, decode, encode};
use crate::store::StoreError;

/// account -> the holders with a slot (JSON list).
const SLOTS: TableDefinition<&str, &[u8]> = TableDefinition::new("slots");

type Holders = BTreeSet<String>;

/// Creates the table (at open), so reads never meet a missing table.
pub(super) fn create_table(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(SLOTS).map_err(backend)?;
    Ok(())
}

/// The account's holders, from a table read or written.
fn holders_of(
    t: &impl ReadableTable<&'static str, &'static [u8]>,
    account: &str,
) -> Result<Holders, StoreError> {
    let found = t.get(account).map_err(backend)?;
    found
        .map(|g| decode(account, g.value()))
        .transpose()
        .map(Option::unwrap_or_default)
}

impl EmbeddedStore {
    /// One write transaction: Ok without writing if the holder has a slot; the holder added
    /// if fewer than `limit` are taken; `ConditionFailed` otherwise.
    pub(super) async fn slots_acquire(
        &self,
        account: &str,
        holder: &str,
        limit: u32,
    ) -> Result<(), StoreError> {
        let (account, holder) = (account.to_owned(), holder.to_owned());
        self.blocking(move |db| {
            let txn = begin_write(db)?;
            {
                let mut t = txn.open_table(SLOTS).map_err(backend)?;
                let mut holders = holders_of(&t, &account)?;
                if holders.contains(&holder) {
                    return Ok(());
                }
                if holders.len() >= limit as usize {
                    return Err(StoreError::ConditionFailed);
                }
                holders.insert(holder);
                t.insert(account.as_str(), encode(&holders)?.as_slice())
                    .map_err(backend)?;
            }
            txn.commit().map_err(backend)
        })
        .await
    }

    /// One write transaction: the holder removed if it has a slot (the row with it once
    /// empty); Ok either way.
    pub(super) async fn slots_release(
        &self,
        account: &str,
        holder: &str,
    ) -> Result<(), StoreError> {
        let (account, holder) = (account.to_owned(), holder.to_owned());
        self.blocking(move |db| {
            let txn = begin_write(db)?;
            {
                let mut t = txn.open_table(SLOTS).map_err(backend)?;
                let mut holders = holders_of(&t, &account)?;
                if !holders.remove(&holder) {
                    return Ok(());
                }
                if holders.is_empty() {
                    t.remove(account.as_str()).map_err(backend)?;
                } else {
                    t.insert(account.as_str(), encode(&holders)?.as_slice())
                        .map_err(backend)?;
                }
            }
            txn.commit().map_err(backend)
        })
        .await
    }

    pub(super) async fn slots_count(&self, account: &str) -> Result<u32, StoreError> {
        let account = account.to_owned();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let t = txn.open_table(SLOTS).map_err(backend)?;
            let holders = holders_of(&t, &account)?;
            Ok(u32::try_from(holders.len()).unwrap_or(u32::MAX))
        })
        .await
    }
}
