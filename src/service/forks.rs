//! Bounds on executions that start executions (issue 13: a flow whose two Parallel branches
//! each started the same flow made 6,500 executions in 18 s and took `serve` down). A child
//! start is admitted, or refused with a named task error, before the calls go out:
//!
//! - depth: an execution started through the API is at depth 0, a child at its parent's
//!   plus one (kept in the record); a child past [`ForkLimits::max_depth`] is refused;
//! - children per execution: counted in the parent's record by the same fenced write that
//!   stores the calls before they are made, so a call made again after a crash (it is in
//!   flight in the stored state, not new) is not counted twice, and a duplicated invocation
//!   is fenced off before it counts anything;
//! - running executions per account: every start takes a slot (`start_execution::take_slot`),
//!   by default [`ForkLimits::max_running`] unless the account's `MaxRunningExecutions` says
//!   otherwise; a child start beyond it fails its task with [`RUNNING_LIMIT_EXCEEDED`].

use crate::engine::{TaskRequest, TaskResult};
use crate::runner::Driver;
use crate::settings;
use crate::store::ExecutionRecord;
use crate::tasks::{self, Target};

pub const MAX_CHILD_DEPTH_ENV: &str = "FNF_MAX_CHILD_DEPTH";
pub const MAX_CHILDREN_ENV: &str = "FNF_MAX_CHILDREN_PER_EXECUTION";
pub const MAX_RUNNING_ENV: &str = "FNF_MAX_RUNNING_EXECUTIONS";

/// Task errors of a refused child start (Retry and Catch match them).
pub const CHILD_DEPTH_EXCEEDED: &str = "FnF.ChildDepthExceeded";
pub const CHILDREN_EXCEEDED: &str = "FnF.ChildrenLimitExceeded";
pub const RUNNING_LIMIT_EXCEEDED: &str = "FnF.RunningExecutionsLimitExceeded";

/// Nested workflows rarely go past a few levels (Step Functions documents no depth limit;
/// its examples nest two or three); 16 leaves room for deep but finite recursion, while a
/// flow that starts itself stops after 16 generations instead of forever.
pub const DEFAULT_MAX_CHILD_DEPTH: u32 = 16;
/// A Map over its 10,000 items (the item limit) may start a child for each, and retry a
/// few of them: 20,000 children per execution.
pub const DEFAULT_MAX_CHILDREN: u32 = 20_000;
/// Running executions per account when its record sets no `MaxRunningExecutions`: the
/// order of Lambda's default concurrency (1,000 per region), so executions that fan out
/// cannot hold more than a Lambda account can run; and the slot item of 1,000 holders
/// (at most 257 bytes each) stays within DynamoDB's 400 KB item.
pub const DEFAULT_MAX_RUNNING: u32 = 1_000;
/// Largest value a setting takes (as `MaxRunningExecutions` of an account).
const MAX_SETTING: u32 = 1_000_000;

/// The bounds, with their defaults; see the module comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForkLimits {
    /// Deepest child: a root is at 0, so `max_depth` levels of children run.
    pub max_depth: u32,
    /// Child starts one execution may make.
    pub max_children: u32,
    /// Running executions per account without a limit of its own (0: none).
    pub max_running: u32,
}

impl Default for ForkLimits {
    fn default() -> ForkLimits {
        ForkLimits {
            max_depth: DEFAULT_MAX_CHILD_DEPTH,
            max_children: DEFAULT_MAX_CHILDREN,
            max_running: DEFAULT_MAX_RUNNING,
        }
    }
}

