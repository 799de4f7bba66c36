//! Caps on what one execution may do over its whole life, so that a flow that loops forever (a
//! Choice whose way out is never taken: a plain mistake) ends instead of filling the store and
//! chaining continuations at its owner's cost. Counted across continuations: transitions by
//! the engine's checkpoint, history bytes in the execution's record (`history_bytes`). The
//! service and `fnf-lambda run` apply the same caps.

use crate::engine::{self, EventKind, HistoryEvent, Outcome};
use crate::store::HistoryRecord;

/// The error of an execution that went past one of its caps; the cause names which, its value
/// and the setting. One name for both caps: the caller's remedy is the same (fix the loop or
/// raise the setting), and the cause tells them apart.
pub const EXECUTION_LIMIT_ERROR: &str = "FnF.ExecutionLimitExceeded";

/// States an execution may enter, over its life. Long flows are a feature, so the default
/// leaves them room: a Map of 10,000 items with a few states each, or a once-a-minute poll for
/// a week (Task, Choice, Wait: about 30,000), fit three times over. Step Functions stops at
/// 25,000 history events (about 12,000 transitions), CloudFlow documents 5,000. A Choice/Pass
/// runaway stops here after 200,000 history events: 13 MB as counted, 31 MB of redb file,
/// 200,000 DynamoDB item writes.
pub const DEFAULT_MAX_EXECUTION_TRANSITIONS: u64 = 100_000;
/// History an execution may store over its life, in bytes as [`event_bytes`] counts them
/// (what the store keeps of each event: about 66 bytes for a StepEntered). 100,000
/// transitions of small events count 13-30 MB, so the transition cap decides for them; this
/// one stops a loop whose events carry large error causes (up to 2 KiB each) first.
pub const DEFAULT_MAX_HISTORY_BYTES: u64 = 64 * 1024 * 1024;
/// The deployment's settings (0: no cap).
pub const MAX_TRANSITIONS_ENV: &str = "FNF_MAX_EXECUTION_TRANSITIONS";
pub const MAX_HISTORY_BYTES_ENV: &str = "FNF_MAX_HISTORY_BYTES";
/// The account's overrides, as the account actions name them (0: no cap for the account).
pub const MAX_TRANSITIONS_PARAM: &str = "MaxExecutionTransitions";
pub const MAX_HISTORY_BYTES_PARAM: &str = "MaxHistoryBytes";
/// An event's stored bytes besides its text fields (`HistoryRecord::OVERHEAD_BYTES`).
pub const EVENT_OVERHEAD_BYTES: u64 = HistoryRecord::OVERHEAD_BYTES;

/// One cap: its value (`None`: none) and the setting it comes from, for the cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cap {
    pub value: Option<u64>,
    /// `FNF_MAX_EXECUTION_TRANSITIONS`, or `MaxExecutionTransitions of account acme`.
    pub setting: String,
}

impl Cap {
    fn deployment(value: u64, env: &str) -> Cap {
        Cap {
            value: (value > 0).then_some(value),
            setting: env.to_owned(),
        }
    }

    /// The account's value, when it has one, replaces the deployment's.
    fn overridden(&self, account: &str, param: &str, value: Option<u64>) -> Cap {
        match value {
            None => self.clone(),
            Some(v) => Cap {
                value: (v > 0).then_some(v),
                setting: format!("{param} of account {account}"),
            },
        }
    }

    fn passed_by(&self, used: u64) -> Option<u64> {
        self.value.filter(|&max| used > max)
    }
}

/// The caps an execution runs under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionLimits {
    pub transitions: Cap,
    pub history_bytes: Cap,
}

impl Default for ExecutionLimits {
    fn default() -> ExecutionLimits {
        ExecutionLimits::new(DEFAULT_MAX_EXECUTION_TRANSITIONS, DEFAULT_MAX_HISTORY_BYTES)
    }
}

impl ExecutionLimits {
    /// The deployment's caps (0: no cap).
    pub fn new(transitions: u64, history_bytes: u64) -> ExecutionLimits {
        ExecutionLimits {
            transitions: Cap::deployment(transitions, MAX_TRANSITIONS_ENV),
            history_bytes: Cap::deployment(history_bytes, MAX_HISTORY_BYTES_ENV),
        }
    }

    /// These caps with `account`'s overrides applied.
    pub fn for_account(
        &self,
        account: &str,
        transitions: Option<u64>,
        history_bytes: Option<u64>,
    ) -> ExecutionLimits {
        ExecutionLimits {
            transitions: self
                .transitions
                .overridden(account, MAX_TRANSITIONS_PARAM, transitions),
            history_bytes: self.history_bytes.overridden(
                account,
                MAX_HISTORY_BYTES_PARAM,
                history_bytes,
            ),
        }
    }

    /// Counts the events of one step into `history_bytes`; `transitions`: the states the
    /// execution has entered, these events' included. The event that passes a cap (the
    /// entering of one state too many, or the byte too many) and those after it are dropped,
    /// so the stored history shows the execution up to its caps, whatever the step's size,
    /// and the failure is answered.
    pub fn record(
        &self,
        transitions: u64,
        history_bytes: &mut u64,
        new: &mut Vec<HistoryEvent>,
    ) -> Option<Outcome> {
        let entering = new.iter().filter(|e| e.kind == EventKind::StepEntered);
        let mut entered = transitions.saturating_sub(entering.count() as u64);
        let max_bytes = self.history_bytes.value.unwrap_or(u64::MAX);
        for (i, e) in new.iter().enumerate() {
            if e.kind == EventKind::StepEntered {
                entered += 1;
                if let Some(max) = self.transitions.passed_by(entered) {
                    let cap = format!("{max} transitions");
                    let failed = self.fail(&cap, &self.transitions.setting, &e.step_name);
                    new.truncate(i);
                    return Some(failed);
                }
            }
            let after = history_bytes.saturating_add(event_bytes(e));
            if after > max_bytes {
                let cap = format!("{max_bytes} bytes of history");
                let failed = self.fail(&cap, &self.history_bytes.setting, &e.step_name);
                new.truncate(i);
                return Some(failed);
            }
            *history_bytes = after;
        }
        None
    }

