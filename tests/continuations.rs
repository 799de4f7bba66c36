//! Long flows across invocations: budgets, checkpoints, continuations and fencing, on both
//! stores. Continuations are recorded and delivered by the test, once or several times, in
//! shuffled order, as Lambda's at-least-once async invokes may.

#[macro_use]
mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use common::{Backend, Counting, Recorder, call, create_flow, ok};
use fnf_lambda::clock::SystemClock;
use fnf_lambda::dispatch::Continuation;
use fnf_lambda::service::continuation::Continued;
use fnf_lambda::service::{Budgets, Service};
use serde_json::Value;

/// The engine runs 20,000 transitions in well under 50 ms even in a debug build, so a 1 ms
/// budget is what forces a hand-over after every slice (1,024 transitions) of work.
const BUDGET: Budgets = Budgets {
    response_ms: 1,
    invocation_ms: 1,
    lease_margin_ms: 1_000,
};

async fn setup(
    backend: Backend,
) -> (
    Service,
    Arc<Recorder>,
    Arc<Counting>,
    Option<tempfile::TempDir>,
) {
    let (store, guard) = common::store(backend).await;
    let counting = Arc::new(Counting::new(store));
    let recorder = Arc::new(Recorder::default());
    let svc = Service::new(counting.clone(), Arc::new(SystemClock))
        .with_continuations(recorder.clone(), BUDGET);
    create_flow(&svc, "loop", common::COUNTER_LOOP, "DEFAULT").await;
    (svc, recorder, counting, guard)
}

/// A small deterministic shuffle (xorshift), so a failure can be replayed.
fn shuffle<T>(items: &mut [T], seed: &mut u64) {
    for i in (1..items.len()).rev() {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        items.swap(i, (*seed % (i as u64 + 1)) as usize);
    }
}

/// Delivers every continuation `copies` times, shuffled, until none is left. Answers how many
/// deliveries drove the execution, how many were turned away, and how many distinct
/// continuations were dispatched. A turned-away delivery must write nothing.
async fn deliver_all(
    svc: &Service,
    recorder: &Recorder,
    counting: &Counting,
    copies: usize,
    seed: &mut u64,
) -> (usize, usize, usize) {
    let (mut drove, mut skipped, mut distinct) = (0, 0, 0);
    for _ in 0..100_000 {
        let dispatched = recorder.take();
        distinct += dispatched.len();
        let mut batch: Vec<Continuation> = dispatched
            .into_iter()
            .flat_map(|c| std::iter::repeat_n(c, copies))
            .collect();
        if batch.is_empty() {
            return (drove, skipped, distinct);
        }
        shuffle(&mut batch, seed);
        for c in batch {
            let writes_before = counting.writes.load(Ordering::SeqCst);
            match svc
                .continue_execution(&c, "test-invocation")
                .await
                .expect("continuation")
            {
                Continued::Drove { .. } => drove += 1,
                Continued::Skipped => {
                    skipped += 1;
                    let wrote = counting.writes.load(Ordering::SeqCst) - writes_before;
                    assert_eq!(wrote, 0, "a turned-away delivery wrote nothing");
                }
            }
        }
    }
    panic!("continuations never stopped");
}

/// The execution's history, read from the store in large pages (the API pages by 100 at most,
/// which would turn 40,000 events into 400 round trips to moto).
async fn history(store: &dyn fnf_lambda::store::Store, name: &str) -> Vec<(u64, String, String)> {
    let exec = store
        .get_execution("loop", name)
        .await
        .expect("read")
        .expect("the execution");
    let mut events = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .execution_history(&exec, 5_000, after)
            .await
            .expect("history");
        events.extend(page.items.into_iter().map(|e| (e.id, e.kind, e.step_name)));
        match page.next_after {
            Some(a) => after = Some(a.parse().unwrap()),
            None => return events,
        }
    }
}

type History = Vec<(u64, String, String)>;

