//! Long waits are parked: the execution is checkpointed with a due time, no invocation runs
//! while it waits, and the sweep brings it back when the time comes. Time is a manual clock,
//! so two minutes pass in no time. Also the DescribeExecution long poll.

#[macro_use]
mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use common::{
    BUDGETS, Backend, Counting, ManualClock, Recorder, T0, call, create_flow, describe, ok, output,
    start,
};
use fnf_lambda::clock::SystemClock;
use fnf_lambda::service::Service;
use fnf_lambda::service::continuation::Continued;

const TWO_MINUTE_WAIT: &str = "\
Type: StateMachine
SpecVersion: v1
Name: hold
StartAt: before
States:
  - Type: Pass
    Name: before
    Next: hold
  - Type: Wait
    Name: hold
    Seconds: 120
    Next: after
  - Type: Pass
    Name: after
    End: true
";

async fn a_two_minute_wait_costs_nothing_while_parked(backend: Backend) {
    let (store, _guard) = common::store(backend).await;
    let counting = Arc::new(Counting::new(store));
    let recorder = Arc::new(Recorder::default());
    let clock = ManualClock::at(T0);
    let svc = Service::new(counting.clone(), Arc::new(clock.clone()))
        .with_continuations(recorder.clone(), BUDGETS);
    create_flow(&svc, "hold", TWO_MINUTE_WAIT, "DEFAULT").await;

    let started = ok(
        &svc,
        &[
            ("Action", "StartExecution"),
            ("FlowName", "hold"),
            ("ExecutionName", "h"),
        ],
    )
    .await;
    assert_eq!(
        started["Status"], "Running",
        "the wait outlives the response budget: {started}"
    );
    let parked = counting
        .inner
        .get_execution("hold", "h")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        parked.due_ms,
        Some(T0 + 120_000),
        "parked until the wait ends"
    );
    assert_eq!(
        (parked.lease_owner.as_deref(), parked.checkpoint.is_some()),
        (None, true)
    );
    let writes_when_parked = counting.writes.load(Ordering::Relaxed);

    // While it waits: an early continuation and a sweep find nothing to do, and write nothing.
    let early = recorder.take();
    assert_eq!(early.len(), 1);
    assert_eq!(
        svc.continue_execution(&early[0], "early").await.unwrap(),
        Continued::Skipped
    );
    clock.advance(60_000);
    assert_eq!(svc.sweep().await.unwrap(), 0, "not due after one minute");
    assert_eq!(
        counting.writes.load(Ordering::Relaxed),
        writes_when_parked,
        "parked time costs no writes"
    );

    // When the time comes, the sweep brings it back and it ends.
    clock.advance(60_000);
    assert_eq!(svc.sweep().await.unwrap(), 1);
    let due = recorder.take();
    assert!(matches!(
        svc.continue_execution(&due[0], "sweep").await.unwrap(),
        Continued::Drove { .. }
    ));
    let done = describe(&svc, "hold", "h").await;
    assert_eq!(done["Status"], "Succeeded", "{done}");
    let ended = counting
        .inner
        .get_execution("hold", "h")
        .await
        .unwrap()
        .unwrap();
    let history = counting
        .inner
        .execution_history(&ended, 100, None)
        .await
        .unwrap()
        .items;
    let at = |kind: &str, step: &str| {
        history
            .iter()
            .find(|e| e.kind == kind && e.step_name == step)
            .map(|e| e.time_ms)
    };
    assert_eq!(at("StepEntered", "hold"), Some(T0));
    assert_eq!(
        at("StepExited", "hold"),
        Some(T0 + 120_000),
        "the wait ended on time"
    );
    // Claim + park, then lease + end: four writes of the execution, plus history batches.
    eprintln!(
        "{backend:?}: {} writes in all, none while parked",
        counting.writes.load(Ordering::Relaxed)
    );
}

async fn an_execution_past_its_timeout_ends_timed_out(backend: Backend) {
    let (store, _guard) = common::store(backend).await;
    let recorder = Arc::new(Recorder::default());
    let clock = ManualClock::at(T0);
    let svc = Service::new(store.clone(), Arc::new(clock.clone()))
        .with_continuations(recorder.clone(), BUDGETS)
        .with_execution_timeout(60_000);
    create_flow(&svc, "hold", TWO_MINUTE_WAIT, "DEFAULT").await;
    ok(
        &svc,
        &[
            ("Action", "StartExecution"),
            ("FlowName", "hold"),
            ("ExecutionName", "t"),
        ],
    )
    .await;
    let parked = store.get_execution("hold", "t").await.unwrap().unwrap();
    assert_eq!(
        parked.due_ms,
        Some(T0 + 60_000),
        "a long wait still wakes at the timeout"
    );
    recorder.take();
    clock.advance(60_000);
    assert_eq!(svc.sweep().await.unwrap(), 1);
    let due = recorder.take();
    svc.continue_execution(&due[0], "sweep").await.unwrap();
    let done = describe(&svc, "hold", "t").await;
    assert_eq!(
        (done["Status"].as_str(), done["ErrorCode"].as_str()),
        (Some("TimedOut"), Some("FnF.Timeout")),
        "{done}"
    );
    assert!(done["StoppedTime"].is_string());
    assert!(
        store.list_due(i64::MAX / 2, 10).await.unwrap().is_empty(),
        "nothing left for the sweep"
    );
}

