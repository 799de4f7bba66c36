//! A bound on one `advance` call's work, not only on its transitions: 1024 transitions of
//! states that each match a regular expression near its step budget hold a core for minutes,
//! while the caller can look at its clock (its budget, its lease) only between calls.
//!
//! The meter is deterministic (no clock): it counts what the work is made of, in units of
//! about one regular-expression step (some 7 ns of one core in a release build): every step
//! `regexMatchString` spends, every byte of state data built and checked (`check_size`), and
//! `TRANSITION_WORK` per state entered. Past the quota `advance` yields before the next state,
//! so one call runs for at most the quota plus one state's own work (whose regular
//! expressions are bounded by `FNF_REGEX_MAX_STEPS`, its data by 64 KiB per value).

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

/// Work of one `advance` call before it yields: about 0.15 s of one core in a release build
/// (as much as one state's regular expressions may spend), so the caller sees its deadline
/// well inside the lease margin (2 s by default) even after a state that used all of it.
pub const DEFAULT_STEP_WORK: u64 = 20_000_000;
/// The work counted for entering a state, besides what it computes: a transition costs a
/// microsecond or so (history event, data moved), so 1024 of them stay far under the quota.
const TRANSITION_WORK: u64 = 100;

static STEP_WORK: AtomicU64 = AtomicU64::new(DEFAULT_STEP_WORK);

thread_local! {
    /// The work of the `advance` call running on this thread (`advance` is synchronous).
    static SPENT: Cell<u64> = const { Cell::new(0) };
}

/// Sets the work quota of every later `advance` call in this process (`FNF_STEP_WORK`).
pub fn set_step_work(units: u64) {
    STEP_WORK.store(units.max(1), Ordering::Relaxed);
}

/// The work quota of one `advance` call.
pub fn step_work() -> u64 {
    STEP_WORK.load(Ordering::Relaxed)
}

/// Starts an `advance` call's count.
pub(super) fn begin() {
    SPENT.with(|s| s.set(0));
}

/// Counts `units` of work.
pub(super) fn spend(units: u64) {
    SPENT.with(|s| s.set(s.get().saturating_add(units)));
}

/// Counts entering a state.
pub(super) fn transition() {
    spend(TRANSITION_WORK);
}

/// Whether this call did its share: `advance` yields before the next state.
pub(super) fn used_up() -> bool {
    SPENT.with(Cell::get) >= step_work()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quota_is_reached_by_what_is_spent_and_reset_per_call() {
        begin();
        assert!(!used_up());
        spend(step_work() - 1);
        assert!(!used_up());
        transition();
        assert!(used_up());
        begin();
        assert!(!used_up(), "each call counts afresh");
    }
}
