//! Accounts (our actions, in the API's style): CreateAccount, DescribeAccount, UpdateAccount,
//! ListAccounts. Only the operator (the default account) manages accounts; an account may
//! describe itself. An account's flows are invisible to every other account.

use serde_json::Value;

use super::Service;
use super::flow_cache::TtlCache;
use super::params::{self, MAX_DESCRIPTION_BYTES};
use super::views::{self, Fields};
use crate::api::Params;
use crate::error::FnfError;
use crate::runner::limits::{self, ExecutionLimits};
use crate::store::scoped::DEFAULT_ACCOUNT;
use crate::store::{AccountRecord, StoreError};

/// How long an account's record (its limits) is remembered before it is read again.
const ACCOUNT_CACHE_MS: i64 = 30_000;
/// The account cache starts over once it holds more than 10 000 accounts.
const MAX_CACHED_ACCOUNTS: usize = 10_001;
const DEFAULT_LIMIT: usize = 60;
const MAX_LIMIT: usize = 100;
const MAX_ACCOUNT_CHARS: usize = 64;
/// Largest per-execution caps an account may be given: far past any flow, yet still a number
/// that DynamoDB and JSON carry exactly.
const MAX_TRANSITIONS_CAP: u64 = 1_000_000_000_000;
const MAX_HISTORY_BYTES_CAP: u64 = 1 << 50;

/// Account records (or their absence) as the gate (request rate) and StartExecution
/// (running-execution slots) read them: once per `ACCOUNT_CACHE_MS` per process, shared by
/// both.
pub(super) type AccountCache = TtlCache<Option<AccountRecord>>;

impl AccountCache {
    pub(super) fn accounts() -> AccountCache {
        TtlCache::new(ACCOUNT_CACHE_MS, MAX_CACHED_ACCOUNTS)
    }
}

impl Service {
    /// `account`'s record (None: no record, as for the default account), from the cache
    /// while fresh.
    pub(crate) async fn account_limits(
        &self,
        account: &str,
    ) -> Result<Option<AccountRecord>, FnfError> {
        if account == DEFAULT_ACCOUNT {
            return Ok(None);
        }
        let now = self.clock.now_ms();
        if let Some(record) = self.accounts.get(account, now) {
            return Ok(record);
        }
        let record = self.store_root().get_account(account).await?;
        self.accounts.put(account, &record, now);
        Ok(record)
    }

    /// The caps of this service's account: the deployment's, with the account's overrides
    /// (read through the account cache, so changes apply within its 30 s).
    pub(super) async fn execution_limits(&self) -> Result<ExecutionLimits, FnfError> {
        Ok(match self.account_limits(&self.account).await? {
            None => self.limits.clone(),
            Some(a) => {
                self.limits
                    .for_account(&a.id, a.max_execution_transitions, a.max_history_bytes)
            }
        })
    }
}

pub async fn create(svc: &Service, p: &Params) -> Result<Fields, FnfError> {
    operator_only(svc, "CreateAccount")?;
    let id = p.required("AccountId")?;
    check_account_id(id)?;
    if id == DEFAULT_ACCOUNT {
        return Err(FnfError::AccountAlreadyExists(id.to_owned()));
    }
    let mut account = AccountRecord {
        id: id.to_owned(),
        description: String::new(),
        created_ms: svc.clock.now_ms(),
        requests_per_second: None,
        max_running_executions: None,
        max_execution_transitions: None,
        max_history_bytes: None,
    };
    apply(&mut account, p)?;
    match svc.store_root().create_account(&account).await {
        Ok(()) => Ok(views::account(&account)),
        Err(StoreError::ConditionFailed) => Err(FnfError::AccountAlreadyExists(id.to_owned())),
        Err(e) => Err(e.into()),
    }
}

pub async fn describe(svc: &Service, p: &Params) -> Result<Fields, FnfError> {
    let id = account_param(svc, p)?;
    let mut fields = views::account(&existing(svc, &id).await?);
    // Counted only while the account has a limit (executions take slots then).
    let running = svc.store_root().slots_held(&id).await?;
    fields.insert("RunningExecutions".into(), Value::from(running));
    Ok(fields)
}

pub async fn update(svc: &Service, p: &Params) -> Result<Fields, FnfError> {
    operator_only(svc, "UpdateAccount")?;
    let id = p.required("AccountId")?;
    let mut account = existing(svc, id).await?;
    apply(&mut account, p)?;
    let replaced = svc.store_root().replace_account(&account).await;
    // This instance applies the new limits at once; others within `ACCOUNT_CACHE_MS`.
    svc.accounts.forget(id);
    match replaced {
        Ok(()) => Ok(views::account(&account)),
        Err(StoreError::ConditionFailed) => Err(FnfError::AccountNotExists(id.to_owned())),
        Err(e) => Err(e.into()),
    }
}

