//! Executions that start executions are bounded (issue 13: two Parallel branches each starting
//! their own flow made 6,500 executions in 18 s and took `serve` down): child depth, children
//! per execution and running executions per account each have a default, a setting and a
//! named error. On both stores; `serve` as a process for the self-forking flow.

#[macro_use]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::process::{Server, dynamodb_args};
use common::{BUDGETS, Backend, Recorder, call, create_flow, ok, start};
use fnf_lambda::clock::SystemClock;
use fnf_lambda::service::{ForkLimits, Service};
use fnf_lambda::store::Store;
use serde_json::{Value, json};

/// Starts itself as a child, fire and forget, until something refuses the start.
const CHAIN: &str = "\
Type: StateMachine
SpecVersion: v1
Name: chain
StartAt: again
States:
  - Type: Task
    Name: again
    Action: FNF:StartExecution
    Parameters:
      FlowName: chain
    End: true
";

/// The flow: two branches, each starting this flow again.
const FORK: &str = "\
Type: StateMachine
SpecVersion: v1
Name: fork
StartAt: both
States:
  - Type: Parallel
    Name: both
    End: true
    Branches:
      - StartAt: a
        States:
          - Type: Task
            Name: a
            Action: FNF:StartExecution
            Parameters:
              FlowName: fork
            End: true
      - StartAt: b
        States:
          - Type: Task
            Name: b
            Action: FNF:StartExecution
            Parameters:
              FlowName: fork
            End: true
";

/// Starts a `leaf` per item of `$Input.items`, one after the other; the Map fails with the
/// first refusal.
const FAN_OUT: &str = "\
Type: StateMachine
SpecVersion: v1
Name: fan
StartAt: each
States:
  - Type: Map
    Name: each
    ItemsPath: $Input.items
    MaxConcurrency: 1
    Processor:
      StartAt: child
      States:
        - Type: Task
          Name: child
          Action: FNF:StartExecution
          Parameters:
            FlowName: leaf
          End: true
    End: true
";

const LEAF: &str = "\
Type: StateMachine
SpecVersion: v1
Name: leaf
StartAt: done
States:
  - Type: Pass
    Name: done
    End: true
";

/// Waits ten minutes: parks, and stays running.
const PARKED: &str = "\
Type: StateMachine
SpecVersion: v1
Name: parked
StartAt: hold
States:
  - Type: Wait
    Name: hold
    Seconds: 600
    End: true
";

/// Starts a `leaf`, catching the running-execution limit.
const LAUNCHER: &str = "\
Type: StateMachine
SpecVersion: v1
Name: launcher
StartAt: launch
States:
  - Type: Task
    Name: launch
    Action: FNF:StartExecution
    Parameters:
      FlowName: leaf
    Catch:
      - Errors: [FnF.RunningExecutionsLimitExceeded]
        Next: refused
        OutputConstructor:
          error.$: $Context.Current.Error.Code
    End: true
  - Type: Pass
    Name: refused
    End: true
";

/// A service on a fresh store (and the directory it lives in, kept for the test).
async fn world(
    backend: Backend,
    limits: ForkLimits,
) -> (Service, Arc<dyn Store>, Option<tempfile::TempDir>) {
    let (store, guard) = common::store(backend).await;
    let svc = Service::new(store.clone(), Arc::new(SystemClock))
        .with_continuations(Arc::new(Recorder::default()), BUDGETS)
        .with_fork_limits(limits);
    (svc, store, guard)
}

/// Every execution of `flow`, as ListExecutions pages them.
async fn executions(svc: &Service, flow: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut params = vec![
            ("Action", "ListExecutions"),
            ("FlowName", flow),
            ("Limit", "100"),
        ];
        if let Some(t) = token.as_deref() {
            params.push(("NextToken", t));
        }
        let page = ok(svc, &params).await;
        all.extend(page["Executions"].as_array().cloned().unwrap_or_default());
        match page["NextToken"].as_str() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return all,
        }
    }
}

