//! DescribeExecution, with the `WaitTimeSeconds` long poll: answer as soon as the execution
//! ends, or when the wait is over.

use std::time::Duration;

use super::Service;
use super::params;
use super::views::{self, Fields};
use crate::api::Params;
use crate::error::FnfError;

/// Longest long poll, as the API documents it.
const MAX_WAIT_SECONDS: i64 = 60;
/// How often a long poll reads the execution.
const POLL_MS: i64 = 200;

pub async fn handle(svc: &Service, p: &Params) -> Result<Fields, FnfError> {
    let flow = params::name(p, "FlowName")?;
    let name = params::name(p, "ExecutionName")?;
    let wait_ms = match p.optional("WaitTimeSeconds") {
        None => 0,
        Some(raw) => match raw.parse::<i64>() {
            Ok(s) if (0..=MAX_WAIT_SECONDS).contains(&s) => s * 1000,
            _ => {
                return Err(FnfError::invalid(
                    "WaitTimeSeconds",
                    format!("must be an integer from 0 to {MAX_WAIT_SECONDS}, got {raw:.32?}"),
                ));
            }
        },
    };
    let deadline = svc.clock.now_ms().saturating_add(wait_ms);
    loop {
        let exec = svc.store.view_execution(flow, name).await?.ok_or_else(|| {
            FnfError::ExecutionNotExists {
                flow: flow.to_owned(),
                execution: name.to_owned(),
            }
        })?;
        let left = deadline - svc.clock.now_ms();
        if exec.status.is_ended() || left <= 0 {
            return Ok(views::execution(&exec));
        }
        tokio::time::sleep(Duration::from_millis(left.min(POLL_MS) as u64)).await;
    }
}
