//! Keeping an invocation's lease ahead of its budget. A lease is taken for the budget plus
//! `FNF_LEASE_MARGIN_MS` before the invocation reads its clock for the budget's end: when the
//! claim or the take-over write, or reading the definition and checkpoint back, takes long
//! (DynamoDB throttled and the SDK retrying, a loaded host), the budget would outlast the
//! lease and the sweep would take over an invocation that is still driving. Then the lease is
//! renewed, once, with a fenced write; an invocation whose setup was quick (every normal one)
//! writes nothing here. Within the budget the run loop sees its deadline after every engine
//! step, which its work quota keeps short (`engine::work`), so one renewal at the start is
//! enough.

use super::Service;
use super::settle::Saved;
use crate::error::FnfError;
use crate::store::ExecutionRecord;

impl Service {
    /// Renews `exec`'s lease when it would end less than half the margin after `deadline`
    /// (the end of this invocation's budget): to the deadline plus the margin, conditional on
    /// the version this invocation holds. A refused write means another moved the execution
    /// on: `Lost`, and this invocation stops.
    pub(super) async fn keep_lease(
        &self,
        mut exec: ExecutionRecord,
        now: i64,
        deadline: i64,
    ) -> Result<Saved, FnfError> {
        let margin = self.budgets.lease_margin_ms;
        let Some(until) = renewal(exec.lease_until_ms, now, deadline, margin) else {
            return Ok(Saved::Held(exec));
        };
        tracing::info!(flow = %exec.flow, execution = %exec.name, left_ms = exec.lease_until_ms.unwrap_or(now) - now, "renewing the lease: it would end before this invocation's budget");
        let expected = exec.version;
        exec.version += 1;
        exec.lease_until_ms = Some(until);
        // Should this invocation die, the sweep finds the execution when the lease expires.
        exec.due_ms = Some(until);
        self.hold(exec, expected).await
    }
}

/// The lease's new end, when it needs one: it ends less than half the margin after the
/// budget, and the budget is not used up yet (past it the invocation parks, itself a write).
/// Without a margin (`Budgets::UNBOUNDED`: every execution runs to its end in one call) there
/// is nothing to keep.
fn renewal(lease_until: Option<i64>, now: i64, deadline: i64, margin: i64) -> Option<i64> {
    let until = lease_until.filter(|_| margin > 0)?;
    let needed = deadline.saturating_add(margin / 2);
    (now < deadline && until < needed).then(|| deadline.saturating_add(margin))
}

#[cfg(test)]
mod tests {
    use super::renewal;

    #[test]
    fn a_lease_is_renewed_only_when_it_would_end_before_the_budget_and_its_margin() {
        // Taken for budget (1000) + margin (2000) just before the deadline was read: kept.
        assert_eq!(renewal(Some(3_000), 0, 1_000, 2_000), None);
        assert_eq!(renewal(Some(2_900), 100, 1_100, 2_000), None);
        // The setup took 1.5 s: the lease would end 500 ms after the budget.
        assert_eq!(renewal(Some(3_000), 1_500, 2_500, 2_000), Some(4_500));
        // Past the budget the invocation parks instead; no lease (not driven): nothing.
        assert_eq!(renewal(Some(100), 2_500, 2_500, 2_000), None);
        assert_eq!(renewal(None, 0, 1_000, 2_000), None);
        assert_eq!(renewal(Some(1_000), 10, 1_010, 0), None);
    }
}
