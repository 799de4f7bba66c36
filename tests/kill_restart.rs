//! A process killed mid-flow loses nothing: `fnf-lambda serve` is SIGKILLed while executions
//! run and wait, restarted on the same store, and every accepted execution finishes correctly
//! (the sweep at start and every 200 ms picks up expired leases and due waits). On both stores.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

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

struct Server {
    child: Child,
    addr: String,
}

fn start(store_args: &[String], envs: &[(String, String)]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fnf-lambda"))
        .args(["serve", "--addr", "127.0.0.1:0"])
        .args(store_args)
        .envs(envs.iter().cloned())
        .env("FNF_RESPONSE_BUDGET_MS", "50")
        .env("FNF_INVOCATION_BUDGET_MS", "100")
        .env("FNF_LEASE_MARGIN_MS", "100")
        .env("FNF_SWEEP_INTERVAL_MS", "200")
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .expect("start fnf-lambda serve");
    // The address is in the first log line: "serving the fnf API on http://127.0.0.1:PORT (...".
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("serve exited before it listened")
            .unwrap();
        if let Some(rest) = line.split("http://").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    // Keep draining the log so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server { child, addr }
}

fn post(addr: &str, body: Value) -> Value {
    let text = body.to_string();
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("");
    serde_json::from_str(body.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {response}"))
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
    server.child.kill().expect("SIGKILL");
    server.child.wait().unwrap();

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
    let mut server = server;
    server.child.kill().ok();
    server.child.wait().ok();
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
    let endpoint = common::dynamodb_endpoint();
    let table = format!("fnf-kill-{}", std::process::id());
    let envs: Vec<(String, String)> = [
        ("AWS_ENDPOINT_URL_DYNAMODB", endpoint.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let status = Command::new(env!("CARGO_BIN_EXE_fnf-lambda"))
        .args(["create-table", &table])
        .envs(envs.iter().cloned())
        .status()
        .unwrap();
    assert!(status.success());
    kill_mid_flow(vec!["--table".into(), table], envs);
}
