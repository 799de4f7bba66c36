//! Invoke faults (issue 13, point 6): continuations travel as async Invokes through the real
//! SDK client (its standard retry: 3 attempts, backoff) to an Invoke test server that fails
//! most of them: 429 TooManyRequestsException, 500 ServiceException, a connection closed
//! without an answer, and invokes accepted but lost. The test hands each kept payload to the
//! Lambda handler (concurrently, as Lambda would) and runs the sweep every 200 ms. Every
//! execution must end, once, and well; no accepted StartExecution may fail.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_lambda::config::retry::RetryConfig;
use aws_sdk_lambda::config::{BehaviorVersion, Credentials, Region};
use common::{Backend, create_flow, ok};
use fnf_lambda::api;
use fnf_lambda::clock::SystemClock;
use fnf_lambda::dispatch::invoke::InvokeDispatcher;
use fnf_lambda::service::{Budgets, Service};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::{Value, json};
use tokio::task::JoinSet;

/// What the server does with one Invoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Fault {
    Accepted,
    Throttled,
    ServiceError,
    Reset,
    Lost,
}

/// Six invokes in ten fail, in a fixed order (so a failure replays).
const PATTERN: [Fault; 10] = [
    Fault::Throttled,
    Fault::Accepted,
    Fault::ServiceError,
    Fault::Reset,
    Fault::Accepted,
    Fault::Lost,
    Fault::Throttled,
    Fault::Accepted,
    Fault::Accepted,
    Fault::ServiceError,
];

#[derive(Default)]
struct Faulty {
    requests: AtomicU64,
    /// Payloads accepted and kept, for the test to deliver.
    kept: Mutex<Vec<Value>>,
    /// Invokes received, by what was done with them.
    by_kind: Mutex<HashMap<Fault, u64>>,
    /// Attempts per continuation (flow, name, version).
    attempts: Mutex<HashMap<String, u64>>,
}

impl Faulty {
    /// What to answer this invoke; `None`: close the connection without an answer.
    fn answer(&self, payload: Value) -> Option<hyper::Response<Full<Bytes>>> {
        let n = self.requests.fetch_add(1, Ordering::SeqCst);
        let fault = PATTERN[(n % PATTERN.len() as u64) as usize];
        *self.by_kind.lock().unwrap().entry(fault).or_default() += 1;
        let c = &payload["fnfContinuation"];
        let key = format!("{}/{}/{}", c["flow"], c["name"], c["version"]);
        *self.attempts.lock().unwrap().entry(key).or_default() += 1;
        let error = |status: u16, kind: &str, message: &str| {
            let body = json!({"Type": "Service", "message": message}).to_string();
            let mut r = hyper::Response::new(Full::new(Bytes::from(body)));
            *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
            r.headers_mut()
                .insert("x-amzn-errortype", kind.parse().unwrap());
            Some(r)
        };
        match fault {
            Fault::Throttled => error(429, "TooManyRequestsException", "Rate Exceeded."),
            Fault::ServiceError => error(500, "ServiceException", "internal failure"),
            Fault::Reset => None,
            Fault::Accepted | Fault::Lost => {
                if fault == Fault::Accepted {
                    self.kept.lock().unwrap().push(payload);
                }
                let mut r = hyper::Response::new(Full::new(Bytes::new()));
                *r.status_mut() = hyper::StatusCode::ACCEPTED;
                Some(r)
            }
        }
    }
}

