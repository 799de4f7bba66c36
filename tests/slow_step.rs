//! A long step runs once (issue 13, point 3): a flow whose every state spends noticeable CPU
//! in `regexMatchString`, looping many turns, under a short budget and margin and a fast
//! sweep. One engine step used to run 1024 transitions whatever they cost, seconds here, so
//! the sweep found the lease expired while the step ran and sent a second driver (a take-over,
//! an abandoned invocation counted). Now a step yields after its work quota and the run loop
//! parks on time: no take-over, the execution ends once, its history has every event once.
//! On both stores, with `serve` as a process (its log tells take-overs). And a slow setup (the
//! claim answered late) does not leave the lease shorter than the budget: it is renewed.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use std::io::Read;
use std::net::TcpStream;

use common::process::{Server, dynamodb_args, send};
use serde_json::{Value, json};

/// Turns of the loop; each is a Choice and a Pass that matches a pattern that never matches
/// (about 70 instructions) against the whole text.
const TURNS: u64 = 150;
/// The text each Pass scans: with the pattern, about 1.4 million regex steps per turn (tens
/// of milliseconds in a debug build), so the 150 turns take seconds of CPU.
const TEXT_CHARS: usize = 20_000;

const SLOW_LOOP: &str = "\
Type: StateMachine
SpecVersion: v1
Name: slow
StartAt: init
States:
  - Type: Pass
    Name: init
    OutputConstructor:
      i: 0
      n.$: $Input.n
      text.$: $Input.text
    Next: check
  - Type: Choice
    Name: check
    Branches:
      - Condition: $Input.i < $Input.n
        Next: work
    Default: done
  - Type: Pass
    Name: work
    OutputConstructor:
      i.$: intAdd($Input.i, 1)
      n.$: $Input.n
      text.$: $Input.text
      found.$: regexMatchString($Input.text, \"(?:a?){32}b\")
    Next: check
  - Type: Pass
    Name: done
    InputConstructor:
      i.$: $Input.i
      found.$: $Input.found
    End: true
";

/// What `serve` logs when it takes a lease over from an invocation that did not hand it back.
const TAKE_OVER: &str = "did not hand it back";

/// Budgets far shorter than the flow's CPU: StartExecution and every continuation drive for
/// 300 ms, a lease outlives that by 1 s, and the sweep looks every 100 ms. A step's work
/// quota of 2 million units is one or two turns here: far under the margin even on a
/// loaded machine.
fn start(args: &[String], envs: &[(String, String)]) -> Server {
    let mut envs = envs.to_vec();
    for (k, v) in [
        ("FNF_RESPONSE_BUDGET_MS", "300"),
        ("FNF_INVOCATION_BUDGET_MS", "300"),
        ("FNF_LEASE_MARGIN_MS", "1000"),
        ("FNF_SWEEP_INTERVAL_MS", "100"),
        ("FNF_STEP_WORK", "2000000"),
    ] {
        envs.push((k.into(), v.into()));
    }
    Server::start(args, &envs)
}

fn slow_steps_run_once(args: Vec<String>, envs: Vec<(String, String)>) {
    let server = start(&args, &envs);
    let created = server.post(
        json!({"Action": "CreateFlow", "Name": "slow", "Type": "DEFAULT", "Definition": SLOW_LOOP}),
    );
    assert_eq!(created["Name"], "slow", "{created}");
    let input = json!({"n": TURNS, "text": "a".repeat(TEXT_CHARS)}).to_string();
    // Its answer is read once the execution ended: before the fix, StartExecution's one step
    // ran the whole flow (competing with the drivers that took it over) and answered late.
    let starting = send(
        &server.addr,
        json!({"Action": "StartExecution", "FlowName": "slow", "ExecutionName": "e", "Input": input}),
    );
    let began = Instant::now();
    let mut done = json!(null);
    while began.elapsed() < Duration::from_secs(300) {
        done = server.post(json!({"Action": "DescribeExecution", "FlowName": "slow", "ExecutionName": "e", "WaitTimeSeconds": 5}));
        if done["Status"] != "Running" && done["Code"] != "ExecutionNotExists" {
            break;
        }
    }

    let mut log = Vec::new();
    while let Ok(line) = server.log.try_recv() {
        log.push(line);
    }
    let took_over: Vec<&String> = log.iter().filter(|l| l.contains(TAKE_OVER)).collect();
    assert!(
        took_over.is_empty(),
        "{} take-overs by a second driver, the first: {:?}",
        took_over.len(),
        took_over.first()
    );
    let fenced = log.iter().filter(|l| l.contains("fenced off")).count();
    assert_eq!(fenced, 0, "drivers were fenced off");
    assert_eq!(done["Status"], "Succeeded", "{}", done["ErrorCode"]);
    // StartExecution answered when its budget ran out, not when the flow ended.
    let started = answer(starting);
    assert_eq!(started["Status"], "Running", "{}", started["Status"]);
    let output: Value = serde_json::from_str(done["Output"].as_str().unwrap()).unwrap();
    assert_eq!(output, json!({"i": TURNS, "found": false}));
    let parked = log
        .iter()
        .filter(|l| l.contains("execution parked"))
        .count();
    assert!(parked >= 2, "the flow was carried by several invocations");

    // Every state ran once: no event twice, `work` entered once per turn.
    let events = history(&server);
    let ids: HashSet<u64> = events
        .iter()
        .map(|e| e["EventId"].as_u64().unwrap())
        .collect();
    assert_eq!(ids.len(), events.len(), "an event id repeats");
    let entered = |step: &str| {
        events
            .iter()
            .filter(|e| e["Type"] == "StepEntered" && e["StepName"] == step)
            .count() as u64
    };
    assert_eq!((entered("work"), entered("check")), (TURNS, TURNS + 1));
    let ended = events
        .iter()
        .filter(|e| e["Type"] == "ExecutionSucceeded")
        .count();
    assert_eq!(ended, 1);
}

/// The body of the answer on `stream`.
fn answer(mut stream: TcpStream) -> Value {
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("");
    serde_json::from_str(body.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {response}"))
}

/// The whole history, page by page.
fn history(server: &Server) -> Vec<Value> {
    let mut events = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut request = json!({"Action": "GetExecutionHistory", "FlowName": "slow", "ExecutionName": "e", "Limit": 100});
        if let Some(t) = &token {
            request["NextToken"] = json!(t);
        }
        let page = server.post(request);
        let page_events = page["Events"]
            .as_array()
            .unwrap_or_else(|| panic!("{page}"));
        events.extend(page_events.iter().cloned());
        match page["NextToken"].as_str() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return events,
        }
    }
}

