//! One account's view of a store: every flow of account `acme` is stored as `acme:<flow>`, and
//! this view adds and strips that prefix, so an account sees and touches only its own flows
//! (with their executions, history, versions, aliases and task tokens). Flow names cannot
//! contain `:`, so no account can name another's flow (and the stores' own keys, which join
//! flow and execution names with `/` or `#`, stay unambiguous). The default account (the operator's,
//! and every caller when authentication is off) has no prefix: stores written before accounts
//! existed keep working unchanged.

use std::borrow::Cow;
use std::sync::Arc;

use async_trait::async_trait;

use super::{
    AccessKeyRecord, AccountRecord, AccountStore, AliasRecord, Claim, DueExecution,
    ExecutionFilter, ExecutionRecord, FlowRecord, HistoryRecord, Page, Store, StoreError,
    TokenRecord, VersionRecord,
};

/// The account whose flows carry no prefix.
pub const DEFAULT_ACCOUNT: &str = "default";
/// Between the account and the flow name in a stored flow name.
pub const SEPARATOR: char = ':';

/// The stored name of `flow` of `account`.
pub fn stored_flow_name(account: &str, flow: &str) -> String {
    if account == DEFAULT_ACCOUNT {
        flow.to_owned()
    } else {
        format!("{account}{SEPARATOR}{flow}")
    }
}

/// The account and the flow name a stored flow name stands for.
pub fn split_flow_name(stored: &str) -> (&str, &str) {
    match stored.split_once(SEPARATOR) {
        Some((account, flow)) => (account, flow),
        None => (DEFAULT_ACCOUNT, stored),
    }
}

/// `inner` as `account` sees it.
pub struct ScopedStore {
    inner: Arc<dyn Store>,
    account: String,
}

impl ScopedStore {
    pub fn new(inner: Arc<dyn Store>, account: &str) -> ScopedStore {
        ScopedStore {
            inner,
            account: account.to_owned(),
        }
    }

    fn to_inner(&self, flow: &str) -> String {
        stored_flow_name(&self.account, flow)
    }

    /// The account's name for a stored flow; `None` if it is another account's.
    fn to_outer(&self, stored: &str) -> Option<String> {
        let (account, flow) = split_flow_name(stored);
        (account == self.account).then(|| flow.to_owned())
    }

    fn outer(&self, stored: &str) -> String {
        // Everything read through this view was looked up by this account's names.
        self.to_outer(stored)
            .unwrap_or_else(|| split_flow_name(stored).1.to_owned())
    }

    /// The record as stored: a copy only when the flow's name changes (not for the default
    /// account, whose every execution write comes through here, checkpoint and all).
    fn exec_in<'a>(&self, exec: &'a ExecutionRecord) -> Cow<'a, ExecutionRecord> {
        let flow = self.to_inner(&exec.flow);
        if flow == exec.flow {
            return Cow::Borrowed(exec);
        }
        Cow::Owned(ExecutionRecord {
            flow,
            ..exec.clone()
        })
    }

    fn exec_out(&self, mut exec: ExecutionRecord) -> ExecutionRecord {
        exec.flow = self.outer(&exec.flow);
        exec
    }

    /// The default account's flows are interleaved with prefixed ones in name order: list
    /// past the others, skipping each account's whole range at once.
    async fn list_default_flows(
        &self,
        limit: usize,
        after: Option<&str>,
    ) -> Result<Page<FlowRecord>, StoreError> {
        let mut items = Vec::new();
        let mut cursor = after.map(str::to_owned);
        loop {
            let page = self.inner.list_flows(limit, cursor.as_deref()).await?;
            let mut skip_to = None;
            for flow in page.items {
                if let Some((account, _)) = flow.name.split_once(SEPARATOR) {
                    // Names are ASCII: `<account>:\u{10ffff}` sorts after all of them.
                    skip_to = Some(format!("{account}{SEPARATOR}\u{10ffff}"));
                    break;
                }
                items.push(flow);
                if items.len() == limit {
                    return Ok(Page::new(items, true, |f| f.name.clone()));
                }
            }
            match (skip_to, page.next_after) {
                (Some(skip), _) => cursor = Some(skip),
                (None, Some(next)) => cursor = Some(next),
                (None, None) => return Ok(Page::new(items, false, |f| f.name.clone())),
            }
        }
    }
}

#[async_trait]
impl Store for ScopedStore {
    async fn create_flow(&self, flow: &FlowRecord) -> Result<(), StoreError> {
        let stored = FlowRecord {
            name: self.to_inner(&flow.name),
            ..flow.clone()
        };
        self.inner.create_flow(&stored).await
    }

    async fn replace_flow(&self, flow: &FlowRecord, expected: u64) -> Result<(), StoreError> {
        let stored = FlowRecord {
            name: self.to_inner(&flow.name),
            ..flow.clone()
        };
        self.inner.replace_flow(&stored, expected).await
    }

    async fn get_flow(&self, name: &str) -> Result<Option<FlowRecord>, StoreError> {
        let found = self.inner.get_flow(&self.to_inner(name)).await?;
        Ok(found.map(|mut f| {
            f.name = name.to_owned();
            f
        }))
    }

