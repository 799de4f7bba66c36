//! Built-in test tasks: deterministic stand-ins for real integrations, so flows with tasks,
//! retries, catches and timeouts can be tried and tested without any outside service.
//! CloudFlow `Action: Test:Echo|Fail|Flaky|Sleep`; FDL `resourceArn: acs:fnf:::test/echo|...`.

use serde_json::Value;

/// Error name of a test task that failed without naming its error.
pub const DEFAULT_FAILURE: &str = "Test.Failure";
/// Error name of a Flaky task's failed attempts, unless it names one.
pub const DEFAULT_FLAKY: &str = "Test.Flaky";
/// Longest a Sleep task may sleep: one day.
pub const MAX_SLEEP_MS: u64 = 86_400_000;

/// A task's result: its output, or (error, cause).
pub type TaskOutcome = Result<Value, (String, String)>;

#[derive(Debug, Clone, PartialEq)]
pub enum TestTaskOutcome {
    /// The result is ready now.
    Done(TaskOutcome),
    /// The result is ready after `delay_ms` (Sleep).
    After { delay_ms: u64, result: TaskOutcome },
}

/// Which test task a resource names, if any.
pub fn kind(resource: &str) -> Option<&'static str> {
    match resource {
        "Test:Echo" | "acs:fnf:::test/echo" => Some("echo"),
        "Test:Fail" | "acs:fnf:::test/fail" => Some("fail"),
        "Test:Flaky" | "acs:fnf:::test/flaky" => Some("flaky"),
        "Test:Sleep" | "acs:fnf:::test/sleep" => Some("sleep"),
        _ => None,
    }
}

/// Runs attempt `attempt` (1-based) of a test task with its parameters.
pub fn run(resource: &str, parameters: &Value, attempt: u32) -> TestTaskOutcome {
    let text = |key: &str| {
        parameters
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let result = || {
        parameters
            .get("Result")
            .cloned()
            .unwrap_or_else(|| parameters.clone())
    };
    match kind(resource) {
        Some("echo") => TestTaskOutcome::Done(Ok(parameters.clone())),
        Some("fail") => TestTaskOutcome::Done(Err((
            text("Error").unwrap_or_else(|| DEFAULT_FAILURE.to_owned()),
            text("Cause").unwrap_or_default(),
        ))),
        Some("flaky") => {
            let failures = parameters
                .get("Failures")
                .and_then(Value::as_u64)
                .unwrap_or(1);
            if u64::from(attempt) <= failures {
                TestTaskOutcome::Done(Err((
                    text("Error").unwrap_or_else(|| DEFAULT_FLAKY.to_owned()),
                    format!("attempt {attempt} of a task that fails {failures} times"),
                )))
            } else {
                TestTaskOutcome::Done(Ok(result()))
            }
        }
        Some("sleep") => {
            let delay_ms = parameters
                .get("Milliseconds")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            if delay_ms > MAX_SLEEP_MS {
                return TestTaskOutcome::Done(Err((
                    DEFAULT_FAILURE.to_owned(),
                    format!("Milliseconds {delay_ms} exceeds the test limit of {MAX_SLEEP_MS}"),
                )));
            }
            TestTaskOutcome::After {
                delay_ms,
                result: Ok(result()),
            }
        }
        _ => TestTaskOutcome::Done(Err((
            "FnF.TaskNotSupported".to_owned(),
            format!("resource {resource:.128} is not a task this fnf-lambda version runs"),
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn behaviours() {
        assert_eq!(
            run("Test:Echo", &json!({"a": 1}), 1),
            TestTaskOutcome::Done(Ok(json!({"a": 1})))
        );
        assert_eq!(
            run(
                "acs:fnf:::test/fail",
                &json!({"Error": "E", "Cause": "c"}),
                1
            ),
            TestTaskOutcome::Done(Err(("E".into(), "c".into())))
        );
        let flaky = json!({"Failures": 2, "Result": {"ok": true}});
        assert!(
            matches!(run("Test:Flaky", &flaky, 2), TestTaskOutcome::Done(Err((e, _))) if e == DEFAULT_FLAKY)
        );
        assert_eq!(
            run("Test:Flaky", &flaky, 3),
            TestTaskOutcome::Done(Ok(json!({"ok": true})))
        );
        assert_eq!(
            run("Test:Sleep", &json!({"Milliseconds": 5}), 1),
            TestTaskOutcome::After {
                delay_ms: 5,
                result: Ok(json!({"Milliseconds": 5}))
            }
        );
        assert!(matches!(
            run("FC:InvokeFunction", &json!({}), 1),
            TestTaskOutcome::Done(Err(_))
        ));
    }
}