pub async fn list(svc: &Service, p: &Params) -> Result<Fields, FnfError> {
    operator_only(svc, "ListAccounts")?;
    let limit = params::limit(p, DEFAULT_LIMIT, MAX_LIMIT)?;
    // Account ids may start with a digit, which a flow name may not.
    let after = params::next_token_of(p, |a| check_account_id(a).is_ok())?;
    let page = svc
        .store_root()
        .list_accounts(limit, after.as_deref())
        .await?;
    Ok(views::page("Accounts", &page, views::account))
}

/// `AccountId` (default: the caller's own); only the operator may name another account.
pub(super) fn account_param(svc: &Service, p: &Params) -> Result<String, FnfError> {
    let caller = svc.caller();
    let id = p.optional("AccountId").unwrap_or(&caller.account);
    check_account_id(id)?;
    if id != caller.account && !caller.is_operator() {
        return Err(FnfError::AccessDenied(
            "Only the operator's keys manage other accounts.".into(),
        ));
    }
    Ok(id.to_owned())
}

/// The default account always exists; others must have been created.
pub(super) async fn check_account_exists(svc: &Service, id: &str) -> Result<(), FnfError> {
    existing(svc, id).await.map(|_| ())
}

async fn existing(svc: &Service, id: &str) -> Result<AccountRecord, FnfError> {
    if id == DEFAULT_ACCOUNT {
        return Ok(AccountRecord {
            id: id.to_owned(),
            description: "the operator's account".into(),
            created_ms: 0,
            requests_per_second: None,
            max_running_executions: None,
            max_execution_transitions: None,
            max_history_bytes: None,
        });
    }
    svc.store_root()
        .get_account(id)
        .await?
        .ok_or_else(|| FnfError::AccountNotExists(id.to_owned()))
}

fn operator_only(svc: &Service, action: &str) -> Result<(), FnfError> {
    if svc.caller().is_operator() {
        Ok(())
    } else {
        Err(FnfError::AccessDenied(format!(
            "{action} is for the operator's keys only."
        )))
    }
}

/// Account ids: 1-64 of lower-case letters, digits and `-`, starting with a letter or digit
/// (they prefix stored flow names, so `:` and the like are out).
fn check_account_id(id: &str) -> Result<(), FnfError> {
    let ok = !id.is_empty()
        && id.len() <= MAX_ACCOUNT_CHARS
        && id.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(FnfError::invalid(
            "AccountId",
            format!(
                "{id:.64?} is not valid: 1 to {MAX_ACCOUNT_CHARS} of a-z, 0-9 and '-', starting with a letter or digit"
            ),
        ))
    }
}

fn apply(account: &mut AccountRecord, p: &Params) -> Result<(), FnfError> {
    if let Some(d) = params::text(p, "Description", MAX_DESCRIPTION_BYTES)? {
        account.description = d.to_owned();
    }
    if let Some(n) = limit_param(p, "RequestsPerSecond")? {
        account.requests_per_second = Some(n);
    }
    if let Some(n) = limit_param(p, "MaxRunningExecutions")? {
        account.max_running_executions = Some(n);
    }
    if let Some(n) = cap_param(p, limits::MAX_TRANSITIONS_PARAM, MAX_TRANSITIONS_CAP)? {
        account.max_execution_transitions = Some(n);
    }
    if let Some(n) = cap_param(p, limits::MAX_HISTORY_BYTES_PARAM, MAX_HISTORY_BYTES_CAP)? {
        account.max_history_bytes = Some(n);
    }
    Ok(())
}

/// An account's per-execution caps replace the deployment's; 0 lifts them for the account.
fn cap_param(p: &Params, name: &str, max: u64) -> Result<Option<u64>, FnfError> {
    let Some(raw) = p.optional(name) else {
        return Ok(None);
    };
    match raw.parse::<u64>() {
        Ok(n) if n <= max => Ok(Some(n)),
        _ => Err(FnfError::invalid(
            name,
            format!("must be an integer from 0 (no limit) to {max}, got {raw:.32?}"),
        )),
    }
}

fn limit_param(p: &Params, name: &str) -> Result<Option<u32>, FnfError> {
    let Some(raw) = p.optional(name) else {
        return Ok(None);
    };
    match raw.parse::<u32>() {
        Ok(n) if n <= 1_000_000 => Ok(Some(n)),
        _ => Err(FnfError::invalid(
            name,
            format!("must be an integer from 0 (no limit) to 1000000, got {raw:.32?}"),
        )),
    }
}