/// Runs the 20,000-transition loop to its end, delivering each continuation `copies` times
/// in shuffled order. Answers the final execution, its history, the writes that succeeded
/// and were refused, and how many continuations drove it.
async fn run(backend: Backend, copies: usize) -> (Value, History, u64, u64, usize) {
    let (svc, recorder, counting, _guard) = setup(backend).await;
    let started = ok(
        &svc,
        &[
            ("Action", "StartExecution"),
            ("FlowName", "loop"),
            ("ExecutionName", "long"),
            ("Input", r#"{"n":10000}"#),
        ],
    )
    .await;
    assert_eq!(started["Status"], "Running", "{started}");
    assert!(
        started.get("Output").is_none() && started.get("StoppedTime").is_none(),
        "{started}"
    );
    let mut seed = 0x9e37_79b9_7f4a_7c15;
    let (drove, _skipped, distinct) =
        deliver_all(&svc, &recorder, &counting, copies, &mut seed).await;
    // Each dispatched continuation drove once at most: its copies were turned away.
    assert!(drove <= distinct, "{drove} drove, {distinct} dispatched");
    let done = ok(
        &svc,
        &[
            ("Action", "DescribeExecution"),
            ("FlowName", "loop"),
            ("ExecutionName", "long"),
        ],
    )
    .await;
    let events = history(counting.inner.as_ref(), "long").await;
    (
        done,
        events,
        counting.writes.load(Ordering::Relaxed),
        counting.refused.load(Ordering::Relaxed),
        drove,
    )
}

fn check(done: &Value, events: &History) {
    assert_eq!(done["Status"], "Succeeded", "{done}");
    assert_eq!(done["Output"], r#"{"i":10000,"n":10000}"#);
    let ids: Vec<u64> = events.iter().map(|e| e.0).collect();
    assert!(
        ids.iter().copied().eq(1..=ids.len() as u64),
        "every event once, in order"
    );
    // init, 10,000 x (check, inc), the last check, done.
    let entered = events.iter().filter(|e| e.1 == "StepEntered").count();
    assert_eq!(entered, 20_003, "each transition exactly once");
}

async fn long_flow_across_invocations_with_duplicates(backend: Backend) {
    let (once, once_events, once_writes, once_refused, once_drove) = run(backend, 1).await;
    check(&once, &once_events);
    assert!(
        once_drove >= 5,
        "the flow needed many invocations, took {once_drove}"
    );
    assert_eq!(once_refused, 0, "single delivery: no write is ever refused");
    eprintln!(
        "{backend:?}: {once_drove} continuations, {once_writes} writes, {} events",
        once_events.len()
    );

    let (thrice, thrice_events, thrice_writes, refused, drove) = run(backend, 3).await;
    check(&thrice, &thrice_events);
    assert_eq!(thrice["Output"], once["Output"]);
    assert_eq!(thrice_events, once_events, "same history");
    // How many invocations the loop takes depends on the machine's speed (the budgets are
    // real time), so the runs are not compared by count: `deliver_all` checks that every
    // turned-away duplicate wrote nothing, and each dispatched continuation drove at most once.
    assert!(drove >= 5, "the flow needed many invocations, took {drove}");
    eprintln!(
        "{backend:?}: duplicates turned away; {refused} by a failed condition, the rest by the version read; {thrice_writes} writes"
    );
}

async fn stop_execution_stops_a_running_execution(backend: Backend) {
    let (svc, recorder, counting, _guard) = setup(backend).await;
    ok(
        &svc,
        &[
            ("Action", "StartExecution"),
            ("FlowName", "loop"),
            ("ExecutionName", "s"),
            ("Input", r#"{"n":10000}"#),
        ],
    )
    .await;
    let stopped = ok(
        &svc,
        &[
            ("Action", "StopExecution"),
            ("FlowName", "loop"),
            ("ExecutionName", "s"),
            ("Error", "Ops.Cancelled"),
            ("Cause", "by the test"),
        ],
    )
    .await;
    assert_eq!(
        (stopped["Status"].as_str(), stopped["ErrorCode"].as_str()),
        (Some("Stopped"), Some("Ops.Cancelled")),
        "{stopped}"
    );
    assert!(stopped["StoppedTime"].is_string());
    // The pending continuation finds the execution moved on and does nothing.
    let mut seed = 7;
    let (drove, skipped, _) = deliver_all(&svc, &recorder, &counting, 1, &mut seed).await;
    assert_eq!((drove, skipped), (0, 1));
    let after = ok(
        &svc,
        &[
            ("Action", "DescribeExecution"),
            ("FlowName", "loop"),
            ("ExecutionName", "s"),
        ],
    )
    .await;
    assert_eq!(after["Status"], "Stopped");
    let (status, body) = call(
        &svc,
        &[
            ("Action", "StopExecution"),
            ("FlowName", "loop"),
            ("ExecutionName", "s"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (400, Some("ExecutionAlreadyStopped")),
        "{body}"
    );
    let (status, body) = call(
        &svc,
        &[
            ("Action", "StopExecution"),
            ("FlowName", "loop"),
            ("ExecutionName", "nope"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (404, Some("ExecutionNotExists")),
        "{body}"
    );
}

on_both_stores!(
    long_flow_across_invocations_with_duplicates,
    stop_execution_stops_a_running_execution
);
