//! Task tokens in the embedded store: one table, token -> TokenRecord (JSON). Each call is one
//! serialized write (or read) transaction, so "check, then write" inside it is as conditional
//! as DynamoDB's condition expressions.

use redb::{ReadableTable, TableDefinition, WriteTransaction};

use super::{EmbeddedStore, backend, begin_write, decode, encode};
use crate::store::{StoreError, TokenRecord};

/// token -> TokenRecord (JSON).
pub(super) const TOKENS: TableDefinition<&str, &[u8]> = TableDefinition::new("tokens");

/// Creates the table (at open), so reads never meet a missing table.
pub(super) fn create_table(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(TOKENS).map_err(backend)?;
    Ok(())
}

impl EmbeddedStore {
    /// Creates the token unless one with that name exists; an existing one (and its result)
    /// is left as it is, and that is success: retried task starts are harmless.
    pub(super) async fn token_put(&self, token: &TokenRecord) -> Result<(), StoreError> {
        let bytes = encode(token)?;
        let created = self
            .write_if(TOKENS, token.token.clone(), Some(bytes), |cur| {
                Ok(cur.is_none())
            })
            .await;
        match created {
            Ok(()) | Err(StoreError::ConditionFailed) => Ok(()),
            Err(e) => Err(e),
        }
    }

    pub(super) async fn token_get(&self, token: &str) -> Result<Option<TokenRecord>, StoreError> {
        self.read(TOKENS, token.to_owned()).await
    }

    /// Sets the result and completion time, in one write transaction, only if the token
    /// exists, is `flow`'s and has no result yet; otherwise `ConditionFailed` and nothing
    /// changes.
    pub(super) async fn token_complete(
        &self,
        token: &str,
        flow: &str,
        result: &str,
        completed_ms: i64,
    ) -> Result<(), StoreError> {
        let (token, flow, result) = (token.to_owned(), flow.to_owned(), result.to_owned());
        self.blocking(move |db| {
            let txn = begin_write(db)?;
            {
                let mut t = txn.open_table(TOKENS).map_err(backend)?;
                let current: Option<TokenRecord> = {
                    let g = t.get(token.as_str()).map_err(backend)?;
                    g.map(|g| decode(&token, g.value())).transpose()?
                };
                let mut record = match current {
                    Some(r) if r.result.is_none() && r.flow == flow => r,
                    _ => return Err(StoreError::ConditionFailed),
                };
                record.result = Some(result);
                record.completed_ms = Some(completed_ms);
                t.insert(token.as_str(), encode(&record)?.as_slice())
                    .map_err(backend)?;
            }
            txn.commit().map_err(backend)
        })
        .await
    }
}