/// A Map whose iterations each copy a 50 KB field of the execution's input, then wait two
/// minutes: `n` iterations hold about n x 50 KB of state while parked.
const WIDE_WAIT: &str = include_str!("fixtures/wide_wait.yaml");

fn wide_input(iterations: usize) -> serde_json::Value {
    let items: Vec<_> = (0..iterations)
        .map(|i| serde_json::json!({ "i": i }))
        .collect();
    serde_json::json!({ "items": items, "pad": "x".repeat(50_000) })
}

async fn large_parked_state_is_kept_and_resumed(backend: Backend) {
    // 40 parked iterations: about 2 MB of state, more than a DynamoDB item holds.
    let (store, _guard) = common::store(backend).await;
    let recorder = Arc::new(Recorder::default());
    let clock = ManualClock::at(T0);
    let svc = Service::new(store.clone(), Arc::new(clock.clone()))
        .with_continuations(recorder.clone(), BUDGETS);
    create_flow(&svc, "wide", WIDE_WAIT, "DEFAULT").await;
    let run = start(&svc, "wide", "w", wide_input(40)).await;
    assert_eq!(run["Status"], "Running", "{run}");
    let parked = store.get_execution("wide", "w").await.unwrap().unwrap();
    let size = parked.checkpoint.as_deref().map_or(0, str::len);
    assert!(size > 2_000_000, "checkpoint of {size} bytes");

    clock.advance(120_000);
    assert_eq!(svc.sweep().await.unwrap(), 1);
    for due in recorder.take() {
        svc.continue_execution(&due, "sweep").await.unwrap();
    }
    let done = describe(&svc, "wide", "w").await;
    assert_eq!(done["Status"], "Succeeded", "{done}");
    let expected: Vec<_> = (0..40).map(|i| serde_json::json!({ "i": i })).collect();
    assert_eq!(output(&done), serde_json::json!({ "Items": expected }));
}

async fn state_too_large_to_checkpoint_fails_the_execution(backend: Backend) {
    // 100 parked iterations: about 5 MB of live state, more than a checkpoint may carry.
    let (store, _guard) = common::store(backend).await;
    let recorder = Arc::new(Recorder::default());
    let svc = Service::new(store.clone(), Arc::new(SystemClock))
        .with_continuations(recorder.clone(), BUDGETS);
    create_flow(&svc, "wide", WIDE_WAIT, "DEFAULT").await;
    let run = start(&svc, "wide", "w", wide_input(100)).await;
    assert_eq!(
        (run["Status"].as_str(), run["ErrorCode"].as_str()),
        (Some("Failed"), Some("FnF.CheckpointTooLarge")),
        "{}",
        run["ErrorMessage"]
    );
    assert!(
        run["ErrorMessage"]
            .as_str()
            .unwrap()
            .contains("exceeds the checkpoint limit")
    );
    let stored = store.get_execution("wide", "w").await.unwrap().unwrap();
    assert_eq!(
        (stored.checkpoint, stored.due_ms),
        (None, None),
        "nothing oversized was stored"
    );
    assert!(recorder.take().is_empty());
}

async fn describe_execution_long_polls(backend: Backend) {
    let (store, _guard) = common::store(backend).await;
    let recorder = Arc::new(Recorder::default());
    let svc =
        Service::new(store, Arc::new(SystemClock)).with_continuations(recorder.clone(), BUDGETS);
    create_flow(&svc, "hold", TWO_MINUTE_WAIT, "DEFAULT").await;
    ok(
        &svc,
        &[
            ("Action", "StartExecution"),
            ("FlowName", "hold"),
            ("ExecutionName", "h"),
        ],
    )
    .await;
    let before = std::time::Instant::now();
    let polled = ok(
        &svc,
        &[
            ("Action", "DescribeExecution"),
            ("FlowName", "hold"),
            ("ExecutionName", "h"),
            ("WaitTimeSeconds", "1"),
        ],
    )
    .await;
    assert_eq!(polled["Status"], "Running");
    assert!(
        before.elapsed() >= std::time::Duration::from_millis(900),
        "it waited out the poll"
    );
    for bad in ["61", "-1", "soon"] {
        let (status, body) = call(
            &svc,
            &[
                ("Action", "DescribeExecution"),
                ("FlowName", "hold"),
                ("ExecutionName", "h"),
                ("WaitTimeSeconds", bad),
            ],
        )
        .await;
        assert_eq!(
            (status, body["Code"].as_str()),
            (400, Some("InvalidArgument")),
            "{bad}: {body}"
        );
    }
    // An ended execution answers at once.
    let stopped = ok(
        &svc,
        &[
            ("Action", "StopExecution"),
            ("FlowName", "hold"),
            ("ExecutionName", "h"),
        ],
    )
    .await;
    assert_eq!(stopped["Status"], "Stopped");
    let before = std::time::Instant::now();
    ok(
        &svc,
        &[
            ("Action", "DescribeExecution"),
            ("FlowName", "hold"),
            ("ExecutionName", "h"),
            ("WaitTimeSeconds", "30"),
        ],
    )
    .await;
    assert!(before.elapsed() < std::time::Duration::from_secs(5));
}

on_both_stores!(
    a_two_minute_wait_costs_nothing_while_parked,
    an_execution_past_its_timeout_ends_timed_out,
    large_parked_state_is_kept_and_resumed,
    state_too_large_to_checkpoint_fails_the_execution,
    describe_execution_long_polls,
);
