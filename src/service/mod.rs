//! The use cases: one file per fnf action. The service knows the store only by its trait and
//! time only through the injected clock.

mod access_keys;
mod accounts;
mod callbacks;
mod calls;
pub mod continuation;
mod create_flow;
mod create_flow_alias;
mod delete_flow;
mod delete_flow_alias;
mod delete_flow_version;
mod describe_execution;
mod describe_flow;
mod describe_flow_alias;
mod flow_cache;
mod forks;
mod get_execution_history;
mod lease;
mod list_executions;
mod list_flow_aliases;
mod list_flow_versions;
mod list_flows;
pub mod params;
mod publish_flow_version;
mod qualifier;
mod report_task;
mod run;
mod settle;
mod start_execution;
mod stop_execution;
mod update_flow;
mod update_flow_alias;
mod views;

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::api::FnfRequest;
use crate::api::auth::Gate;
use crate::auth::caller::Caller;
use crate::clock::Clock;
use crate::dispatch::{Dispatcher, NoDispatch};
use crate::error::FnfError;
use crate::store::Store;
use crate::store::scoped::{DEFAULT_ACCOUNT, ScopedStore};
use crate::tasks::Integration;

pub use callbacks::{CHILD_STOPPED, CHILD_TIMED_OUT};
pub use calls::{CHILD_INVALID, CHILD_START_FAILED, NOT_CONFIGURED};
pub use flow_cache::DEFAULT_FLOW_CACHE_MS;
use flow_cache::FlowCache;
pub use forks::{
    CHILD_DEPTH_EXCEEDED, CHILDREN_EXCEEDED, DEFAULT_MAX_CHILD_DEPTH, DEFAULT_MAX_CHILDREN,
    DEFAULT_MAX_RUNNING, ForkLimits, MAX_CHILD_DEPTH_ENV, MAX_CHILDREN_ENV, MAX_RUNNING_ENV,
    RUNNING_LIMIT_EXCEEDED,
};
pub use settle::{EXECUTION_TIMEOUT_ERROR, MAX_CHECKPOINT_BYTES};

/// Every action `Service::call` serves (the authorization table, `api::resource`, has a row
/// for each; its tests check that).
pub const ACTIONS: &[&str] = &[
    "CreateFlow",
    "UpdateFlow",
    "DescribeFlow",
    "DeleteFlow",
    "ListFlows",
    "PublishFlowVersion",
    "ListFlowVersions",
    "DeleteFlowVersion",
    "CreateFlowAlias",
    "DescribeFlowAlias",
    "UpdateFlowAlias",
    "DeleteFlowAlias",
    "ListFlowAliases",
    "StartExecution",
    "DescribeExecution",
    "ListExecutions",
    "GetExecutionHistory",
    "StopExecution",
    "ReportTaskSucceeded",
    "ReportTaskFailed",
    "CreateAccount",
    "DescribeAccount",
    "UpdateAccount",
    "ListAccounts",
    "CreateAccessKey",
    "ListAccessKeys",
    "UpdateAccessKey",
    "DeleteAccessKey",
];

/// How long one invocation may drive executions before it checkpoints and hands over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budgets {
    /// StartExecution runs the flow this long before answering `Running`.
    pub response_ms: i64,
    /// A continuation runs this long before it checkpoints and dispatches the next one.
    pub invocation_ms: i64,
    /// A lease outlives the budget by this much, room for the last writes.
    pub lease_margin_ms: i64,
}

impl Budgets {
    /// Run every execution to its end in the call that started it.
    pub const UNBOUNDED: Budgets = Budgets {
        response_ms: i64::MAX / 4,
        invocation_ms: i64::MAX / 4,
        lease_margin_ms: 0,
    };
}

/// The outside services tasks call; a missing one fails its tasks with a named error.
#[derive(Clone, Default)]
pub struct Integrations {
    /// `HTTP:Request` / `HTTP:Invoke` / FDL `acs:fnf:::http`.
    pub http: Option<Arc<dyn Integration>>,
    /// `FC:InvokeFunction` / FDL `acs:fc:...`: AWS Lambda.
    pub function: Option<Arc<dyn Integration>>,
}

