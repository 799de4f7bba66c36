//! Entry points: the Lambda function and the local HTTP server. Both build a [`Service`] and
//! hand every request to the same API adapter.

mod access;
pub mod backup;
pub mod cli;
mod integrations;
pub mod lambda;
pub mod serve;
pub mod worker;

pub use access::{DEFAULT_REQUESTS_PER_SECOND, bootstrap_admin_key, gate_from_env};
pub use integrations::{
    FUNCTION_TASKS_ENV, HTTP_ALLOW_NETWORKS_ENV, HTTP_MAX_RESPONSE_ENV, HTTP_TIMEOUT_ENV,
    integrations_from_env,
};

use std::path::PathBuf;
use std::sync::Arc;

use crate::clock::SystemClock;
use crate::dispatch::local::{self, LocalDispatcher};
use crate::runner::limits::{self, ExecutionLimits};
use crate::service::{Budgets, ForkLimits, Integrations, Service};
use crate::store::dynamo::DynamoStore;
use crate::store::embedded::{self, EmbeddedStore};
use crate::store::{Store, StoreError};

/// Which store a process uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreChoice {
    /// A DynamoDB table (`TABLE_NAME`); `AWS_ENDPOINT_URL_DYNAMODB` redirects it locally.
    Dynamo { table: String },
    /// The embedded store in a directory (`FNF_DATA_DIR`).
    Embedded { dir: PathBuf },
}

/// The default data directory of the embedded store, under the working directory.
pub const DEFAULT_DATA_DIR: &str = ".fnf-data";

impl StoreChoice {
    /// From the environment: `TABLE_NAME` means DynamoDB unless `FNF_STORE=embedded`;
    /// otherwise the embedded store in `FNF_DATA_DIR`.
    pub fn from_env() -> StoreChoice {
        let table = std::env::var("TABLE_NAME").ok().filter(|t| !t.is_empty());
        let forced_embedded = std::env::var("FNF_STORE").is_ok_and(|s| s == "embedded");
        match table {
            Some(table) if !forced_embedded => StoreChoice::Dynamo { table },
            _ => StoreChoice::Embedded {
                dir: data_dir_from_env(),
            },
        }
    }

    pub async fn open(&self) -> Result<Arc<dyn Store>, StoreError> {
        Ok(match self {
            StoreChoice::Dynamo { table } => Arc::new(DynamoStore::from_env(table.clone()).await),
            StoreChoice::Embedded { dir } => {
                let cache = crate::settings::count_or_default(
                    embedded::CACHE_BYTES_ENV,
                    embedded::DEFAULT_CACHE_BYTES as u64,
                    0,
                );
                let cache = usize::try_from(cache).unwrap_or(usize::MAX);
                Arc::new(EmbeddedStore::open_with_cache(dir, cache)?)
            }
        })
    }
}

