//! Carrying executions on across invocations: a continuation takes the lease of the version it
//! names (one conditional write) and drives the execution; the sweep re-dispatches executions
//! whose wait ended or whose lease expired, so none stays `Running` with nobody working on it.

use super::Service;
use crate::dispatch::{Continuation, SHORT_WAIT_MS};
use crate::error::FnfError;
use crate::store::scoped::{DEFAULT_ACCOUNT, split_flow_name};
use crate::store::{ExecutionRecord, StoreError};

/// Most executions one sweep re-dispatches; the next sweep takes the rest.
pub const SWEEP_LIMIT: usize = 1000;
/// Invocations in a row that may die driving one execution before it is failed: one lost
/// process is ordinary (a deploy, a Lambda recycled), three in a row at the same place is an
/// execution that kills whatever runs it, and retrying it forever would take the service down
/// with it, restart after restart.
pub const DEFAULT_MAX_ABANDONED: u32 = 3;
/// The error of an execution failed for that.
pub const ABANDONED_ERROR: &str = "FnF.ExecutionAbandoned";

/// What became of a continuation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Continued {
    /// This invocation drove the execution; the version it left it at.
    Drove { version: u64 },
    /// The execution is gone, ended, at another version, or leased to a live invocation:
    /// a duplicate, late or out-of-order delivery. Nothing was written.
    Skipped,
}

impl Service {
    /// Handles a continuation: fenced on its version, so duplicates do nothing. Continuations
    /// name flows as stored (`<account>:<flow>`); another account's execution runs under
    /// that account's view, so its tasks start children in its own account.
    pub async fn continue_execution(
        &self,
        c: &Continuation,
        owner: &str,
    ) -> Result<Continued, FnfError> {
        let (account, flow) = split_flow_name(&c.flow);
        if self.account == DEFAULT_ACCOUNT && account != DEFAULT_ACCOUNT {
            let scoped = self.for_account(account);
            let c = Continuation {
                flow: flow.to_owned(),
                ..c.clone()
            };
            return Box::pin(scoped.continue_execution(&c, owner)).await;
        }
        let Some(exec) = self.store.get_execution(&c.flow, &c.name).await? else {
            return Ok(Continued::Skipped);
        };
        let now = self.clock.now_ms();
        // An ended execution still due has a report to its parent outstanding.
        if exec.status.is_ended() {
            if exec.due_ms.is_some() {
                self.report_end(exec).await?;
            }
            return Ok(Continued::Skipped);
        }
        let leased = exec.lease_until_ms.is_some_and(|until| until > now);
        // A parked wait delivered long before its time waits for it, rather than paying for
        // a lease and a park that change nothing; one due soon is slept out in place.
        let early = exec.lease_owner.is_none()
            && exec
                .due_ms
                .is_some_and(|due| due > now.saturating_add(SHORT_WAIT_MS));
        if exec.version != c.version || exec.status.is_ended() || leased || early {
            tracing::debug!(flow = %c.flow, execution = %c.name, expected = c.version, found = exec.version, "continuation skipped");
            return Ok(Continued::Skipped);
        }
        let budget = self.budgets.invocation_ms;
        let Some(leased) = self.take_lease(exec, owner, now, budget).await? else {
            return Ok(Continued::Skipped);
        };
        let after = if leased.abandoned >= self.max_abandoned {
            self.fail_abandoned(leased).await?
        } else {
            self.driving(&leased).drive(leased, budget).await?
        };
        Ok(Continued::Drove {
            version: after.version,
        })
    }

    /// Claims the execution for `owner` until the budget (plus margin) ends, one conditional
    /// write. `None` when another invocation got there first.
    pub(super) async fn take_lease(
        &self,
        mut exec: ExecutionRecord,
        owner: &str,
        now: i64,
        budget_ms: i64,
    ) -> Result<Option<ExecutionRecord>, FnfError> {
        let expected = exec.version;
        // A lease that ran out with its owner still named: that invocation never handed the
        // execution back (parking clears the count).
        if exec.lease_owner.is_some() {
            exec.abandoned = exec.abandoned.saturating_add(1);
            tracing::warn!(flow = %exec.flow, execution = %exec.name, abandoned = exec.abandoned, "taking over an execution whose invocation did not hand it back");
        }
        let until = now
            .saturating_add(budget_ms)
            .saturating_add(self.budgets.lease_margin_ms);
        exec.version += 1;
        exec.lease_owner = Some(owner.to_owned());
        exec.lease_until_ms = Some(until);
        // Should this invocation die, the sweep finds the execution when the lease expires.
        exec.due_ms = Some(until);
        match self.store.update_execution(&exec, expected).await {
            Ok(()) => Ok(Some(exec)),
            Err(StoreError::ConditionFailed) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Fails an execution that its last invocations all died driving, without running any of
    /// it here: whatever killed them would kill this one too.
    async fn fail_abandoned(&self, exec: ExecutionRecord) -> Result<ExecutionRecord, FnfError> {
        tracing::error!(flow = %exec.flow, execution = %exec.name, abandoned = exec.abandoned, "failing an execution whose invocations keep dying");
        let failed = crate::engine::Outcome::Failed {
            error: ABANDONED_ERROR.into(),
            cause: format!(
                "{} invocations in a row ended without handing the execution back (the process \
                 died or overran its lease while driving it); it is not retried again",
                exec.abandoned
            ),
        };
        self.end(exec, failed, Vec::new()).await
    }

    /// Re-dispatches every running execution due by now (a wait ended, a lease expired, a
    /// dispatch was lost). Answers how many it dispatched.
    pub async fn sweep(&self) -> Result<usize, FnfError> {
        let due = self.root.list_due(self.clock.now_ms(), SWEEP_LIMIT).await?;
        let mut sent = 0;
        for d in due {
            let c = Continuation {
                flow: d.flow,
                name: d.name,
                version: d.version,
            };
            match self.dispatcher.dispatch(c, None).await {
                Ok(()) => sent += 1,
                Err(e) => tracing::warn!(error = %e, "sweep could not dispatch"),
            }
        }
        if sent > 0 {
            tracing::info!(dispatched = sent, "sweep");
        }
        Ok(sent)
    }
}