    async fn delete_flow(&self, name: &str) -> Result<bool, StoreError> {
        self.inner.delete_flow(&self.to_inner(name)).await
    }

    async fn list_flows(
        &self,
        limit: usize,
        after: Option<&str>,
    ) -> Result<Page<FlowRecord>, StoreError> {
        if self.account == DEFAULT_ACCOUNT {
            return self.list_default_flows(limit, after).await;
        }
        let prefix = format!("{}{SEPARATOR}", self.account);
        let from = format!("{prefix}{}", after.unwrap_or(""));
        let page = self.inner.list_flows(limit, Some(&from)).await?;
        let total = page.items.len();
        let mine: Vec<FlowRecord> = page
            .items
            .into_iter()
            .take_while(|f| f.name.starts_with(&prefix))
            .map(|mut f| {
                f.name = f.name[prefix.len()..].to_owned();
                f
            })
            .collect();
        let more = mine.len() == total && page.next_after.is_some();
        Ok(Page::new(mine, more, |f| f.name.clone()))
    }

    async fn claim_execution(&self, exec: &ExecutionRecord) -> Result<Claim, StoreError> {
        Ok(
            match self.inner.claim_execution(&self.exec_in(exec)).await? {
                Claim::Created => Claim::Created,
                Claim::Existing(held) => Claim::Existing(Box::new(self.exec_out(*held))),
            },
        )
    }

    async fn update_execution(
        &self,
        exec: &ExecutionRecord,
        expected: u64,
    ) -> Result<(), StoreError> {
        self.inner
            .update_execution(&self.exec_in(exec), expected)
            .await
    }

    async fn make_due(
        &self,
        flow: &str,
        name: &str,
        expected_version: u64,
        due_ms: i64,
    ) -> Result<(), StoreError> {
        self.inner
            .make_due(&self.to_inner(flow), name, expected_version, due_ms)
            .await
    }

    async fn get_execution(
        &self,
        flow: &str,
        name: &str,
    ) -> Result<Option<ExecutionRecord>, StoreError> {
        let found = self.inner.get_execution(&self.to_inner(flow), name).await?;
        Ok(found.map(|e| self.exec_out(e)))
    }

    async fn view_execution(
        &self,
        flow: &str,
        name: &str,
    ) -> Result<Option<ExecutionRecord>, StoreError> {
        let found = self
            .inner
            .view_execution(&self.to_inner(flow), name)
            .await?;
        Ok(found.map(|e| self.exec_out(e)))
    }

    async fn list_executions(
        &self,
        flow: &str,
        filter: &ExecutionFilter,
        limit: usize,
        after: Option<&str>,
    ) -> Result<Page<ExecutionRecord>, StoreError> {
        let page = self
            .inner
            .list_executions(&self.to_inner(flow), filter, limit, after)
            .await?;
        Ok(Page {
            items: page.items.into_iter().map(|e| self.exec_out(e)).collect(),
            next_after: page.next_after,
        })
    }

    /// The sweep runs on the whole store; an account's view has nothing due of its own.
    async fn list_due(&self, now_ms: i64, limit: usize) -> Result<Vec<DueExecution>, StoreError> {
        let due = self.inner.list_due(now_ms, limit).await?;
        Ok(due
            .into_iter()
            .filter_map(|mut d| {
                d.flow = self.to_outer(&d.flow)?;
                Some(d)
            })
            .collect())
    }

    async fn put_history(
        &self,
        flow: &str,
        name: &str,
        events: &[HistoryRecord],
    ) -> Result<(), StoreError> {
        self.inner
            .put_history(&self.to_inner(flow), name, events)
            .await
    }

    async fn list_history(
        &self,
        flow: &str,
        name: &str,
        limit: usize,
        after: Option<u64>,
    ) -> Result<Page<HistoryRecord>, StoreError> {
        self.inner
            .list_history(&self.to_inner(flow), name, limit, after)
            .await
    }

    async fn publish_version(
        &self,
        flow: &str,
        description: &str,
        created_ms: i64,
    ) -> Result<Option<VersionRecord>, StoreError> {
        let published = self
            .inner
            .publish_version(&self.to_inner(flow), description, created_ms)
            .await?;
        Ok(published.map(|v| self.version_out(v)))
    }

    async fn get_version(
        &self,
        flow: &str,
        version: u64,
    ) -> Result<Option<VersionRecord>, StoreError> {
        let found = self
            .inner
            .get_version(&self.to_inner(flow), version)
            .await?;
        Ok(found.map(|v| self.version_out(v)))
    }

