//! Data nests at most `MAX_DATA_DEPTH` (64) levels of arrays and objects. Issue 12: a Pass
//! state that wrapped its data in 30 more arrays per turn, looped 400 times (12,000 levels,
//! about 24 KB), overflowed a worker's stack and aborted the process, again on every restart.
//! Now the state that builds too deep fails with `FnF.RuntimeError` (Catch can take it), an
//! input or a reported result that deep is refused, and data at the limit still parks and
//! reads back inside a checkpoint nested 8 forks deep.

#[macro_use]
mod common;

use std::sync::Arc;

use common::{BUDGETS, Backend, ManualClock, Recorder, T0, call, create_flow, describe, ok, start};
use fnf_lambda::engine::MAX_DATA_DEPTH;
use fnf_lambda::service::Service;
use fnf_lambda::service::continuation::Continued;
use serde_json::{Value, json};

/// `$Input.x` wrapped in 30 arrays per turn, `turns` (the input's `n`) times.
fn wrapping_loop() -> String {
    let open = "[".repeat(30);
    let close = "]".repeat(30);
    format!(
        "\
Type: StateMachine
SpecVersion: v1
Name: wrap
StartAt: init
States:
  - Type: Pass
    Name: init
    OutputConstructor:
      i: 0
      n.$: $Input.n
      x: 1
    Next: check
  - Type: Choice
    Name: check
    Branches:
      - Condition: $Input.i < $Input.n
        Next: wrap
    Default: done
  - Type: Pass
    Name: wrap
    OutputConstructor:
      i.$: intAdd($Input.i, 1)
      n.$: $Input.n
      x.$: \"{open}$Input.x{close}\"
    Next: check
  - Type: Pass
    Name: done
    End: true
"
    )
}

fn nested(levels: usize) -> Value {
    (0..levels).fold(json!(1), |v, _| Value::Array(vec![v]))
}

async fn wrapping_data_400_times_fails_the_execution_not_the_process(backend: Backend) {
    let (svc, _guard) = common::service(backend).await;
    create_flow(&svc, "wrap", &wrapping_loop(), "DEFAULT").await;
    let answer = start(&svc, "wrap", "w1", json!({"n": 400})).await;
    assert_eq!(answer["Status"], "Failed", "{answer}");
    assert_eq!(answer["ErrorCode"], "FnF.RuntimeError", "{answer}");
    let cause = answer["ErrorMessage"].as_str().unwrap();
    assert!(
        cause.contains("wrap") && cause.contains(&format!("more than {MAX_DATA_DEPTH} levels")),
        "the cause names the state and the limit: {cause}"
    );
    // The service is still here, and a flow within the limit runs: two turns, 60 levels.
    let fits = start(&svc, "wrap", "w2", json!({"n": 2})).await;
    assert_eq!(fits["Status"], "Succeeded", "{fits}");
}

async fn an_input_nested_too_deep_is_refused(backend: Backend) {
    let (svc, _guard) = common::service(backend).await;
    create_flow(&svc, "wrap", &wrapping_loop(), "DEFAULT").await;
    let deep = json!({ "x": nested(MAX_DATA_DEPTH) }).to_string();
    let (status, body) = call(
        &svc,
        &[
            ("Action", "StartExecution"),
            ("FlowName", "wrap"),
            ("ExecutionName", "deep"),
            ("Input", &deep),
        ],
    )
    .await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (400, Some("InvalidArgument")),
        "{body}"
    );
    assert!(
        body["Message"].as_str().unwrap().contains("Input"),
        "{body}"
    );
    let at_limit = json!({ "n": 0, "x": nested(MAX_DATA_DEPTH - 1) }).to_string();
    ok(
        &svc,
        &[
            ("Action", "StartExecution"),
            ("FlowName", "wrap"),
            ("ExecutionName", "at-limit"),
            ("Input", &at_limit),
        ],
    )
    .await;
}

/// Eight Parallels inside each other, the innermost waiting two minutes on data at the limit,
/// then giving a small output (each Parallel wraps its branches' outputs in one more array).
fn deep_forks_around_a_wait() -> String {
    let mut states = String::from(
        "- Type: Wait\n  Name: hold\n  Seconds: 120\n  Next: shrink\n\
         - Type: Pass\n  Name: shrink\n  OutputConstructor:\n    done: true\n  End: true\n",
    );
    for level in 0..8 {
        let inner: String = states.lines().map(|l| format!("          {l}\n")).collect();
        states = format!(
            "- Type: Parallel\n  Name: fork{level}\n  End: true\n  Branches:\n    - StartAt: {}\n      States:\n{inner}",
            if level == 0 {
                "hold".to_string()
            } else {
                format!("fork{}", level - 1)
            }
        );
    }
    let body: String = states.lines().map(|l| format!("  {l}\n")).collect();
    format!("Type: StateMachine\nSpecVersion: v1\nName: forks\nStartAt: fork7\nStates:\n{body}")
}

async fn data_at_the_limit_parks_and_resumes_inside_deep_forks(backend: Backend) {
    let (store, _guard) = common::store(backend).await;
    let recorder = Arc::new(Recorder::default());
    let clock = ManualClock::at(T0);
    let svc =
        Service::new(store, Arc::new(clock.clone())).with_continuations(recorder.clone(), BUDGETS);
    create_flow(&svc, "forks", &deep_forks_around_a_wait(), "DEFAULT").await;
    // Objects count as levels too: the input is one, `x` holds the rest.
    let input = json!({ "x": nested(MAX_DATA_DEPTH - 1) });
    let started = start(&svc, "forks", "f", input.clone()).await;
    assert_eq!(started["Status"], "Running", "{started}");

    clock.advance(121_000);
    recorder.take();
    assert_eq!(svc.sweep().await.unwrap(), 1);
    let due = recorder.take();
    assert!(matches!(
        svc.continue_execution(&due[0], "wake").await.unwrap(),
        Continued::Drove { .. }
    ));
    let done = describe(&svc, "forks", "f").await;
    assert_eq!(done["Status"], "Succeeded", "{done}");
    let out: Value = serde_json::from_str(done["Output"].as_str().unwrap()).unwrap();
    // A Parallel's output names its branches' outputs (`Branch0`, ...).
    let expected = (0..8).fold(json!({"done": true}), |v, _| json!({ "Branch0": v }));
    assert_eq!(out, expected);
}

on_both_stores!(
    wrapping_data_400_times_fails_the_execution_not_the_process,
    an_input_nested_too_deep_is_refused,
    data_at_the_limit_parks_and_resumes_inside_deep_forks,
);
