//! A runaway execution is bounded (issue 13, point 1). A Choice that loops back forever (a
//! plain mistake) answered Running and grew the data directory by gigabytes and the process by
//! a gigabyte of redb cache, for as long as it ran. Now it fails `FnF.ExecutionLimitExceeded`
//! past its transitions or history bytes (counted across continuations; per deployment, or per
//! account), a stop reaches it while it loops, and other executions on the same service are
//! answered meanwhile.

#[macro_use]
mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{
    BUDGETS, Backend, COUNTER_LOOP, ManualClock, Recorder, T0, call, create_flow, describe, ok,
    start,
};
use fnf_lambda::clock::SystemClock;
use fnf_lambda::engine::Outcome;
use fnf_lambda::flow::FlowType;
use fnf_lambda::runner::limits::{EVENT_OVERHEAD_BYTES, ExecutionLimits};
use fnf_lambda::runner::{self, RunOptions};
use fnf_lambda::service::{Budgets, Service};
use serde_json::{Value, json};

const LIMIT_ERROR: &str = "FnF.ExecutionLimitExceeded";

/// The mistake: the way out is never taken.
const RUNAWAY: &str = "\
Type: StateMachine
SpecVersion: v1
Name: runaway
StartAt: check
States:
  - Type: Choice
    Name: check
    Branches:
      - Condition: $Input.stop == true
        Next: done
    Default: again
  - Type: Pass
    Name: again
    Next: check
  - Type: Pass
    Name: done
    End: true
";

/// The mistake again, with a second's wait per turn: each turn parks, and a continuation runs
/// the next one.
const WAITING_LOOP: &str = "\
Type: StateMachine
SpecVersion: v1
Name: waiting
StartAt: check
States:
  - Type: Choice
    Name: check
    Branches:
      - Condition: $Input.stop == true
        Next: done
    Default: again
  - Type: Wait
    Name: again
    Seconds: 1
    Next: check
  - Type: Pass
    Name: done
    End: true
";

const HELLO: &str = "\
Type: StateMachine
SpecVersion: v1
Name: hello
StartAt: hi
States:
  - Type: Pass
    Name: hi
    End: true
";

/// A service on `backend` with `limits`, `budgets`, continuations kept by the recorder.
async fn service(
    backend: Backend,
    limits: ExecutionLimits,
    budgets: Budgets,
) -> (Service, Arc<Recorder>, Option<tempfile::TempDir>) {
    let (store, guard) = common::store(backend).await;
    let recorder = Arc::new(Recorder::default());
    let svc = Service::new(store, Arc::new(SystemClock))
        .with_continuations(recorder.clone(), budgets)
        .with_execution_limits(limits);
    (svc, recorder, guard)
}

/// Every event of an execution, page by page.
async fn history(svc: &Service, flow: &str, name: &str) -> Vec<Value> {
    let (mut events, mut token) = (Vec::new(), None::<String>);
    loop {
        let mut params = vec![
            ("Action", "GetExecutionHistory"),
            ("FlowName", flow),
            ("ExecutionName", name),
            ("Limit", "100"),
        ];
        if let Some(t) = &token {
            params.push(("NextToken", t));
        }
        let page = ok(svc, &params).await;
        events.extend(page["Events"].as_array().unwrap().iter().cloned());
        match page["NextToken"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => return events,
        }
    }
}

/// What the caps count of these events: type, step name, detail, and the fixed overhead.
fn weight(events: &[Value]) -> u64 {
    let text = |e: &Value, k: &str| e[k].as_str().map_or(0, str::len) as u64;
    events
        .iter()
        .map(|e| text(e, "Type") + text(e, "StepName") + text(e, "EventDetail"))
        .map(|b| b + EVENT_OVERHEAD_BYTES)
        .sum()
}

fn entered(events: &[Value]) -> u64 {
    events.iter().filter(|e| e["Type"] == "StepEntered").count() as u64
}

