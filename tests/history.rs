//! Executions with tasks, retries and catches through the service, and their history through
//! GetExecutionHistory, on both stores.

#[macro_use]
mod common;

use common::{Backend, call, create_flow, ok};
use serde_json::Value;

/// A task that fails twice, then succeeds under Retry; then a task that fails into a Catch.
const RETRY_THEN_CATCH: &str = "\
Type: StateMachine
SpecVersion: v1
Name: orders
StartAt: reserve
States:
  - Type: Task
    Name: reserve
    Action: Test:Flaky
    Parameters:
      Failures: 2
      Result:
        reserved: true
    Retry:
      - Errors: [FnF.ALL]
        IntervalSeconds: 0
        MaxAttempts: 3
    Next: charge
  - Type: Task
    Name: charge
    Action: Test:Fail
    Parameters:
      Error: Card.Declined
      Cause: insufficient funds
    Catch:
      - Errors: [Card.Declined]
        Next: refund
        OutputConstructor:
          declined.$: $Context.Current.Error.Code
    End: true
  - Type: Pass
    Name: refund
    End: true
";

async fn history_of_a_flow_with_tasks(backend: Backend) {
    let (svc, _g) = common::service(backend).await;
    create_flow(&svc, "orders", RETRY_THEN_CATCH, "DEFAULT").await;
    let run = ok(
        &svc,
        &[
            ("Action", "StartExecution"),
            ("FlowName", "orders"),
            ("ExecutionName", "o1"),
        ],
    )
    .await;
    assert_eq!(run["Status"], "Succeeded", "{run}");
    assert_eq!(run["Output"], r#"{"declined":"Card.Declined"}"#);

    let mut events: Vec<Value> = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut params = vec![
            ("Action", "GetExecutionHistory"),
            ("FlowName", "orders"),
            ("ExecutionName", "o1"),
            ("Limit", "4"),
        ];
        if let Some(t) = &token {
            params.push(("NextToken", t));
        }
        let page = ok(&svc, &params).await;
        let items = page["Events"].as_array().unwrap();
        assert!(items.len() <= 4, "{page}");
        events.extend(items.iter().cloned());
        match page["NextToken"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    let ids: Vec<u64> = events
        .iter()
        .map(|e| e["EventId"].as_u64().unwrap())
        .collect();
    assert_eq!(
        ids,
        (1..=ids.len() as u64).collect::<Vec<_>>(),
        "ids run 1.. without gaps or repeats"
    );
    let kinds: Vec<&str> = events.iter().map(|e| e["Type"].as_str().unwrap()).collect();
    assert_eq!(kinds.first(), Some(&"ExecutionStarted"));
    assert_eq!(kinds.last(), Some(&"ExecutionSucceeded"));
    assert_eq!(
        kinds.iter().filter(|k| **k == "TaskScheduled").count(),
        4,
        "3 attempts of reserve, 1 of charge: {kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "RetryScheduled").count(),
        2,
        "{kinds:?}"
    );
    let entered: Vec<&str> = events
        .iter()
        .filter(|e| e["Type"] == "StepEntered")
        .map(|e| e["StepName"].as_str().unwrap())
        .collect();
    assert_eq!(entered, ["reserve", "charge", "refund"]);
    for e in &events {
        assert!(
            e["Time"]
                .as_str()
                .is_some_and(|t| fnf_lambda::time::parse_rfc3339(t).is_some()),
            "{e}"
        );
        let detail: Value = serde_json::from_str(e["EventDetail"].as_str().unwrap())
            .expect("EventDetail is JSON text");
        assert!(detail.is_object(), "{e}");
    }
    // A completed task points back to when it was scheduled.
    let succeeded = events
        .iter()
        .find(|e| e["Type"] == "TaskSucceeded")
        .unwrap();
    let scheduled = succeeded["ScheduleEventId"]
        .as_u64()
        .expect("ScheduleEventId");
    assert_eq!(events[scheduled as usize - 1]["Type"], "TaskScheduled");

    let (status, body) = call(
        &svc,
        &[
            ("Action", "GetExecutionHistory"),
            ("FlowName", "orders"),
            ("ExecutionName", "nope"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (404, Some("ExecutionNotExists"))
    );
    let (status, body) = call(
        &svc,
        &[
            ("Action", "GetExecutionHistory"),
            ("FlowName", "orders"),
            ("ExecutionName", "o1"),
            ("NextToken", "bm90LWEtbnVtYmVy"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (400, Some("InvalidArgument")),
        "{body}"
    );
}

async fn a_failing_task_fails_the_execution(backend: Backend) {
    let (svc, _g) = common::service(backend).await;
    let definition = "version: v1\ntype: flow\nsteps:\n  - type: task\n    name: boom\n    resourceArn: acs:fnf:::test/fail\n    inputMappings:\n      - target: Error\n        source: Biz.Broken\n      - target: Cause\n        source: $input.why\n";
    create_flow(&svc, "fdl", definition, "FDL").await;
    let run = ok(
        &svc,
        &[
            ("Action", "StartExecution"),
            ("FlowName", "fdl"),
            ("Input", r#"{"why":"it broke"}"#),
        ],
    )
    .await;
    assert_eq!(
        (
            run["Status"].as_str(),
            run["ErrorCode"].as_str(),
            run["ErrorMessage"].as_str()
        ),
        (Some("Failed"), Some("Biz.Broken"), Some("it broke")),
        "{run}"
    );
    let name = run["Name"].as_str().unwrap();
    let history = ok(
        &svc,
        &[
            ("Action", "GetExecutionHistory"),
            ("FlowName", "fdl"),
            ("ExecutionName", name),
        ],
    )
    .await;
    let kinds: Vec<&str> = history["Events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["Type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.last(), Some(&"ExecutionFailed"), "{kinds:?}");
    assert!(kinds.contains(&"TaskFailed"), "{kinds:?}");
}

on_both_stores!(
    history_of_a_flow_with_tasks,
    a_failing_task_fails_the_execution
);