fn limits(max_depth: u32, max_children: u32, max_running: u32) -> ForkLimits {
    ForkLimits {
        max_depth,
        max_children,
        max_running,
    }
}

/// A chain of children stops at the depth limit: depths 0..=3 run, the one at 3 fails its
/// task with `FnF.ChildDepthExceeded`, and each record keeps its depth.
async fn depth_is_capped(backend: Backend) {
    let (svc, store, _keep) = world(backend, limits(3, 100, 0)).await;
    create_flow(&svc, "chain", CHAIN, "DEFAULT").await;
    let root = start(&svc, "chain", "root", json!({})).await;
    assert_eq!(root["Status"], "Succeeded", "{root}");
    let all = executions(&svc, "chain").await;
    assert_eq!(all.len(), 4, "{all:?}");
    let mut depths = Vec::new();
    for e in &all {
        let name = e["Name"].as_str().unwrap();
        let record = store.get_execution("chain", name).await.unwrap().unwrap();
        depths.push(record.depth);
        if record.depth == 3 {
            assert_eq!(record.error.as_deref(), Some("FnF.ChildDepthExceeded"));
            assert_eq!(record.children, 0, "a refused start is not counted");
        } else {
            assert_eq!(record.status.as_str(), "Succeeded", "{record:?}");
            assert_eq!(record.children, 1);
        }
    }
    depths.sort();
    assert_eq!(depths, [0, 1, 2, 3]);
}

/// An execution starts at most `max_children` children; the next start fails its task with
/// `FnF.ChildrenLimitExceeded`.
async fn children_are_capped(backend: Backend) {
    let (svc, store, _keep) = world(backend, limits(16, 3, 0)).await;
    create_flow(&svc, "leaf", LEAF, "DEFAULT").await;
    create_flow(&svc, "fan", FAN_OUT, "DEFAULT").await;
    let fits = start(&svc, "fan", "three", json!({"items": [{}, {}, {}]})).await;
    assert_eq!(fits["Status"], "Succeeded", "{fits}");
    let over = start(&svc, "fan", "five", json!({"items": [{}, {}, {}, {}, {}]})).await;
    assert_eq!(over["Status"], "Failed", "{over}");
    assert_eq!(over["ErrorCode"], "FnF.ChildrenLimitExceeded", "{over}");
    assert_eq!(executions(&svc, "leaf").await.len(), 6, "3 + 3 children");
    let five = store.get_execution("fan", "five").await.unwrap().unwrap();
    assert_eq!(five.children, 3);
}

/// Without a limit of its own, an account runs at most `max_running` executions: the next
/// StartExecution answers `ResourceThrottled`, a child start fails its task with
/// `FnF.RunningExecutionsLimitExceeded`; an execution's end gives its slot back.
async fn running_executions_have_a_default_limit(backend: Backend) {
    let (svc, _store, _keep) = world(backend, limits(16, 100, 2)).await;
    for (name, definition) in [("parked", PARKED), ("leaf", LEAF), ("launcher", LAUNCHER)] {
        create_flow(&svc, name, definition, "DEFAULT").await;
    }
    assert_eq!(
        start(&svc, "parked", "p1", json!({})).await["Status"],
        "Running"
    );
    // The launcher takes the second slot; its child finds none.
    let launched = start(&svc, "launcher", "l1", json!({})).await;
    assert_eq!(launched["Status"], "Succeeded", "{launched}");
    let output: Value = serde_json::from_str(launched["Output"].as_str().unwrap()).unwrap();
    assert_eq!(output["error"], "FnF.RunningExecutionsLimitExceeded");
    assert_eq!(
        start(&svc, "parked", "p2", json!({})).await["Status"],
        "Running"
    );
    let (status, refused) = call(
        &svc,
        &[
            ("Action", "StartExecution"),
            ("FlowName", "leaf"),
            ("ExecutionName", "third"),
        ],
    )
    .await;
    assert_eq!(
        (status, refused["Code"].as_str()),
        (429, Some("ResourceThrottled"))
    );
    ok(
        &svc,
        &[
            ("Action", "StopExecution"),
            ("FlowName", "parked"),
            ("ExecutionName", "p1"),
        ],
    )
    .await;
    let after = start(&svc, "leaf", "third", json!({})).await;
    assert_eq!(after["Status"], "Succeeded", "{after}");
}