/// Everything an action needs: the store, the clock, and how to hand work over.
#[derive(Clone)]
pub struct Service {
    /// The whole store: the sweep and account switches work on it.
    root: Arc<dyn Store>,
    /// The store as this service's account sees it.
    store: Arc<dyn Store>,
    /// The account whose flows this service sees ([`Service::for_account`]).
    account: String,
    /// Who the current request comes from (the operator outside requests).
    caller: Arc<Caller>,
    /// The access key whose permissions the executions driven here carry: the caller's in a
    /// request, the execution's `started_by` in a continuation (`calls::starter_policy`).
    starter: Option<String>,
    /// How requests are let in (the API layer consults it).
    gate: Gate,
    /// Flows recently read by StartExecution (shared by clones).
    flows: FlowCache,
    /// Account records recently read (shared by clones).
    accounts: accounts::AccountCache,
    clock: Arc<dyn Clock>,
    dispatcher: Arc<dyn Dispatcher>,
    budgets: Budgets,
    /// An execution still running this long after it started ends `TimedOut`.
    execution_timeout_ms: i64,
    /// An execution abandoned by this many invocations in a row fails (`continuation`).
    max_abandoned: u32,
    /// What one execution may do over its life (`limits`), before accounts' overrides.
    limits: crate::runner::limits::ExecutionLimits,
    integrations: Integrations,
    /// How many parent executions this service drives inline, inside this invocation
    /// (nested-flow tasks); an execution's lineage depth is `ExecutionRecord::depth`.
    inline_depth: u8,
    /// Bounds on child executions and running executions (`forks`).
    forks: ForkLimits,
}

/// The default execution timeout: one year, the longest a Wait may last.
pub const DEFAULT_EXECUTION_TIMEOUT_MS: i64 = 365 * 24 * 3600 * 1000;

