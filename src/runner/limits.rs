//! Caps on what one execution may do over its whole life, so that a flow that loops forever (a
//! Choice whose way out is never taken: a plain mistake) ends instead of filling the store and
//! chaining continuations at its owner's cost. Counted across continuations: transitions by
//! the engine's checkpoint, history bytes in the execution's record (`history_bytes`). The
//! service and `fnf-lambda run` apply the same caps.

use crate::engine::{HistoryEvent, Outcome};

/// The error of an execution that went past one of its caps; the cause names which, its value
/// and the setting. One name for both caps: the caller's remedy is the same (fix the loop or
/// raise the setting), and the cause tells them apart.
pub const EXECUTION_LIMIT_ERROR: &str = "FnF.ExecutionLimitExceeded";

/// States an execution may enter, over its life. Long flows are a feature, so the default
/// leaves them room: a Map of 10,000 items with a few states each, or a once-a-minute poll for
/// a week (Task, Choice, Wait: about 30,000), fit three times over. Step Functions stops at
/// 25,000 history events (about 12,000 transitions), CloudFlow documents 5,000. A runaway
/// loop stops here after about 300,000 history events, a few tens of MB.
pub const DEFAULT_MAX_EXECUTION_TRANSITIONS: u64 = 100_000;
/// History an execution may store over its life, in bytes as [`event_bytes`] counts them
/// (what the store keeps of each event). 100,000 transitions of small events take about
/// 20-40 MB, so the default lets the transition cap decide for them, and stops a loop whose
/// events carry large error causes (up to 2 KiB each) before it stores more.
pub const DEFAULT_MAX_HISTORY_BYTES: u64 = 64 * 1024 * 1024;
/// The deployment's settings (0: no cap).
pub const MAX_TRANSITIONS_ENV: &str = "FNF_MAX_EXECUTION_TRANSITIONS";
pub const MAX_HISTORY_BYTES_ENV: &str = "FNF_MAX_HISTORY_BYTES";
/// The account's overrides, as the account actions name them (0: no cap for the account).
pub const MAX_TRANSITIONS_PARAM: &str = "MaxExecutionTransitions";
pub const MAX_HISTORY_BYTES_PARAM: &str = "MaxHistoryBytes";
/// An event's stored bytes besides its text fields: id, times, punctuation.
pub const EVENT_OVERHEAD_BYTES: u64 = 48;

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

    /// Counts `new` events into `history_bytes`. Past the history cap the events that do not
    /// fit are dropped, so what is stored stays within it, and the failure is answered.
    pub fn record(&self, history_bytes: &mut u64, new: &mut Vec<HistoryEvent>) -> Option<Outcome> {
        let max = self.history_bytes.value.unwrap_or(u64::MAX);
        for (i, e) in new.iter().enumerate() {
            let after = history_bytes.saturating_add(event_bytes(e));
            if after > max {
                new.truncate(i);
                return self.exceeded(0, after);
            }
            *history_bytes = after;
        }
        None
    }

    /// The failure of an execution that entered `transitions` states and stored
    /// `history_bytes`, if that is past a cap.
    pub fn exceeded(&self, transitions: u64, history_bytes: u64) -> Option<Outcome> {
        let (what, max, setting) = if let Some(max) = self.transitions.passed_by(transitions) {
            (
                format!("entered {transitions} states"),
                format!("{max} transitions"),
                &self.transitions.setting,
            )
        } else {
            let max = self.history_bytes.passed_by(history_bytes)?;
            (
                format!("recorded {history_bytes} bytes of history"),
                format!("{max} bytes of history"),
                &self.history_bytes.setting,
            )
        };
        Some(Outcome::Failed {
            error: EXECUTION_LIMIT_ERROR.to_owned(),
            cause: format!(
                "the execution {what}, more than its limit of {max} ({setting}); a loop that \
                 never ends? raise the setting if the flow needs more"
            ),
        })
    }
}

