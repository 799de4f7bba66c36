//! Task tokens in DynamoDB: item `TOKEN#<token>`/`TOKEN` with `flow`, `execution`, `task_id`,
//! `created_ms`, and once reported `result` and `completed_ms`. No `gsi1` or due attributes, so
//! no listing or sweep ever sees them. No TTL either: executions carry no `expires_at` yet, and
//! a token must live as long as the execution that waits on it.

use std::collections::HashMap;

use super::item::{Item, PK, Reader, SK, n, s};
use super::{DynamoStore, classify};
use crate::store::{StoreError, TokenRecord};

const TOKEN_PREFIX: &str = "TOKEN#";
const TOKEN_SORT_KEY: &str = "TOKEN";
const RESULT: &str = "result";
const COMPLETED_MS: &str = "completed_ms";
/// DynamoDB's limit on a partition key value, in bytes.
const MAX_PARTITION_KEY_BYTES: usize = 2048;

fn token_key(token: &str) -> Item {
    HashMap::from([
        (PK.into(), s(format!("{TOKEN_PREFIX}{token}"))),
        (SK.into(), s(TOKEN_SORT_KEY)),
    ])
}

/// Whether a token of this length can be stored at all: a longer one (reported by a caller,
/// never minted by us) cannot exist, and DynamoDB would refuse its key as invalid.
fn storable(token: &str) -> bool {
    TOKEN_PREFIX.len() + token.len() <= MAX_PARTITION_KEY_BYTES
}

fn token_to_item(t: &TokenRecord) -> Item {
    let mut item = token_key(&t.token);
    item.extend([
        ("flow".into(), s(&t.flow)),
        ("execution".into(), s(&t.execution)),
        ("task_id".into(), s(&t.task_id)),
        ("created_ms".into(), n(t.created_ms)),
    ]);
    let optional = [
        (RESULT, t.result.as_ref().map(s)),
        (COMPLETED_MS, t.completed_ms.map(n)),
    ];
    item.extend(
        optional
            .into_iter()
            .filter_map(|(k, v)| Some((k.to_owned(), v?))),
    );
    item
}

fn token_from_item(item: &Item) -> Result<TokenRecord, StoreError> {
    let r = Reader(item);
    let pk = r.s(PK)?;
    let token = pk
        .strip_prefix(TOKEN_PREFIX)
        .ok_or_else(|| StoreError::Corrupt(format!("token key {pk:?}")))?;
    Ok(TokenRecord {
        token: token.to_owned(),
        flow: r.s("flow")?,
        execution: r.s("execution")?,
        task_id: r.s("task_id")?,
        created_ms: r.n("created_ms")?,
        result: r.opt_s(RESULT)?,
        completed_ms: r.opt_n(COMPLETED_MS)?,
    })
}

impl DynamoStore {
    /// Creates the token unless it exists (`attribute_not_exists(pk)`); finding it there, with
    /// or without a result, is success: retried task starts change nothing.
    pub(super) async fn token_put(&self, token: &TokenRecord) -> Result<(), StoreError> {
        match self
            .put_if(token_to_item(token), "attribute_not_exists(pk)", None)
            .await
        {
            Ok(()) | Err(StoreError::ConditionFailed) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// A strongly consistent read: a result just reported is seen.
    pub(super) async fn token_get(&self, token: &str) -> Result<Option<TokenRecord>, StoreError> {
        if !storable(token) {
            return Ok(None);
        }
        self.get(token_key(token))
            .await?
            .as_ref()
            .map(token_from_item)
            .transpose()
    }

    /// One conditional UpdateItem: the result is set only on an existing token of `flow`
    /// without one.
    pub(super) async fn token_complete(
        &self,
        token: &str,
        flow: &str,
        result: &str,
        completed_ms: i64,
    ) -> Result<(), StoreError> {
        if !storable(token) {
            return Err(StoreError::ConditionFailed);
        }
        let sent = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(token_key(token)))
            .update_expression("SET #result = :result, #completed = :completed")
            .condition_expression(
                "attribute_exists(pk) AND #flow = :flow AND attribute_not_exists(#result)",
            )
            .expression_attribute_names("#flow", "flow")
            .expression_attribute_values(":flow", s(flow))
            .expression_attribute_names("#result", RESULT)
            .expression_attribute_names("#completed", COMPLETED_MS)
            .expression_attribute_values(":result", s(result))
            .expression_attribute_values(":completed", n(completed_ms))
            .send()
            .await
            .map_err(classify);
        match sent {
            // This very report, applied by a try whose answer was lost.
            Err(StoreError::ConditionFailed)
                if self.completed_with(token, result, completed_ms).await? =>
            {
                Ok(())
            }
            other => other.map(drop),
        }
    }
}