on_both_stores!(
    depth_is_capped,
    children_are_capped,
    running_executions_have_a_default_limit,
);

/// ListFlows against `serve`; `None` when it does not answer within a generous bound.
fn list_flows(addr: &str) -> Option<Value> {
    let addr = addr.to_owned();
    let (send, recv) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = send.send(common::process::post(
            &addr,
            json!({"Action": "ListFlows", "Limit": 1}),
        ));
    });
    recv.recv_timeout(Duration::from_secs(10)).ok()
}

/// The self-forking flow on `serve`: it ends, with at most 2^(depth+1) - 1
/// executions, each refusal a named error, and `serve` answers ListFlows all along.
fn self_forking_flow_ends_bounded(args: Vec<String>, mut envs: Vec<(String, String)>) {
    for (k, v) in [
        ("FNF_MAX_CHILD_DEPTH", "6"),
        ("FNF_MAX_RUNNING_EXECUTIONS", "40"),
        ("FNF_MAX_DRIVEN_EXECUTIONS", "4"),
        ("FNF_RESPONSE_BUDGET_MS", "300"),
        ("FNF_SWEEP_INTERVAL_MS", "500"),
    ] {
        envs.push((k.into(), v.into()));
    }
    let server = Server::start(&args, &envs);
    let created = server.post(
        json!({"Action": "CreateFlow", "Name": "fork", "Type": "DEFAULT", "Definition": FORK}),
    );
    assert_eq!(created["Name"], "fork", "{created}");
    let _root = common::process::send(
        &server.addr,
        json!({"Action": "StartExecution", "FlowName": "fork", "ExecutionName": "root"}),
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    let all = loop {
        let flows = list_flows(&server.addr).expect("serve answers ListFlows while forking");
        assert_eq!(flows["Flows"][0]["Name"], "fork", "{flows}");
        let all = serve_executions(&server.addr);
        let running = all.iter().filter(|e| e["Status"] == "Running").count();
        if !all.is_empty() && running == 0 {
            break all;
        }
        assert!(
            Instant::now() < deadline,
            "{} executions, {running} still running",
            all.len()
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(all.len() <= 127, "{} executions", all.len());
    for e in all.iter().filter(|e| e["Status"] != "Succeeded") {
        let name = e["Name"].as_str().unwrap();
        let d = server.post(
            json!({"Action": "DescribeExecution", "FlowName": "fork", "ExecutionName": name}),
        );
        let code = d["ErrorCode"].as_str().unwrap_or_default().to_owned();
        assert!(
            [
                "FnF.ChildDepthExceeded",
                "FnF.RunningExecutionsLimitExceeded"
            ]
            .contains(&code.as_str()),
            "{d}"
        );
    }
}

fn serve_executions(addr: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut token = Value::Null;
    loop {
        let mut body = json!({"Action": "ListExecutions", "FlowName": "fork", "Limit": 100});
        if !token.is_null() {
            body["NextToken"] = token.clone();
        }
        let page = common::process::post(addr, body);
        all.extend(page["Executions"].as_array().cloned().unwrap_or_default());
        token = page["NextToken"].clone();
        if token.as_str().is_none_or(str::is_empty) {
            return all;
        }
    }
}

#[test]
fn self_forking_flow_ends_bounded_embedded() {
    let dir = tempfile::tempdir().unwrap();
    let args = vec!["--data-dir".into(), dir.path().display().to_string()];
    self_forking_flow_ends_bounded(args, Vec::new());
}

#[test]
fn self_forking_flow_ends_bounded_dynamodb() {
    let (args, envs) = dynamodb_args("forking");
    self_forking_flow_ends_bounded(args, envs);
}

/// An HTTP server on loopback that holds each request `hold` before it answers `{}`, and
/// counts how many it holds at once at most.
fn holding_server(hold: Duration) -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (active, max) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let seen = max.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let (active, max) = (active.clone(), max.clone());
            std::thread::spawn(move || {
                let mut stream = stream;
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                let now = active.fetch_add(1, Ordering::SeqCst) + 1;
                max.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(hold);
                active.fetch_sub(1, Ordering::SeqCst);
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
                );
            });
        }
    });
    (port, seen)
}