/// What the store keeps of `e`, in bytes: its type, step name and detail (as JSON text), and
/// a fixed overhead.
pub fn event_bytes(e: &HistoryEvent) -> u64 {
    let detail = if e.detail.is_null() {
        2 // "{}"
    } else {
        let mut counter = ByteCounter(0);
        // Writing to a counter cannot fail; a value that did not serialize counts nothing.
        let _ = serde_json::to_writer(&mut counter, &e.detail);
        counter.0
    };
    (e.kind.as_str().len() + e.step_name.len()) as u64 + detail + EVENT_OVERHEAD_BYTES
}

/// Counts the bytes written to it, keeping none.
struct ByteCounter(u64);

impl std::io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::EventKind;
    use serde_json::json;

    fn event(detail: serde_json::Value) -> HistoryEvent {
        HistoryEvent {
            id: 7,
            kind: EventKind::StepEntered,
            step_name: "check".into(),
            schedule_event_id: None,
            time_ms: 0,
            detail,
        }
    }

    #[test]
    fn an_event_weighs_its_text_as_stored() {
        let detail = json!({"error": "E", "cause": "c"});
        let text = detail.to_string();
        assert_eq!(
            event_bytes(&event(detail)),
            ("StepEntered".len() + "check".len() + text.len()) as u64 + EVENT_OVERHEAD_BYTES
        );
        assert_eq!(
            event_bytes(&event(serde_json::Value::Null)),
            ("StepEntered".len() + "check".len() + 2) as u64 + EVENT_OVERHEAD_BYTES
        );
    }

    #[test]
    fn the_cause_names_the_cap_its_value_and_the_setting() {
        let caps = ExecutionLimits::new(10, 1000);
        assert_eq!(caps.exceeded(10, 1000), None, "at the cap is within it");
        let Some(Outcome::Failed { error, cause }) = caps.exceeded(11, 0) else {
            panic!("past the transition cap")
        };
        assert_eq!(error, EXECUTION_LIMIT_ERROR);
        assert!(cause.contains("10 transitions") && cause.contains(MAX_TRANSITIONS_ENV));
        let Some(Outcome::Failed { cause, .. }) = caps.exceeded(1, 1001) else {
            panic!("past the history cap")
        };
        assert!(cause.contains("1000 bytes") && cause.contains(MAX_HISTORY_BYTES_ENV));
    }

    #[test]
    fn events_past_the_history_cap_are_dropped() {
        let one = event_bytes(&event(serde_json::Value::Null));
        let caps = ExecutionLimits::new(0, 3 * one);
        let (mut used, mut events) = (one, vec![event(serde_json::Value::Null); 5]);
        let failed = caps.record(&mut used, &mut events);
        assert!(matches!(failed, Some(Outcome::Failed { .. })), "{failed:?}");
        assert_eq!(
            (events.len(), used),
            (2, 3 * one),
            "two more fit, the rest do not"
        );
        let (mut used, mut events) = (0, vec![event(serde_json::Value::Null); 3]);
        assert_eq!(caps.record(&mut used, &mut events), None);
        assert_eq!((events.len(), used), (3, 3 * one));
    }

    #[test]
    fn an_account_replaces_the_deployment_caps_and_zero_lifts_them() {
        let caps = ExecutionLimits::new(10, 1000).for_account("acme", Some(5), Some(0));
        let Some(Outcome::Failed { cause, .. }) = caps.exceeded(6, u64::MAX) else {
            panic!("past the account's cap")
        };
        assert!(
            cause.contains("MaxExecutionTransitions of account acme"),
            "{cause}"
        );
        assert_eq!(caps.exceeded(5, u64::MAX), None, "no history cap for acme");
        let kept = ExecutionLimits::new(10, 0).for_account("acme", None, None);
        assert_eq!(kept, ExecutionLimits::new(10, 0));
        assert_eq!(kept.exceeded(10, u64::MAX), None);
    }
}