pub fn data_dir_from_env() -> PathBuf {
    std::env::var_os("FNF_DATA_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR))
}

/// A service on the real clock, with the execution timeout of `FNF_EXECUTION_TIMEOUT_SECONDS`
/// (default one year), `FNF_MAX_ABANDONED_INVOCATIONS` (default 3) and the bounds on child and
/// running executions (`FNF_MAX_CHILD_DEPTH`, `FNF_MAX_CHILDREN_PER_EXECUTION`,
/// `FNF_MAX_RUNNING_EXECUTIONS`: a malformed one is an error); `FNF_REGEX_MAX_STEPS` sets the
/// step budget of one `regexMatchString`.
pub fn service(store: Arc<dyn Store>) -> Result<Service, String> {
    regex_budget_from_env();
    let forks = ForkLimits::from_lookup(crate::settings::env)?;
    let mut service = Service::new(store, Arc::new(SystemClock)).with_fork_limits(forks);
    if let Ok(raw) = std::env::var("FNF_FLOW_CACHE_MS") {
        match raw.trim().parse::<i64>() {
            Ok(ms) if ms >= 0 => service = service.with_flow_cache(ms),
            _ => {
                tracing::warn!(value = %raw, "FNF_FLOW_CACHE_MS is not a number of milliseconds; ignored")
            }
        }
    }
    if let Some(n) = env_ms("FNF_MAX_ABANDONED_INVOCATIONS") {
        service = service.with_max_abandoned(u32::try_from(n).unwrap_or(u32::MAX));
    }
    service = service.with_execution_limits(execution_limits_from_env());
    Ok(match env_ms("FNF_EXECUTION_TIMEOUT_SECONDS") {
        Some(seconds) => service.with_execution_timeout(seconds.saturating_mul(1000)),
        None => service,
    })
}

/// The per-execution caps: `FNF_MAX_EXECUTION_TRANSITIONS`, `FNF_MAX_HISTORY_BYTES` (0: no
/// cap; a value that is not a number is logged and the default kept).
pub fn execution_limits_from_env() -> ExecutionLimits {
    ExecutionLimits::new(
        crate::settings::count_or_default(
            limits::MAX_TRANSITIONS_ENV,
            limits::DEFAULT_MAX_EXECUTION_TRANSITIONS,
            0,
        ),
        crate::settings::count_or_default(
            limits::MAX_HISTORY_BYTES_ENV,
            limits::DEFAULT_MAX_HISTORY_BYTES,
            0,
        ),
    )
}

/// `FNF_REGEX_MAX_STEPS`: the step budget of `regexMatchString` per state, and
/// `FNF_STEP_WORK`: the work quota of one engine step (serve, Lambda and `fnf-lambda run`
/// alike).
pub fn regex_budget_from_env() {
    if let Some(steps) = env_ms("FNF_REGEX_MAX_STEPS") {
        crate::flow::expr::set_max_regex_steps(steps as u64);
    }
    if let Some(units) = env_ms("FNF_STEP_WORK") {
        crate::engine::set_step_work(units as u64);
    }
}

fn env_ms(name: &str) -> Option<i64> {
    std::env::var(name)
        .ok()?
        .trim()
        .parse()
        .ok()
        .filter(|v: &i64| *v > 0)
}

/// Budgets from the environment: `FNF_RESPONSE_BUDGET_MS` (default 5 s, what a synchronous
/// caller waits before it gets `Running`), `FNF_INVOCATION_BUDGET_MS` (how long one
/// invocation drives before it checkpoints; default `default_invocation_ms`),
/// `FNF_LEASE_MARGIN_MS` (default 2 s).
pub fn budgets_from_env(default_invocation_ms: i64) -> Budgets {
    let invocation_ms = env_ms("FNF_INVOCATION_BUDGET_MS").unwrap_or(default_invocation_ms);
    Budgets {
        response_ms: env_ms("FNF_RESPONSE_BUDGET_MS")
            .unwrap_or(5_000)
            .min(invocation_ms),
        invocation_ms,
        lease_margin_ms: env_ms("FNF_LEASE_MARGIN_MS").unwrap_or(2_000),
    }
}

/// How often the in-process sweep runs (`FNF_SWEEP_INTERVAL_MS`, default 10 s).
pub fn sweep_interval_from_env() -> std::time::Duration {
    std::time::Duration::from_millis(env_ms("FNF_SWEEP_INTERVAL_MS").unwrap_or(10_000) as u64)
}

/// A service whose continuations run in this process (serve, `cargo lambda watch`), with its
/// worker and sweeper started, and its tasks calling `integrations`. The worker drives at most
/// `FNF_MAX_DRIVEN_EXECUTIONS` at once, with at most `FNF_MAX_QUEUED_CONTINUATIONS` waiting.
pub fn local_service(
    store: Arc<dyn Store>,
    budgets: Budgets,
    integrations: Integrations,
) -> Result<Service, String> {
    let max_driven = count_setting(worker::MAX_DRIVEN_ENV, worker::DEFAULT_MAX_DRIVEN)?;
    let capacity = count_setting(MAX_QUEUED_ENV, local::DEFAULT_QUEUE_CAPACITY)?;
    let (dispatcher, queue) = LocalDispatcher::new(SystemClock, capacity);
    let service = service(store)?
        .with_continuations(Arc::new(dispatcher), budgets)
        .with_integrations(integrations);
    worker::spawn_worker(service.clone(), queue, max_driven);
    worker::spawn_sweeper(service.clone(), sweep_interval_from_env());
    Ok(service)
}

pub const MAX_QUEUED_ENV: &str = "FNF_MAX_QUEUED_CONTINUATIONS";

/// A count from 1 to 1,000,000 in `name`, else `default`; anything else set is an error.
fn count_setting(name: &str, default: usize) -> Result<usize, String> {
    let n = crate::settings::count(&crate::settings::env, name, default as u64, 1, 1_000_000)?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}
