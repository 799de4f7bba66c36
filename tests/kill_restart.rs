//! A process killed mid-flow loses nothing: `fnf-lambda serve` is SIGKILLed while executions
//! run and wait, restarted on the same store, and every accepted execution finishes correctly
//! (the sweep at start and every 200 ms picks up expired leases and due waits). On both stores.

mod common;

use std::time::{Duration, Instant};

use common::process::{Server, dynamodb_args, post};
use serde_json::json;

/// Ten rounds of: a short wait, a task that sleeps, a counter increment.
const ROUNDS: &str = "\
Type: StateMachine
SpecVersion: v1
Name: rounds
StartAt: init
States:
  - Type: Pass
    Name: init
    OutputConstructor:
      i: 0
    Next: check
  - Type: Choice
    Name: check
    Branches:
      - Condition: $Input.i < 10
        Next: pause
    Default: done
  - Type: Wait
    Name: pause
    Seconds: 0
    Next: work
  - Type: Task
    Name: work
    Action: Test:Sleep
    Parameters:
      Milliseconds: 150
      Result:
        slept: true
    OutputConstructor:
      i.$: intAdd($Input.i, 1)
    Next: check
  - Type: Pass
    Name: done
    End: true
";

/// Short budgets, so that executions go through many invocations; a sweep every 200 ms.
fn start(store_args: &[String], envs: &[(String, String)]) -> Server {
    let mut envs = envs.to_vec();
    for (k, v) in [
        ("FNF_RESPONSE_BUDGET_MS", "50"),
        ("FNF_INVOCATION_BUDGET_MS", "100"),
        ("FNF_LEASE_MARGIN_MS", "100"),
        ("FNF_SWEEP_INTERVAL_MS", "200"),
    ] {
        envs.push((k.into(), v.into()));
    }
    Server::start(store_args, &envs)
}

fn kill_mid_flow(store_args: Vec<String>, envs: Vec<(String, String)>) {
    let mut server = start(&store_args, &envs);
    let created = post(
        &server.addr,
        json!({"Action": "CreateFlow", "Name": "rounds", "Type": "DEFAULT", "Definition": ROUNDS}),
    );
    assert_eq!(created["Name"], "rounds", "{created}");
    let names: Vec<String> = (0..5).map(|i| format!("run{i}")).collect();
    for name in &names {
        let started = post(
            &server.addr,
            json!({"Action": "StartExecution", "FlowName": "rounds", "ExecutionName": name}),
        );
        assert_eq!(started["Status"], "Running", "{started}");
    }
    // Mid-flow: each execution needs about 1.5 s of task sleeps.
    std::thread::sleep(Duration::from_millis(600));
    server.kill();

    let server = start(&store_args, &envs);
    // The kill did land mid-flow: some executions had not finished.
    let unfinished = names
        .iter()
        .filter(|name| {
            post(
                &server.addr,
                json!({"Action": "DescribeExecution", "FlowName": "rounds", "ExecutionName": name}),
            )["Status"]
                == "Running"
        })
        .count();
    assert!(
        unfinished > 0,
        "every execution ended before the kill: the test proves nothing"
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    for name in &names {
        let done = loop {
            let d = post(
                &server.addr,
                json!({"Action": "DescribeExecution", "FlowName": "rounds", "ExecutionName": name, "WaitTimeSeconds": 2}),
            );
            if d["Status"] != "Running" || Instant::now() > deadline {
                break d;
            }
        };
        assert_eq!(done["Status"], "Succeeded", "{name}: {done}");
        assert_eq!(done["Output"], r#"{"i":10}"#, "{name}");
        let history = post(
            &server.addr,
            json!({"Action": "GetExecutionHistory", "FlowName": "rounds", "ExecutionName": name, "Limit": 100}),
        );
        let events = history["Events"].as_array().unwrap();
        let ids: Vec<u64> = events
            .iter()
            .map(|e| e["EventId"].as_u64().unwrap())
            .collect();
        assert!(
            ids.iter().copied().eq(1..=ids.len() as u64),
            "{name}: ids {ids:?}"
        );
        let works = events
            .iter()
            .filter(|e| e["Type"] == "TaskSucceeded")
            .count();
        assert_eq!(
            works, 10,
            "{name}: each round's task succeeded once in the history"
        );
    }
}

#[test]
fn embedded_store_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    kill_mid_flow(
        vec![
            "--data-dir".into(),
            dir.path().to_string_lossy().into_owned(),
        ],
        vec![],
    );
}

#[test]
fn dynamodb_store_survives_sigkill() {
    let (args, envs) = dynamodb_args("fnf-kill");
    kill_mid_flow(args, envs);
}