#[test]
fn embedded_store_runs_each_slow_step_once() {
    let dir = tempfile::tempdir().unwrap();
    let args = vec![
        "--data-dir".into(),
        dir.path().to_string_lossy().into_owned(),
    ];
    slow_steps_run_once(args, vec![]);
}

#[test]
fn dynamodb_store_runs_each_slow_step_once() {
    let (args, envs) = dynamodb_args("fnf-slow");
    slow_steps_run_once(args, envs);
}

/// StartExecution's claim answers 2 s late (a throttled store, the SDK retrying): its lease
/// (taken for the 5.5 s budget plus a 1 s margin before the claim) would end while the
/// execution, asleep in place in a 5 s Wait inside its budget, is still driven; a sweep then
/// would hand it to a second driver. The lease is renewed at the start of the run instead.
async fn slow_claim_keeps_its_lease(backend: common::Backend) {
    use std::sync::Arc;
    use std::sync::atomic::Ordering;

    use fnf_lambda::clock::SystemClock;
    use fnf_lambda::service::{Budgets, Service};

    let (store, _guard) = common::store(backend).await;
    let counting = Arc::new(common::Counting::new(store));
    let recorder = Arc::new(common::Recorder::default());
    let budgets = Budgets {
        response_ms: 5_500,
        invocation_ms: 5_500,
        lease_margin_ms: 1_000,
    };
    let svc = Service::new(counting.clone(), Arc::new(SystemClock))
        .with_continuations(recorder.clone(), budgets);
    let wait = "Type: StateMachine\nSpecVersion: v1\nName: w\nStartAt: w\nStates:\n  - Type: Wait\n    Name: w\n    Seconds: 5\n    End: true\n";
    common::create_flow(&svc, "w", wait, "DEFAULT").await;
    counting.claim_delay_ms.store(2_000, Ordering::SeqCst);
    let starting = {
        let svc = svc.clone();
        tokio::spawn(async move { common::start(&svc, "w", "e", json!({})).await })
    };
    // 6.8 s after the start: past the lease as first taken (6.5 s), inside the renewed one.
    tokio::time::sleep(Duration::from_millis(6_800)).await;
    let swept = svc.sweep().await.unwrap();
    assert_eq!(
        swept,
        0,
        "the sweep found the lease expired: {:?}",
        recorder.take()
    );
    let started = starting.await.unwrap();
    assert_eq!(started["Status"], "Succeeded", "{started}");
    let record = counting
        .inner
        .get_execution("w", "e")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.abandoned, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_store_renews_a_lease_a_slow_claim_shortened() {
    slow_claim_keeps_its_lease(common::Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_store_renews_a_lease_a_slow_claim_shortened() {
    slow_claim_keeps_its_lease(common::Backend::Dynamo).await;
}
