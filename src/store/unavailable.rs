//! A store that cannot be used: its file failed the integrity check when it opened
//! (`StoreError::CorruptFile`), or is not the store its directory's manifest names
//! (`StoreError::LostFile`). `serve` runs on it rather than ending: every call answers the
//! reason, which the API answers as `InternalServerError` (the log names the file and what to
//! do), so a supervisor does not restart the process into the same refusal over and over.

use async_trait::async_trait;

use super::{
    AccessKeyRecord, AccountRecord, AccountStore, AliasRecord, Claim, DueExecution,
    ExecutionFilter, ExecutionRecord, FlowRecord, HistoryRecord, Page, Store, StoreError,
    TokenRecord, VersionRecord,
};

/// Answers why its file was refused to every call.
pub struct UnavailableStore {
    reason: StoreError,
}

impl UnavailableStore {
    /// A store whose file was refused for `reason`.
    pub fn refusing(reason: StoreError) -> UnavailableStore {
        UnavailableStore { reason }
    }

    /// What every call answers.
    pub fn reason(&self) -> StoreError {
        self.reason.clone()
    }
}

#[async_trait]
#[allow(unused_variables)]
impl AccountStore for UnavailableStore {
    async fn create_account(&self, a: &AccountRecord) -> Result<(), StoreError> {
        Err(self.reason())
    }

    async fn get_account(&self, id: &str) -> Result<Option<AccountRecord>, StoreError> {
        Err(self.reason())
    }

    async fn replace_account(&self, a: &AccountRecord) -> Result<(), StoreError> {
        Err(self.reason())
    }

    async fn list_accounts(
        &self,
        limit: usize,
        after: Option<&str>,
    ) -> Result<Page<AccountRecord>, StoreError> {
        Err(self.reason())
    }

    async fn create_key(&self, k: &AccessKeyRecord) -> Result<(), StoreError> {
        Err(self.reason())
    }

    async fn get_key(&self, id: &str) -> Result<Option<AccessKeyRecord>, StoreError> {
        Err(self.reason())
    }

    async fn replace_key(&self, k: &AccessKeyRecord) -> Result<(), StoreError> {
        Err(self.reason())
    }

    async fn delete_key(&self, id: &str) -> Result<bool, StoreError> {
        Err(self.reason())
    }

    async fn list_keys(
        &self,
        account: &str,
        limit: usize,
        after: Option<&str>,
    ) -> Result<Page<AccessKeyRecord>, StoreError> {
        Err(self.reason())
    }

    async fn use_nonce(
        &self,
        key_id: &str,
        nonce: &str,
        now_ms: i64,
        expires_ms: i64,
    ) -> Result<(), StoreError> {
        Err(self.reason())
    }

    async fn acquire_slot(
        &self,
        account: &str,
        holder: &str,
        limit: u32,
    ) -> Result<(), StoreError> {
        Err(self.reason())
    }

    async fn release_slot(&self, account: &str, holder: &str) -> Result<(), StoreError> {
        Err(self.reason())
    }

    async fn slots_held(&self, account: &str) -> Result<u32, StoreError> {
        Err(self.reason())
    }
}

#[async_trait]
#[allow(unused_variables)]
impl Store for UnavailableStore {
    async fn create_flow(&self, flow: &FlowRecord) -> Result<(), StoreError> {
        Err(self.reason())
    }

    async fn replace_flow(
        &self,
        flow: &FlowRecord,
        expected_revision: u64,
    ) -> Result<(), StoreError> {
        Err(self.reason())
    }

    async fn get_flow(&self, name: &str) -> Result<Option<FlowRecord>, StoreError> {
        Err(self.reason())
    }

    async fn delete_flow(&self, name: &str) -> Result<bool, StoreError> {
        Err(self.reason())
    }

    async fn list_flows(
        &self,
        limit: usize,
        after: Option<&str>,
    ) -> Result<Page<FlowRecord>, StoreError> {
        Err(self.reason())
    }

    async fn claim_execution(&self, exec: &ExecutionRecord) -> Result<Claim, StoreError> {
        Err(self.reason())
    }

    async fn update_execution(
        &self,
        exec: &ExecutionRecord,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        Err(self.reason())
    }

    async fn get_execution(
        &self,
        flow: &str,
        name: &str,
    ) -> Result<Option<ExecutionRecord>, StoreError> {
        Err(self.reason())
    }

    async fn list_executions(
        &self,
        flow: &str,
        filter: &ExecutionFilter,
        limit: usize,
        after: Option<&str>,
    ) -> Result<Page<ExecutionRecord>, StoreError> {
        Err(self.reason())
    }

    async fn list_due(&self, now_ms: i64, limit: usize) -> Result<Vec<DueExecution>, StoreError> {
        Err(self.reason())
    }

    async fn put_history(
        &self,
        flow: &str,
        name: &str,
        events: &[HistoryRecord],
    ) -> Result<(), StoreError> {
        Err(self.reason())
    }

    async fn list_history(
        &self,
        flow: &str,
        name: &str,
        limit: usize,
        after: Option<u64>,
    ) -> Result<Page<HistoryRecord>, StoreError> {
        Err(self.reason())
    }

    async fn publish_version(
        &self,
        flow: &str,
        description: &str,
        created_ms: i64,
    ) -> Result<Option<VersionRecord>, StoreError> {
        Err(self.reason())
    }

    async fn get_version(
        &self,
        flow: &str,
        version: u64,
    ) -> Result<Option<VersionRecord>, StoreError> {
        Err(self.reason())
    }

    async fn list_versions(
        &self,
        flow: &str,
        limit: usize,
        after: Option<u64>,
    ) -> Result<Page<VersionRecord>, StoreError> {
        Err(self.reason())
    }

    async fn delete_version(&self, flow: &str, version: u64) -> Result<bool, StoreError> {
        Err(self.reason())
    }

    async fn create_alias(&self, alias: &AliasRecord) -> Result<(), StoreError> {
        Err(self.reason())
    }

    async fn replace_alias(
        &self,
        alias: &AliasRecord,
        expected_revision: u64,
    ) -> Result<(), StoreError> {
        Err(self.reason())
    }

    async fn get_alias(&self, flow: &str, name: &str) -> Result<Option<AliasRecord>, StoreError> {
        Err(self.reason())
    }

    async fn delete_alias(&self, flow: &str, name: &str) -> Result<bool, StoreError> {
        Err(self.reason())
    }

    async fn list_aliases(
        &self,
        flow: &str,
        limit: usize,
        after: Option<&str>,
    ) -> Result<Page<AliasRecord>, StoreError> {
        Err(self.reason())
    }

    async fn put_token(&self, token: &TokenRecord) -> Result<(), StoreError> {
        Err(self.reason())
    }

    async fn get_token(&self, token: &str) -> Result<Option<TokenRecord>, StoreError> {
        Err(self.reason())
    }

    async fn complete_token(
        &self,
        token: &str,
        flow: &str,
        result: &str,
        completed_ms: i64,
    ) -> Result<(), StoreError> {
        Err(self.reason())
    }
}