impl ForkLimits {
    /// The defaults, overridden by the variables that are set; a malformed one is an error
    /// (the process does not start on it).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<ForkLimits, String> {
        let d = ForkLimits::default();
        let read = |name: &str, default: u32, min: u32| {
            let n = settings::count(&get, name, default.into(), min.into(), MAX_SETTING.into())?;
            Ok::<u32, String>(u32::try_from(n).unwrap_or(MAX_SETTING))
        };
        Ok(ForkLimits {
            max_depth: read(MAX_CHILD_DEPTH_ENV, d.max_depth, 0)?,
            max_children: read(MAX_CHILDREN_ENV, d.max_children, 0)?,
            // 0 means no limit, as an account's `MaxRunningExecutions` 0 does.
            max_running: read(MAX_RUNNING_ENV, d.max_running, 0)?,
        })
    }

    /// Admits the child starts among `calls`, the calls `exec` is about to store and make:
    /// each admitted one is counted in `exec.children`; a refused one is answered at once in
    /// `driver` (so the stored state holds its failure and no crash makes it again).
    /// Answers the calls to make, and whether any was refused (the driver then has results
    /// to step on).
    pub(super) fn admit(
        &self,
        exec: &mut ExecutionRecord,
        driver: &mut Driver<'_>,
        calls: Vec<TaskRequest>,
        now_ms: i64,
    ) -> (Vec<TaskRequest>, bool) {
        let mut admitted = Vec::with_capacity(calls.len());
        let mut refused_any = false;
        for call in calls {
            match self.refusal(exec, &call) {
                None => admitted.push(call),
                Some(refused) => {
                    tracing::info!(flow = %exec.flow, execution = %exec.name, task = %call.id, "child start refused");
                    driver.call_answered(&call.id, refused, now_ms);
                    refused_any = true;
                }
            }
        }
        (admitted, refused_any)
    }

    /// Why `exec` may not start the child `call` asks for (counting it when it may).
    fn refusal(&self, exec: &mut ExecutionRecord, call: &TaskRequest) -> Option<TaskResult> {
        if tasks::target(&call.resource) != Some(Target::Flow) {
            return None;
        }
        let (error, cause) = if exec.depth >= self.max_depth {
            (
                CHILD_DEPTH_EXCEEDED,
                format!(
                    "execution {} is {} levels deep; its children would pass the limit of {} \
                     ({MAX_CHILD_DEPTH_ENV})",
                    exec.name, exec.depth, self.max_depth
                ),
            )
        } else if exec.children >= self.max_children {
            (
                CHILDREN_EXCEEDED,
                format!(
                    "execution {} has started {} child executions, the limit \
                     ({MAX_CHILDREN_ENV})",
                    exec.name, exec.children
                ),
            )
        } else {
            exec.children += 1;
            return None;
        };
        Some(TaskResult::Failed {
            error: error.into(),
            cause,
        })
    }

    /// The running-execution limit of an account whose record sets `own` (`None`: the
    /// default; 0: none).
    pub(super) fn running_limit(&self, own: Option<u32>) -> Option<u32> {
        Some(own.unwrap_or(self.max_running)).filter(|n| *n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn settings_default_and_override() {
        assert_eq!(
            ForkLimits::from_lookup(lookup(&[])).unwrap(),
            ForkLimits::default()
        );
        let set = ForkLimits::from_lookup(lookup(&[
            (MAX_CHILD_DEPTH_ENV, "3"),
            (MAX_CHILDREN_ENV, " 7 "),
            (MAX_RUNNING_ENV, "0"),
        ]))
        .unwrap();
        assert_eq!(
            (set.max_depth, set.max_children, set.max_running),
            (3, 7, 0)
        );
        assert_eq!(set.running_limit(None), None);
        assert_eq!(set.running_limit(Some(5)), Some(5));
        assert_eq!(ForkLimits::default().running_limit(None), Some(1_000));
        assert_eq!(ForkLimits::default().running_limit(Some(0)), None);
    }

    #[test]
    fn malformed_settings_are_refused_by_name() {
        for bad in ["-1", "x", "1000001", "1.5"] {
            let err = ForkLimits::from_lookup(lookup(&[(MAX_CHILDREN_ENV, bad)])).unwrap_err();
            assert!(err.contains(MAX_CHILDREN_ENV), "{err}");
        }
    }
}