    fn fail(&self, cap: &str, setting: &str, step: &str) -> Outcome {
        let at = if step.is_empty() {
            String::new()
        } else {
            format!(" at state {step:.128?}")
        };
        Outcome::Failed {
            error: EXECUTION_LIMIT_ERROR.to_owned(),
            cause: format!(
                "the execution reached its limit of {cap} ({setting}){at}: a loop that never \
                 ends? raise the setting if the flow needs more"
            ),
        }
    }
}

/// What the store keeps of `e`, in bytes: [`HistoryRecord::stored_bytes`] of its record,
/// counted without building the record (its detail is measured, not kept as text).
pub fn event_bytes(e: &HistoryEvent) -> u64 {
    let detail = if e.detail.is_null() {
        2 // stored as "{}"
    } else {
        engine::json_len(&e.detail, usize::MAX) as u64
    };
    (e.kind.as_str().len() + e.step_name.len()) as u64 + detail + EVENT_OVERHEAD_BYTES
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn event(kind: EventKind, detail: Value) -> HistoryEvent {
        HistoryEvent {
            id: 7,
            kind,
            step_name: "check".into(),
            schedule_event_id: None,
            time_ms: 0,
            detail,
        }
    }

    /// `n` turns of a loop: each enters a state and leaves it.
    fn turns(n: usize) -> Vec<HistoryEvent> {
        let turn = [
            event(EventKind::StepEntered, Value::Null),
            event(EventKind::StepExited, Value::Null),
        ];
        turn.iter().cloned().cycle().take(2 * n).collect()
    }

    fn cause(failed: Option<Outcome>) -> String {
        match failed {
            Some(Outcome::Failed { error, cause }) => {
                assert_eq!(error, EXECUTION_LIMIT_ERROR);
                cause
            }
            other => panic!("not failed: {other:?}"),
        }
    }

    #[test]
    fn an_event_weighs_its_text_as_stored() {
        let detail = json!({"error": "E", "cause": "c"});
        let text = detail.to_string();
        let fixed = ("StepEntered".len() + "check".len()) as u64 + EVENT_OVERHEAD_BYTES;
        let e = event(EventKind::StepEntered, detail);
        assert_eq!(event_bytes(&e), fixed + text.len() as u64);
        let e = event(EventKind::StepEntered, Value::Null);
        assert_eq!(event_bytes(&e), fixed + 2, "as \"{{}}\"");
    }

    #[test]
    fn the_state_past_the_transition_cap_is_not_entered() {
        let caps = ExecutionLimits::new(10, 0);
        // 8 states entered before this step, 5 in it: the 11th is one too many.
        let (mut bytes, mut events) = (0, turns(5));
        let cause = cause(caps.record(13, &mut bytes, &mut events));
        assert!(cause.contains("10 transitions") && cause.contains(MAX_TRANSITIONS_ENV));
        assert!(cause.contains("\"check\""), "{cause}");
        assert_eq!(events.len(), 4, "two turns kept, the third not entered");
        let (mut bytes, mut events) = (0, turns(2));
        assert_eq!(caps.record(10, &mut bytes, &mut events), None, "at the cap");
        assert_eq!(bytes, events.iter().map(event_bytes).sum::<u64>());
    }

    #[test]
    fn events_past_the_history_cap_are_dropped() {
        let one = event_bytes(&event(EventKind::StepEntered, Value::Null));
        let caps = ExecutionLimits::new(0, 3 * one);
        let (mut used, mut events) = (one, turns(3));
        let cause = cause(caps.record(3, &mut used, &mut events));
        assert!(cause.contains(&format!("{} bytes", 3 * one)), "{cause}");
        assert!(cause.contains(MAX_HISTORY_BYTES_ENV), "{cause}");
        let kept: u64 = events.iter().map(event_bytes).sum();
        assert_eq!(events.len(), 2, "two more fit, the rest do not");
        assert_eq!(used, one + kept);
    }

    #[test]
    fn an_account_replaces_the_deployment_caps_and_zero_lifts_them() {
        let caps = ExecutionLimits::new(10, 1000).for_account("acme", Some(5), Some(0));
        let mut events = turns(6);
        let cause = cause(caps.record(6, &mut 0, &mut events));
        assert!(
            cause.contains("MaxExecutionTransitions of account acme"),
            "{cause}"
        );
        let mut events = turns(5);
        assert_eq!(caps.record(5, &mut 0, &mut events), None, "within acme's 5");
        // No history cap for acme: far past the deployment's 1000 bytes.
        assert_eq!(caps.record(5, &mut 1_000_000, &mut turns(0)), None);
        let mut bytes = 0;
        let lifted = ExecutionLimits::new(10, 1000).for_account("big", Some(0), Some(0));
        assert_eq!(lifted.record(500, &mut bytes, &mut turns(500)), None);
        assert!(bytes > 1000);
        let kept = ExecutionLimits::new(10, 0).for_account("acme", None, None);
        assert_eq!(kept, ExecutionLimits::new(10, 0));
    }
}