    async fn list_versions(
        &self,
        flow: &str,
        limit: usize,
        after: Option<u64>,
    ) -> Result<Page<VersionRecord>, StoreError> {
        let page = self
            .inner
            .list_versions(&self.to_inner(flow), limit, after)
            .await?;
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(|v| self.version_out(v))
                .collect(),
            next_after: page.next_after,
        })
    }

    async fn delete_version(&self, flow: &str, version: u64) -> Result<bool, StoreError> {
        self.inner
            .delete_version(&self.to_inner(flow), version)
            .await
    }

    async fn create_alias(&self, alias: &AliasRecord) -> Result<(), StoreError> {
        self.inner.create_alias(&self.alias_in(alias)).await
    }

    async fn replace_alias(&self, alias: &AliasRecord, expected: u64) -> Result<(), StoreError> {
        self.inner
            .replace_alias(&self.alias_in(alias), expected)
            .await
    }

    async fn get_alias(&self, flow: &str, name: &str) -> Result<Option<AliasRecord>, StoreError> {
        let found = self.inner.get_alias(&self.to_inner(flow), name).await?;
        Ok(found.map(|a| self.alias_out(a)))
    }

    async fn delete_alias(&self, flow: &str, name: &str) -> Result<bool, StoreError> {
        self.inner.delete_alias(&self.to_inner(flow), name).await
    }

    async fn list_aliases(
        &self,
        flow: &str,
        limit: usize,
        after: Option<&str>,
    ) -> Result<Page<AliasRecord>, StoreError> {
        let page = self
            .inner
            .list_aliases(&self.to_inner(flow), limit, after)
            .await?;
        Ok(Page {
            items: page.items.into_iter().map(|a| self.alias_out(a)).collect(),
            next_after: page.next_after,
        })
    }

    async fn put_token(&self, token: &TokenRecord) -> Result<(), StoreError> {
        let stored = TokenRecord {
            flow: self.to_inner(&token.flow),
            ..token.clone()
        };
        self.inner.put_token(&stored).await
    }

    /// Another account's token is as unknown as a token nobody has.
    async fn get_token(&self, token: &str) -> Result<Option<TokenRecord>, StoreError> {
        let found = self.inner.get_token(token).await?;
        Ok(found.and_then(|mut t| {
            t.flow = self.to_outer(&t.flow)?;
            Some(t)
        }))
    }

    /// The stored flow name carries the account: another account's token fails the
    /// write's own condition, with no read first.
    async fn complete_token(
        &self,
        token: &str,
        flow: &str,
        result: &str,
        completed_ms: i64,
    ) -> Result<(), StoreError> {
        self.inner
            .complete_token(token, &self.to_inner(flow), result, completed_ms)
            .await
    }
}

impl ScopedStore {
    fn version_out(&self, mut v: VersionRecord) -> VersionRecord {
        v.flow = self.outer(&v.flow);
        v
    }

    fn alias_in(&self, alias: &AliasRecord) -> AliasRecord {
        AliasRecord {
            flow: self.to_inner(&alias.flow),
            ..alias.clone()
        }
    }

    fn alias_out(&self, mut a: AliasRecord) -> AliasRecord {
        a.flow = self.outer(&a.flow);
        a
    }
}

/// Accounts and keys are the operator's business: an account's view passes them through
/// (the API decides who may manage them).
#[async_trait]
impl AccountStore for ScopedStore {
    async fn create_account(&self, a: &AccountRecord) -> Result<(), StoreError> {
        self.inner.create_account(a).await
    }
    async fn get_account(&self, id: &str) -> Result<Option<AccountRecord>, StoreError> {
        self.inner.get_account(id).await
    }
    async fn replace_account(&self, a: &AccountRecord) -> Result<(), StoreError> {
        self.inner.replace_account(a).await
    }
    async fn list_accounts(
        &self,
        limit: usize,
        after: Option<&str>,
    ) -> Result<Page<AccountRecord>, StoreError> {
        self.inner.list_accounts(limit, after).await
    }
    async fn create_key(&self, k: &AccessKeyRecord) -> Result<(), StoreError> {
        self.inner.create_key(k).await
    }
    async fn get_key(&self, id: &str) -> Result<Option<AccessKeyRecord>, StoreError> {
        self.inner.get_key(id).await
    }
    async fn replace_key(&self, k: &AccessKeyRecord) -> Result<(), StoreError> {
        self.inner.replace_key(k).await
    }
    async fn delete_key(&self, id: &str) -> Result<bool, StoreError> {
        self.inner.delete_key(id).await
    }
    async fn list_keys(
        &self,
        account: &str,
        limit: usize,
        after: Option<&str>,
    ) -> Result<Page<AccessKeyRecord>, StoreError> {
        self.inner.list_keys(account, limit, after).await
    }
    async fn use_nonce(
        &self,
        key_id: &str,
        nonce: &str,
        now_ms: i64,
        expires_ms: i64,
    ) -> Result<(), StoreError> {
        self.inner
            .use_nonce(key_id, nonce, now_ms, expires_ms)
            .await
    }
    async fn acquire_slot(
        &self,
        account: &str,
        holder: &str,
        limit: u32,
    ) -> Result<(), StoreError> {
        self.inner.acquire_slot(account, holder, limit).await
    }
    async fn release_slot(&self, account: &str, holder: &str) -> Result<(), StoreError> {
        self.inner.release_slot(account, holder).await
    }
    async fn slots_held(&self, account: &str) -> Result<u32, StoreError> {
        self.inner.slots_held(account).await
    }
}
