//! Which outside services tasks may call, from the environment.

use std::sync::Arc;

use crate::service::Integrations;
use crate::tasks::function::{FunctionConfig, FunctionTasks};
use crate::tasks::http::egress::{self, Egress};
use crate::tasks::http::{HttpConfig, HttpTasks};

/// `FNF_FUNCTION_TASKS=on|off` turns function tasks (AWS Lambda) on or off; by default they
/// are on inside Lambda and wherever AWS is configured (`AWS_REGION` or
/// `AWS_ENDPOINT_URL_LAMBDA`), off elsewhere, where they fail with `FnF.TaskNotConfigured`
/// rather than with a credentials error.
pub const FUNCTION_TASKS_ENV: &str = "FNF_FUNCTION_TASKS";
/// Default timeout of HTTP tasks without a TimeoutSeconds of their own, in milliseconds.
pub const HTTP_TIMEOUT_ENV: &str = "FNF_HTTP_TIMEOUT_MS";
/// Largest HTTP task response body, in bytes.
pub const HTTP_MAX_RESPONSE_ENV: &str = "FNF_HTTP_MAX_RESPONSE_BYTES";
/// Networks HTTP tasks may reach although the egress rule denies them (comma-separated CIDRs,
/// or `none`); when unset: none, or loopback where `integrations_from_env` is told so.
pub const HTTP_ALLOW_NETWORKS_ENV: &str = egress::ALLOW_NETWORKS_ENV;

/// HTTP tasks always; function tasks as `FUNCTION_TASKS_ENV` says (`in_lambda`: this process
/// is a Lambda function). `loopback_by_default`: HTTP tasks may reach loopback unless
/// `HTTP_ALLOW_NETWORKS_ENV` says otherwise (local `serve` without authentication, where every
/// caller is the operator already). A bad network list is an error: a typo must not open, or
/// silently close, the service's own network.
pub async fn integrations_from_env(
    in_lambda: bool,
    loopback_by_default: bool,
) -> Result<Integrations, String> {
    let mut http = HttpConfig::default();
    if let Some(ms) = env_u64(HTTP_TIMEOUT_ENV) {
        http.default_timeout_ms = ms;
    }
    if let Some(bytes) = env_u64(HTTP_MAX_RESPONSE_ENV) {
        http.max_response_bytes = usize::try_from(bytes).unwrap_or(usize::MAX);
    }
    http.egress = egress_from_env(loopback_by_default)?;
    let function = if function_tasks_on(in_lambda) {
        let tasks = FunctionTasks::from_env(FunctionConfig::from_env());
        Some(Arc::new(tasks) as _)
    } else {
        None
    };
    Ok(Integrations {
        http: Some(Arc::new(HttpTasks::new(http))),
        function,
    })
}

fn egress_from_env(loopback_by_default: bool) -> Result<Egress, String> {
    let egress = match std::env::var(HTTP_ALLOW_NETWORKS_ENV) {
        Ok(list) if !list.trim().is_empty() => Egress::parse(&list).map_err(|e| e.to_string())?,
        _ if loopback_by_default => Egress::allow_loopback(),
        _ => Egress::deny(),
    };
    if !egress.allowed().is_empty() {
        let list: Vec<String> = egress.allowed().iter().map(ToString::to_string).collect();
        tracing::info!(networks = %list.join(","), "HTTP tasks may reach these networks despite the egress rule");
    }
    Ok(egress)
}

fn function_tasks_on(in_lambda: bool) -> bool {
    let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
    match std::env::var(FUNCTION_TASKS_ENV).as_deref().map(str::trim) {
        Ok("on" | "true" | "1") => true,
        Ok("off" | "false" | "0") => false,
        _ => in_lambda || set("AWS_REGION") || set("AWS_ENDPOINT_URL_LAMBDA"),
    }
}

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?.trim().parse().ok()?;
    (value > 0).then_some(value)
}