/// The Invoke API on 127.0.0.1, failing as `PATTERN` says.
async fn faulty_invoke_api() -> (String, Arc<Faulty>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let faulty = Arc::new(Faulty::default());
    let server = faulty.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let server = server.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let server = server.clone();
                        async move {
                            let body = req.into_body().collect().await.map(|b| b.to_bytes());
                            let payload = serde_json::from_slice(&body.unwrap_or_default())
                                .unwrap_or(Value::Null);
                            // An error from the service closes the connection unanswered.
                            server.answer(payload).ok_or("reset")
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (format!("http://{addr}"), faulty)
}

/// A Wait of 1 s, twice: each wait outlasts the response budget and the invocation budget,
/// so it parks, and its continuation is sent at once (due within a minute).
const TWO_WAITS: &str = "\
Type: StateMachine
SpecVersion: v1
Name: waits
StartAt: first
States:
  - Type: Wait
    Name: first
    Seconds: 1
    Next: second
  - Type: Wait
    Name: second
    Seconds: 1
    Next: done
  - Type: Pass
    Name: done
    End: true
";
/// How many executions of each flow, and the loop's turns: each loop writes 4,000 history
/// events, which moto (one request at a time, on a loaded machine) takes minutes for, so the
/// DynamoDB run is smaller.
struct Scale {
    loops: usize,
    waits: usize,
    turns: u64,
}

async fn every_execution_ends_once(backend: Backend, scale: Scale) {
    let Scale {
        loops,
        waits,
        turns,
    } = scale;
    if std::env::var_os("FNF_TEST_LOG").is_some() {
        fnf_lambda::logging::init(false);
    }
    let (endpoint, faulty) = faulty_invoke_api().await;
    // As the process configures its clients (`aws::sdk_config`): the standard retry.
    let config = aws_sdk_lambda::Config::builder()
        .http_client(fnf_lambda::aws::https_client())
        .behavior_version(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .build();
    let dispatcher = InvokeDispatcher::new(
        aws_sdk_lambda::Client::from_conf(config),
        "stack-fnf".into(),
        SystemClock,
    );
    let (store, _guard) = common::store(backend).await;
    // StartExecution answers at once (after 1,024 transitions); a continuation drives for
    // 500 ms; a lease outlives that by 2 s (a debug build on a loaded machine takes some 200 ms for one step of 1,024 transitions).
    let budgets = Budgets {
        response_ms: 1,
        invocation_ms: 500,
        lease_margin_ms: 2_000,
    };
    let svc = Service::new(store.clone(), Arc::new(SystemClock))
        .with_continuations(Arc::new(dispatcher), budgets);
    create_flow(&svc, "loop", common::COUNTER_LOOP, "DEFAULT").await;
    create_flow(&svc, "waits", TWO_WAITS, "DEFAULT").await;

    // Every start is accepted (Running), whatever became of its continuation's dispatch.
    let mut names = Vec::new();
    for i in 0..loops {
        let name = format!("l{i}");
        let input = json!({ "n": turns }).to_string();
        let started = ok(
            &svc,
            &[
                ("Action", "StartExecution"),
                ("FlowName", "loop"),
                ("ExecutionName", &name),
                ("Input", &input),
            ],
        )
        .await;
        assert_eq!(started["Status"], "Running", "{started}");
        names.push(("loop", name));
    }
    for i in 0..waits {
        let name = format!("w{i}");
        let started = ok(
            &svc,
            &[
                ("Action", "StartExecution"),
                ("FlowName", "waits"),
                ("ExecutionName", &name),
            ],
        )
        .await;
        assert_eq!(started["Status"], "Running", "{started}");
        names.push(("waits", name));
    }

    // Deliver what the server kept, concurrently; sweep every 200 ms, as the schedule would.
    let began = Instant::now();
    let mut running: JoinSet<Value> = JoinSet::new();
    let mut delivered = 0u64;
    let mut last_sweep = Instant::now();
    let mut sweeps = 0u64;
    loop {
        assert!(
            began.elapsed() < Duration::from_secs(180),
            "executions still running after 180 s"
        );
        let kept: Vec<Value> = std::mem::take(&mut *faulty.kept.lock().unwrap());
        for payload in kept {
            delivered += 1;
            let svc = svc.clone();
            let id = format!("invocation-{delivered}");
            running.spawn(async move { api::handle_event(&svc, payload, &id).await });
        }
        while let Some(answer) = running.try_join_next() {
            let answer = answer.unwrap();
            assert!(answer.get("Continued").is_some(), "{answer}");
        }
        if last_sweep.elapsed() >= Duration::from_millis(200) {
            last_sweep = Instant::now();
            sweeps += 1;
            let sweeper = svc.clone();
            running.spawn(async move {
                let answer = api::handle_event(&sweeper, json!({"fnfSweep": {}}), "sweep").await;
                json!({ "Continued": answer })
            });
            if all_ended(&svc, &names).await {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    while let Some(answer) = running.join_next().await {
        answer.unwrap();
    }

    for (flow, name) in &names {
        check_ended_once(turns, &svc, &store, flow, name).await;
    }

    let by_kind = faulty.by_kind.lock().unwrap().clone();
    let attempts = faulty.attempts.lock().unwrap();
    let retried = attempts.values().filter(|n| **n > 1).count();
    let retries: u64 = attempts.values().map(|n| n - 1).sum();
    println!(
        "{backend:?}: {} executions ended in {:.1} s; {} invokes: {by_kind:?}; {} continuations \
         sent, {retried} sent more than once ({retries} more sends: SDK retries, sweeps); {delivered} delivered; {sweeps} \
         sweeps",
        names.len(),
        began.elapsed().as_secs_f64(),
        faulty.requests.load(Ordering::SeqCst),
        attempts.len(),
    );
    assert!(by_kind.get(&Fault::Throttled).is_some_and(|n| *n > 0));
    assert!(by_kind.get(&Fault::Reset).is_some_and(|n| *n > 0));
    assert!(by_kind.get(&Fault::Lost).is_some_and(|n| *n > 0));
}

async fn all_ended(svc: &Service, names: &[(&str, String)]) -> bool {
    for (flow, name) in names {
        let d = common::describe(svc, flow, name).await;
        if d["Status"] == "Running" {
            return false;
        }
    }
    true
}

/// Ended well, and every state ran once: no event twice, the end recorded once, nothing left
/// counted against it.
async fn check_ended_once(
    turns: u64,
    svc: &Service,
    store: &Arc<dyn fnf_lambda::store::Store>,
    flow: &str,
    name: &str,
) {
    let d = common::describe(svc, flow, name).await;
    assert_eq!(
        d["Status"], "Succeeded",
        "{flow}/{name}: {}",
        d["ErrorCode"]
    );
    let mut events: Vec<Value> = Vec::new();
    let mut token = String::new();
    loop {
        let mut params = vec![
            ("Action", "GetExecutionHistory"),
            ("FlowName", flow),
            ("ExecutionName", name),
            ("Limit", "100"),
        ];
        if !token.is_empty() {
            params.push(("NextToken", &token));
        }
        let page = ok(svc, &params).await;
        events.extend(page["Events"].as_array().unwrap().iter().cloned());
        match page["NextToken"].as_str() {
            Some(t) if !t.is_empty() => token = t.to_owned(),
            _ => break,
        }
    }
    let mut ids: Vec<u64> = events
        .iter()
        .map(|e| e["EventId"].as_u64().unwrap())
        .collect();
    ids.dedup();
    assert_eq!(ids.len(), events.len(), "{flow}/{name}: an event repeats");
    let count = |kind: &str, step: &str| {
        events
            .iter()
            .filter(|e| e["Type"] == kind && (step.is_empty() || e["StepName"] == step))
            .count() as u64
    };
    assert_eq!(count("ExecutionSucceeded", ""), 1, "{flow}/{name}");
    if flow == "loop" {
        assert_eq!(count("StepEntered", "inc"), turns, "{flow}/{name}");
    } else {
        let entered = ["first", "second", "done"].map(|s| count("StepEntered", s));
        assert_eq!(entered, [1, 1, 1], "{flow}/{name}");
    }
    let record = store.get_execution(flow, name).await.unwrap().unwrap();
    assert_eq!(record.abandoned, 0, "{flow}/{name}: taken over");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_store_carries_every_execution_on_through_invoke_faults() {
    let scale = Scale {
        loops: 12,
        waits: 12,
        turns: 2_000,
    };
    every_execution_ends_once(Backend::Embedded, scale).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_store_carries_every_execution_on_through_invoke_faults() {
    let scale = Scale {
        loops: 6,
        waits: 6,
        turns: 1_100,
    };
    every_execution_ends_once(Backend::Dynamo, scale).await;
}