impl Service {
    /// A service that runs every execution to its end inside the call that starts it.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Service {
        Service {
            // Even the default account sees the store through its view: other accounts' flows
            // and tokens stay out of its listings and lookups.
            store: Arc::new(ScopedStore::new(store.clone(), DEFAULT_ACCOUNT)),
            root: store,
            account: DEFAULT_ACCOUNT.to_owned(),
            caller: Arc::new(Caller::operator()),
            starter: None,
            gate: Gate::open(),
            flows: FlowCache::flows(DEFAULT_FLOW_CACHE_MS),
            accounts: accounts::AccountCache::accounts(),
            clock,
            dispatcher: Arc::new(NoDispatch),
            budgets: Budgets::UNBOUNDED,
            execution_timeout_ms: DEFAULT_EXECUTION_TIMEOUT_MS,
            max_abandoned: continuation::DEFAULT_MAX_ABANDONED,
            limits: crate::runner::limits::ExecutionLimits::default(),
            integrations: Integrations::default(),
            inline_depth: 0,
            forks: ForkLimits::default(),
        }
    }

    /// This service as `account` sees it: its flows, executions and tokens only.
    pub fn for_account(&self, account: &str) -> Service {
        let mut scoped = self.clone();
        scoped.account = account.to_owned();
        if scoped.caller.account != account {
            // Acting for an account without a request (continuations, tests): its operator.
            scoped.caller = Arc::new(Caller {
                account: account.to_owned(),
                ..Caller::operator()
            });
            scoped.starter = None;
        }
        scoped.store = Arc::new(ScopedStore::new(self.root.clone(), account));
        scoped
    }

    /// The account this service acts for.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// This service acting for `caller`, in its account.
    pub fn for_caller(&self, caller: Caller) -> Service {
        let mut scoped = self.for_account(&caller.account);
        scoped.starter = caller.key.clone();
        scoped.caller = Arc::new(caller);
        scoped
    }

    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// StartExecution remembers flows for `ttl_ms` (0: reads every time).
    pub fn with_flow_cache(mut self, ttl_ms: i64) -> Service {
        self.flows = FlowCache::flows(ttl_ms);
        self
    }

    /// The flow StartExecution runs: from the cache while fresh, else read (and remembered).
    pub(crate) async fn flow_to_start(
        &self,
        name: &str,
    ) -> Result<Option<crate::store::FlowRecord>, FnfError> {
        let key = crate::store::scoped::stored_flow_name(&self.account, name);
        let now = self.clock.now_ms();
        if let Some(flow) = self.flows.get(&key, now) {
            return Ok(Some(flow));
        }
        let flow = self.store.get_flow(name).await?;
        if let Some(f) = &flow {
            self.flows.put(&key, f, now);
        }
        Ok(flow)
    }

    /// Forgets a flow this service changed or deleted.
    pub(crate) fn forget_flow(&self, name: &str) {
        self.flows
            .forget(&crate::store::scoped::stored_flow_name(&self.account, name));
    }

    /// Requests are let in by `gate`.
    pub fn with_gate(mut self, gate: Gate) -> Service {
        self.gate = gate;
        self
    }

    pub fn gate(&self) -> &Gate {
        &self.gate
    }

    /// The whole store, whatever this service's account (keys, accounts, nonces).
    pub fn store_root(&self) -> &Arc<dyn Store> {
        &self.root
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Tasks call these outside services.
    pub fn with_integrations(mut self, integrations: Integrations) -> Service {
        self.integrations = integrations;
        self
    }

    /// Hands executions that outlive a budget to `dispatcher`.
    pub fn with_continuations(
        mut self,
        dispatcher: Arc<dyn Dispatcher>,
        budgets: Budgets,
    ) -> Service {
        self.dispatcher = dispatcher;
        self.budgets = budgets;
        self
    }

    /// Executions still running `timeout_ms` after they started end `TimedOut`.
    pub fn with_execution_timeout(mut self, timeout_ms: i64) -> Service {
        self.execution_timeout_ms = timeout_ms.max(1);
        self
    }

    /// Child executions and running executions are bounded by `limits`.
    pub fn with_fork_limits(mut self, limits: ForkLimits) -> Service {
        self.forks = limits;
        self
    }

    /// Executions whose lease `n` invocations in a row took and never handed back (they died
    /// driving it) fail with `FnF.ExecutionAbandoned` instead of being driven again.
    pub fn with_max_abandoned(mut self, n: u32) -> Service {
        self.max_abandoned = n.max(1);
        self
    }

    /// Executions fail `FnF.ExecutionLimitExceeded` past these caps (accounts may override).
    pub fn with_execution_limits(
        mut self,
        limits: crate::runner::limits::ExecutionLimits,
    ) -> Service {
        self.limits = limits;
        self
    }

    /// This service with budgets that end before `deadline_ms` (epoch millis) by a safety
    /// margin; an unknown deadline (past, or beyond Lambda's 15 minutes) changes nothing.
    pub fn within_deadline(&self, deadline_ms: i64) -> Service {
        const SAFETY_MS: i64 = 3_000;
        const LAMBDA_MAX_MS: i64 = 15 * 60 * 1000;
        let left = deadline_ms - self.clock.now_ms() - SAFETY_MS;
        let mut service = self.clone();
        if left > 0 && left <= LAMBDA_MAX_MS {
            service.budgets.invocation_ms = service.budgets.invocation_ms.min(left);
            service.budgets.response_ms = service.budgets.response_ms.min(left);
        }
        service
    }

    /// Runs one action; the answer's fields, without `RequestId` (the API layer adds it).
    pub async fn call(&self, req: &FnfRequest) -> Result<Map<String, Value>, FnfError> {
        let p = &req.params;
        match req.action.as_str() {
            "CreateFlow" => create_flow::handle(self, p).await,
            "UpdateFlow" => update_flow::handle(self, p).await,
            "DescribeFlow" => describe_flow::handle(self, p).await,
            "DeleteFlow" => delete_flow::handle(self, p).await,
            "ListFlows" => list_flows::handle(self, p).await,
            "PublishFlowVersion" => publish_flow_version::handle(self, p).await,
            "ListFlowVersions" => list_flow_versions::handle(self, p).await,
            "DeleteFlowVersion" => delete_flow_version::handle(self, p).await,
            "CreateFlowAlias" => create_flow_alias::handle(self, p).await,
            "DescribeFlowAlias" => describe_flow_alias::handle(self, p).await,
            "UpdateFlowAlias" => update_flow_alias::handle(self, p).await,
            "DeleteFlowAlias" => delete_flow_alias::handle(self, p).await,
            "ListFlowAliases" => list_flow_aliases::handle(self, p).await,
            "StartExecution" => start_execution::handle(self, p).await,
            "DescribeExecution" => describe_execution::handle(self, p).await,
            "ListExecutions" => list_executions::handle(self, p).await,
            "GetExecutionHistory" => get_execution_history::handle(self, p).await,
            "StopExecution" => stop_execution::handle(self, p).await,
            "ReportTaskSucceeded" => report_task::succeeded(self, p).await,
            "ReportTaskFailed" => report_task::failed(self, p).await,
            "CreateAccount" => accounts::create(self, p).await,
            "DescribeAccount" => accounts::describe(self, p).await,
            "UpdateAccount" => accounts::update(self, p).await,
            "ListAccounts" => accounts::list(self, p).await,
            "CreateAccessKey" => access_keys::create(self, p).await,
            "ListAccessKeys" => access_keys::list(self, p).await,
            "UpdateAccessKey" => access_keys::update(self, p).await,
            "DeleteAccessKey" => access_keys::delete(self, p).await,
            other => Err(FnfError::ActionNotSupported(truncate(other, 64))),
        }
    }
}

/// Echoes caller text into messages only up to a bound.
pub(crate) fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}