/// `serve` drives at most `FNF_MAX_DRIVEN_EXECUTIONS` continuations at once: twelve
/// executions whose waits end together make their HTTP calls two at a time, all end, and
/// ListFlows is answered meanwhile.
#[test]
fn serve_drives_a_bounded_number_at_once() {
    let (port, max_at_once) = holding_server(Duration::from_millis(400));
    let definition = format!(
        "\
Type: StateMachine
SpecVersion: v1
Name: slow
StartAt: nap
States:
  - Type: Wait
    Name: nap
    Seconds: 2
    Next: call
  - Type: Task
    Name: call
    Action: HTTP:Request
    Parameters:
      url: http://127.0.0.1:{port}/hold
    End: true
"
    );
    let dir = tempfile::tempdir().unwrap();
    let args = vec!["--data-dir".into(), dir.path().display().to_string()];
    let envs: Vec<(String, String)> = [
        ("FNF_MAX_DRIVEN_EXECUTIONS", "2"),
        ("FNF_RESPONSE_BUDGET_MS", "100"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let server = Server::start(&args, &envs);
    let created = server.post(
        json!({"Action": "CreateFlow", "Name": "slow", "Type": "DEFAULT", "Definition": definition}),
    );
    assert_eq!(created["Name"], "slow", "{created}");
    for i in 0..12 {
        let started = server.post(
            json!({"Action": "StartExecution", "FlowName": "slow", "ExecutionName": format!("e{i}")}),
        );
        assert_eq!(started["Status"], "Running", "{started}");
    }
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        assert!(list_flows(&server.addr).is_some(), "ListFlows unanswered");
        let page =
            server.post(json!({"Action": "ListExecutions", "FlowName": "slow", "Limit": 100}));
        let done = page["Executions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["Status"] == "Succeeded")
            .count();
        if done == 12 {
            break;
        }
        assert!(Instant::now() < deadline, "{page}");
        std::thread::sleep(Duration::from_millis(300));
    }
    let max = max_at_once.load(std::sync::atomic::Ordering::SeqCst);
    assert!((1..=2).contains(&max), "{max} calls at once");
}

/// What taking a slot on every start costs, for the record (not an assertion): mean
/// StartExecution time of a one-state flow, without a running limit and with the default.
/// `./scripts/with-moto.sh cargo test --test forking start_cost -- --ignored --nocapture`
async fn start_cost(backend: Backend) {
    const CALLS: usize = 200;
    for (label, max_running) in [("no limit", 0), ("default limit", 1_000)] {
        let (svc, _store, _keep) = world(backend, limits(16, 100, max_running)).await;
        create_flow(&svc, "leaf", LEAF, "DEFAULT").await;
        start(&svc, "leaf", "warm-up", json!({})).await;
        let began = Instant::now();
        for i in 0..CALLS {
            start(&svc, "leaf", &format!("e{i}"), json!({})).await;
        }
        let mean = began.elapsed().as_secs_f64() * 1e6 / CALLS as f64;
        eprintln!("{backend:?} {label}: {mean:.0} us per StartExecution ({CALLS} calls)");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run by hand"]
async fn start_cost_embedded() {
    start_cost(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run by hand"]
async fn start_cost_dynamodb() {
    start_cost(Backend::Dynamo).await;
}