fn failed_with<'a>(answer: &'a Value, needles: &[&str]) -> &'a str {
    assert_eq!(answer["Status"], "Failed", "{answer}");
    assert_eq!(answer["ErrorCode"], LIMIT_ERROR, "{answer}");
    let cause = answer["ErrorMessage"].as_str().unwrap();
    for n in needles {
        assert!(cause.contains(n), "the cause names {n:?}: {cause}");
    }
    cause
}

/// Moves the clock past the loop's wait and delivers the recorded continuations, until the
/// execution ends (at most `rounds` rounds); answers it and how many continuations drove it.
async fn drive_to_end(
    svc: &Service,
    clock: &ManualClock,
    recorder: &Recorder,
    name: &str,
    rounds: usize,
) -> (Value, usize) {
    let mut delivered = 0;
    for _ in 0..rounds {
        let answer = describe(svc, "waiting", name).await;
        if answer["Status"] != "Running" {
            return (answer, delivered);
        }
        clock.advance(1_000);
        for c in recorder.take() {
            svc.continue_execution(&c, "worker").await.unwrap();
            delivered += 1;
        }
    }
    (describe(svc, "waiting", name).await, delivered)
}

async fn a_loop_fails_past_its_transitions(backend: Backend) {
    let (svc, _rec, _guard) = service(backend, ExecutionLimits::new(500, 0), BUDGETS).await;
    create_flow(&svc, "runaway", RUNAWAY, "DEFAULT").await;
    let answer = start(&svc, "runaway", "r1", json!({})).await;
    failed_with(
        &answer,
        &["500 transitions", "FNF_MAX_EXECUTION_TRANSITIONS"],
    );
    let events = history(&svc, "runaway", "r1").await;
    assert_eq!(entered(&events), 500, "the 501st state is not entered");
    let ids: Vec<u64> = events
        .iter()
        .map(|e| e["EventId"].as_u64().unwrap())
        .collect();
    assert_eq!(
        ids,
        (1..=ids.len() as u64).collect::<Vec<_>>(),
        "a whole history"
    );
}

async fn stored_history_stays_within_its_bytes(backend: Backend) {
    const CAP: u64 = 20_000;
    let (svc, _rec, _guard) = service(backend, ExecutionLimits::new(0, CAP), BUDGETS).await;
    create_flow(&svc, "runaway", RUNAWAY, "DEFAULT").await;
    let answer = start(&svc, "runaway", "r1", json!({})).await;
    failed_with(
        &answer,
        &["20000 bytes of history", "FNF_MAX_HISTORY_BYTES"],
    );
    let stored = weight(&history(&svc, "runaway", "r1").await);
    // Events of about 70 bytes: the history is cut at the cap, not a step (2,048 events) later.
    assert!(stored <= CAP && stored > CAP - 100, "{stored} bytes stored");
}

/// The counts survive continuations: every invocation runs one turn of a loop that waits a
/// second per turn (two transitions, about 270 bytes of history), far less than a cap, and
/// the execution still fails at it.
async fn the_caps_count_across_continuations(backend: Backend) {
    // Every wait outlasts the budget, so it parks.
    const TINY: Budgets = Budgets {
        response_ms: 1,
        invocation_ms: 1,
        lease_margin_ms: 1_000,
    };
    let (store, _guard) = common::store(backend).await;
    let recorder = Arc::new(Recorder::default());
    let clock = ManualClock::at(T0);
    let svc = Service::new(store, Arc::new(clock.clone()))
        .with_continuations(recorder.clone(), TINY)
        .with_execution_limits(ExecutionLimits::new(0, 3_000));
    create_flow(&svc, "waiting", WAITING_LOOP, "DEFAULT").await;
    let answer = start(&svc, "waiting", "bytes", json!({})).await;
    assert_eq!(answer["Status"], "Running", "{answer}");
    let (ended, delivered) = drive_to_end(&svc, &clock, &recorder, "bytes", 100).await;
    failed_with(&ended, &["3000 bytes of history"]);
    assert!(delivered >= 5, "{delivered} continuations");
    let stored = weight(&history(&svc, "waiting", "bytes").await);
    assert!(stored <= 3_000 && stored > 2_900, "{stored} bytes stored");

    let svc = svc.with_execution_limits(ExecutionLimits::new(40, 0));
    let answer = start(&svc, "waiting", "transitions", json!({})).await;
    assert_eq!(answer["Status"], "Running", "{answer}");
    let (ended, delivered) = drive_to_end(&svc, &clock, &recorder, "transitions", 100).await;
    failed_with(&ended, &["40 transitions"]);
    assert!(delivered >= 5, "{delivered} continuations");
    let events = history(&svc, "waiting", "transitions").await;
    assert_eq!(entered(&events), 40);
}

