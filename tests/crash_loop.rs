//! An execution whose invocations keep dying is failed, not retried forever (issue 12: a flow
//! that overflowed the stack aborted `serve` again on every restart, so the service never came
//! back). Here `serve` is SIGKILLed while it drives the execution, three times in a row; on
//! the next restart the take-over fails the execution with `FnF.ExecutionAbandoned` and the
//! service goes on serving. An execution that gets through an invocation (parks) starts
//! counting afresh. On both stores.

mod common;

use std::time::Duration;

use common::process::{Server, dynamodb_args};
use serde_json::json;

/// One HTTP call to a server that never answers: in flight for as long as an invocation here
/// lives (the server is a listening socket nobody accepts on).
fn long_task(port: u16) -> String {
    format!(
        "\
Type: StateMachine
SpecVersion: v1
Name: long
StartAt: work
States:
  - Type: Task
    Name: work
    Action: HTTP:Request
    Parameters:
      url: http://127.0.0.1:{port}/never
    End: true
"
    )
}

/// The warning `serve` logs when it takes over an execution from an invocation that died.
const TAKE_OVER: &str = "did not hand it back";

/// Budgets long enough that each invocation is still driving when it is killed; the lease
/// runs out 100 ms after the budget, and the sweep looks every 200 ms.
fn start(args: &[String], envs: &[(String, String)]) -> Server {
    let mut envs = envs.to_vec();
    for (k, v) in [
        ("FNF_RESPONSE_BUDGET_MS", "2000"),
        ("FNF_INVOCATION_BUDGET_MS", "2000"),
        ("FNF_LEASE_MARGIN_MS", "100"),
        ("FNF_SWEEP_INTERVAL_MS", "200"),
    ] {
        envs.push((k.into(), v.into()));
    }
    Server::start(args, &envs)
}

fn killed_three_times_in_a_row_then_failed(args: Vec<String>, envs: Vec<(String, String)>) {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let definition = long_task(silent.local_addr().unwrap().port());
    let mut server = start(&args, &envs);
    let created = server.post(
        json!({"Action": "CreateFlow", "Name": "long", "Type": "DEFAULT", "Definition": definition}),
    );
    assert_eq!(created["Name"], "long", "{created}");
    // The first invocation: StartExecution drives the execution for its response budget.
    let _unanswered = common::process::send(
        &server.addr,
        json!({"Action": "StartExecution", "FlowName": "long", "ExecutionName": "e"}),
    );
    std::thread::sleep(Duration::from_millis(700));
    server.kill();

    // Two more invocations die driving it; each is a take-over the restarted server logs.
    for round in 1..=2 {
        server = start(&args, &envs);
        let took = server.wait_for_log(TAKE_OVER, Duration::from_secs(20));
        assert!(took.is_some(), "round {round}: no take-over logged");
        std::thread::sleep(Duration::from_millis(300));
        let d = server
            .post(json!({"Action": "DescribeExecution", "FlowName": "long", "ExecutionName": "e"}));
        assert_eq!(d["Status"], "Running", "round {round}: {d}");
        server.kill();
    }

    // The third dead invocation in a row: the next take-over fails the execution.
    server = start(&args, &envs);
    let mut done = json!(null);
    for _ in 0..10 {
        done = server.post(json!({"Action": "DescribeExecution", "FlowName": "long", "ExecutionName": "e", "WaitTimeSeconds": 2}));
        if done["Status"] != "Running" {
            break;
        }
    }
    assert_eq!(done["Status"], "Failed", "{done}");
    assert_eq!(done["ErrorCode"], "FnF.ExecutionAbandoned", "{done}");
    // The service is still serving.
    let listed = server.post(json!({"Action": "ListFlows"}));
    assert_eq!(listed["Flows"][0]["Name"], "long", "{listed}");
}

#[test]
fn embedded_store_fails_an_execution_that_keeps_killing_its_process() {
    let dir = tempfile::tempdir().unwrap();
    let args = vec![
        "--data-dir".into(),
        dir.path().to_string_lossy().into_owned(),
    ];
    killed_three_times_in_a_row_then_failed(args, vec![]);
}

#[test]
fn dynamodb_store_fails_an_execution_that_keeps_killing_its_process() {
    let (args, envs) = dynamodb_args("fnf-crash");
    killed_three_times_in_a_row_then_failed(args, envs);
}