async fn an_account_has_its_own_caps(backend: Backend) {
    let (root, _rec, _guard) = service(backend, ExecutionLimits::new(600, 0), BUDGETS).await;
    for (id, transitions) in [("acme", "300"), ("big", "0")] {
        ok(
            &root,
            &[
                ("Action", "CreateAccount"),
                ("AccountId", id),
                ("MaxExecutionTransitions", transitions),
                ("MaxHistoryBytes", "0"),
            ],
        )
        .await;
    }
    let shown = ok(
        &root,
        &[("Action", "DescribeAccount"), ("AccountId", "acme")],
    )
    .await;
    assert_eq!(
        (&shown["MaxExecutionTransitions"], &shown["MaxHistoryBytes"]),
        (&json!(300), &json!(0)),
        "{shown}"
    );
    let acme = root.for_account("acme");
    create_flow(&acme, "runaway", RUNAWAY, "DEFAULT").await;
    let answer = start(&acme, "runaway", "r1", json!({})).await;
    failed_with(
        &answer,
        &["300 transitions", "MaxExecutionTransitions of account acme"],
    );

    // 400 turns of the counter: 803 transitions, past the deployment's 600, not past "no cap".
    let big = root.for_account("big");
    create_flow(&big, "counter", COUNTER_LOOP, "DEFAULT").await;
    let answer = start(&big, "counter", "c1", json!({"n": 400})).await;
    assert_eq!(answer["Status"], "Succeeded", "{answer}");
    create_flow(&root, "counter", COUNTER_LOOP, "DEFAULT").await;
    let answer = start(&root, "counter", "c1", json!({"n": 400})).await;
    failed_with(
        &answer,
        &["600 transitions", "FNF_MAX_EXECUTION_TRANSITIONS"],
    );

    for bad in ["-1", "many", "1000000000001"] {
        let (status, body) = call(
            &root,
            &[
                ("Action", "UpdateAccount"),
                ("AccountId", "acme"),
                ("MaxExecutionTransitions", bad),
            ],
        )
        .await;
        assert_eq!(
            (status, body["Code"].as_str()),
            (400, Some("InvalidArgument")),
            "{bad}: {body}"
        );
    }
}

/// While two executions loop with no cap (on a runtime of two threads, as `serve` on the
/// machine's two cores), a short flow runs to its end and a describe answers; a stop ends the
/// loops, which make no calls and so write no checkpoint to be fenced by.
async fn a_loop_does_not_starve_the_others(backend: Backend) {
    let long = Budgets {
        response_ms: 600_000,
        invocation_ms: 600_000,
        lease_margin_ms: 1_000,
    };
    let (svc, _rec, _guard) = service(backend, ExecutionLimits::new(0, 0), long).await;
    create_flow(&svc, "runaway", RUNAWAY, "DEFAULT").await;
    create_flow(&svc, "hello", HELLO, "DEFAULT").await;
    let loops: Vec<_> = ["r1", "r2"]
        .into_iter()
        .map(|name| {
            let svc = svc.clone();
            tokio::spawn(async move { start(&svc, "runaway", name, json!({})).await })
        })
        .collect();
    let bound = Duration::from_secs(10);
    for name in ["r1", "r2"] {
        let running = tokio::time::timeout(bound, async {
            loop {
                let (status, body) = call(
                    &svc,
                    &[
                        ("Action", "DescribeExecution"),
                        ("FlowName", "runaway"),
                        ("ExecutionName", name),
                    ],
                )
                .await;
                if status == 200 {
                    return body;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        let running = running.await.expect("the loop started");
        assert_eq!(running["Status"], "Running", "{running}");
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    for i in 0..3 {
        let name = format!("h{i}");
        let hello = tokio::time::timeout(bound, start(&svc, "hello", &name, json!({})));
        let hello = hello.await.expect("a short flow answers while two loop");
        assert_eq!(hello["Status"], "Succeeded", "{hello}");
        let seen = tokio::time::timeout(bound, describe(&svc, "runaway", "r1"));
        assert_eq!(seen.await.expect("a describe answers")["Status"], "Running");
    }
    for name in ["r1", "r2"] {
        ok(
            &svc,
            &[
                ("Action", "StopExecution"),
                ("FlowName", "runaway"),
                ("ExecutionName", name),
            ],
        )
        .await;
    }
    for task in loops {
        let ended = tokio::time::timeout(bound, task).await;
        let ended = ended.expect("a stopped loop stops driving").unwrap();
        assert_eq!(ended["Status"], "Stopped", "{ended}");
    }
}

on_both_stores!(
    a_loop_fails_past_its_transitions,
    stored_history_stays_within_its_bytes,
    the_caps_count_across_continuations,
    an_account_has_its_own_caps,
    a_loop_does_not_starve_the_others,
);

/// Long flows are a feature: 45,000 turns of a counter (90,003 transitions, about 180,000
/// events) run to their end under the default caps. On the embedded store only: on moto's
/// one-request-at-a-time server the history alone would take minutes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_flow_fits_the_default_caps() {
    let (svc, _rec, _guard) = service(
        Backend::Embedded,
        ExecutionLimits::default(),
        Budgets::UNBOUNDED,
    )
    .await;
    create_flow(&svc, "counter", COUNTER_LOOP, "DEFAULT").await;
    let answer = start(&svc, "counter", "c1", json!({"n": 45_000})).await;
    assert_eq!(answer["Status"], "Succeeded", "{answer}");
}

/// `fnf-lambda run` applies the same caps: a Map of 10,000 items fits the defaults, the
/// runaway stops at them, and the setting is read from the environment.
#[test]
fn a_local_run_has_the_same_caps() {
    let map = "\
Type: StateMachine
SpecVersion: v1
Name: items
StartAt: each
States:
  - Type: Map
    Name: each
    ItemsPath: $Input.items
    Processor:
      StartAt: one
      States:
        - Type: Pass
          Name: one
          End: true
    End: true
";
    let items = vec![json!({}); 10_000];
    let input = json!({ "items": items }).as_object().unwrap().clone();
    let run =
        runner::run_definition(map, FlowType::CloudFlow, input, &RunOptions::default()).unwrap();
    assert!(
        matches!(run.outcome, Outcome::Succeeded { .. }),
        "{:?}",
        run.outcome
    );

    let ran = runner::run_definition(
        RUNAWAY,
        FlowType::CloudFlow,
        Default::default(),
        &RunOptions::default(),
    );
    match ran.unwrap().outcome {
        Outcome::Failed { error, cause } => {
            assert_eq!(error, LIMIT_ERROR);
            assert!(cause.contains("100000 transitions"), "{cause}");
        }
        other => panic!("the runaway ended {other:?}"),
    }

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("runaway.yaml");
    std::fs::write(&file, RUNAWAY).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fnf-lambda"))
        .arg("run")
        .arg(&file)
        .env("FNF_MAX_EXECUTION_TRANSITIONS", "50")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(LIMIT_ERROR) && stderr.contains("50 transitions"),
        "{stderr}"
    );
}
