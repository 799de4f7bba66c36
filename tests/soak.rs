//! The soak: executions of every kind (short pure flows, parked waits, HTTP tasks with a
//! retried attempt, callbacks reported through the API, child flows) on DynamoDB (moto) behind
//! a fault-injecting proxy (tests/common/fault_proxy.rs: throttles, 500s, connections dropped
//! before and after the request reached moto, delays), every continuation delivered twice at
//! once, the sweep running. Callers go through the API and retry only retryable errors.
//!
//! It checks: every accepted execution ends exactly once with the right output, none is lost,
//! each task call is made once per attempt (counted at the task server), no history event is
//! doubled, and callers saw retryable errors only. `FNF_SOAK_EXECUTIONS` (default 80; `make
//! soak` runs 500), `FNF_SOAK_FAULT_RATE` (default 0.10), `FNF_SOAK_SEED`.

mod common;
#[path = "soak/flows.rs"]
mod flows;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::fault_proxy::FaultProxy;
use common::task_servers::TaskServer;
use fnf_lambda::clock::{Clock, SystemClock};
use fnf_lambda::dispatch::{Continuation, DispatchError, Dispatcher};
use fnf_lambda::service::{Budgets, Integrations, Service};
use fnf_lambda::store::{ExecutionRecord, ExecutionStatus, Store};
use fnf_lambda::tasks::http::HttpTasks;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

/// Short budgets, so waits park and continuations carry them on; a lease margin wide enough
/// for the SDK's retries of a faulted write (its backoff reaches seconds) within one lease.
const BUDGETS: Budgets = Budgets {
    response_ms: 300,
    invocation_ms: 2_000,
    lease_margin_ms: 8_000,
};
/// Executions started at once.
const CONCURRENCY: usize = 12;
/// Codes a caller may retry: the service was busy or failed, the request was fine.
const RETRYABLE: [&str; 3] = [
    "InternalServerError",
    "ResourceThrottled",
    "ServiceUnavailable",
];

/// What a retry may answer when the try that failed had done its work: the execution had
/// started (and ended), the report was stored. The soak then checks the work itself.
const TOOK_EFFECT: [&str; 2] = ["ExecutionAlreadyExists", "TaskAlreadyCompleted"];

/// The kinds of execution, round robin.
const KINDS: [&str; 6] = ["loop", "wait", "http", "flaky", "callback", "parent"];

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Counts the soak reports.
#[derive(Default)]
struct Tally {
    /// Caller retries by the error code that caused them.
    retried: Mutex<BTreeMap<String, u64>>,
    /// Retried calls answered that their earlier try had taken effect, by code.
    took_effect: Mutex<BTreeMap<String, u64>>,
    /// Answers callers got that were neither success nor retryable: wrong answers.
    wrong: Mutex<Vec<String>>,
    deliveries: AtomicU64,
    failed_deliveries: AtomicU64,
    sweeps_failed: AtomicU64,
}

/// Lambda's async invoke queue at its worst: every continuation is delivered twice, at once,
/// each copy to an invocation of its own, at or after its time.
struct Doubling {
    svc: OnceLock<Service>,
    tally: Arc<Tally>,
    clock: SystemClock,
}

#[async_trait::async_trait]
impl Dispatcher for Doubling {
    async fn dispatch(
        &self,
        c: Continuation,
        not_before: Option<i64>,
    ) -> Result<(), DispatchError> {
        let svc = self.svc.get().expect("service set").clone();
        let delay = not_before.map_or(0, |t| (t - self.clock.now_ms()).max(0));
        let tally = self.tally.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(delay as u64)).await;
            let copies = (0..2).map(|_| {
                let (svc, c, tally) = (svc.clone(), c.clone(), tally.clone());
                tokio::spawn(async move {
                    tally.deliveries.fetch_add(1, Ordering::Relaxed);
                    let owner = uuid::Uuid::new_v4().to_string();
                    // A failed invocation is what Lambda retries, and the sweep recovers.
                    if svc.continue_execution(&c, &owner).await.is_err() {
                        tally.failed_deliveries.fetch_add(1, Ordering::Relaxed);
                    }
                })
            });
            for copy in copies.collect::<Vec<_>>() {
                let _ = copy.await;
            }
        });
        Ok(())
    }
}

/// Calls the API, retrying retryable errors (with a short backoff); answers the final
/// answer, and records every retry and every wrong answer. A retry answered with one of
/// [`TOOK_EFFECT`] counts as success (the work itself is checked at the end).
async fn call(svc: &Service, tally: &Tally, params: &[(&str, &str)]) -> (u16, Value) {
    for attempt in 0..60u64 {
        let (status, body) = common::call(svc, params).await;
        if status == 200 {
            return (status, body);
        }
        let code = body["Code"].as_str().unwrap_or("").to_owned();
        if attempt > 0 && TOOK_EFFECT.contains(&code.as_str()) {
            *tally.took_effect.lock().unwrap().entry(code).or_default() += 1;
            return (200, body);
        }
        if !RETRYABLE.contains(&code.as_str()) {
            return (status, body);
        }
        *tally.retried.lock().unwrap().entry(code).or_default() += 1;
        tokio::time::sleep(Duration::from_millis(20 * (attempt + 1).min(10))).await;
    }
    panic!("{params:?} kept failing");
}

struct World {
    svc: Service,
    store: Arc<dyn Store>,
    proxy: FaultProxy,
    server: TaskServer,
    tally: Arc<Tally>,
}

async fn world(seed: u64) -> World {
    let proxy = FaultProxy::start(&common::dynamodb_endpoint(), seed).await;
    let store: Arc<dyn Store> = Arc::new(common::dynamo_store_via(&proxy.url).await);
    let server = TaskServer::start().await;
    let tally = Arc::new(Tally::default());
    let dispatcher = Arc::new(Doubling {
        svc: OnceLock::new(),
        tally: tally.clone(),
        clock: SystemClock,
    });
    let svc = Service::new(store.clone(), Arc::new(SystemClock))
        .with_continuations(dispatcher.clone(), BUDGETS)
        .with_integrations(Integrations {
            http: Some(Arc::new(HttpTasks::new(
                common::task_servers::loopback_http(),
            ))),
            function: None,
        });
    let _ = dispatcher.svc.set(svc.clone());
    for (name, definition) in [
        ("loop", common::COUNTER_LOOP),
        ("wait", flows::WAIT),
        ("http", flows::HTTP),
        ("flaky", flows::HTTP),
        ("callback", flows::CALLBACK),
        ("child", flows::CHILD),
        ("parent", flows::PARENT),
    ] {
        common::create_flow(&svc, name, definition, "DEFAULT").await;
    }
    World {
        svc,
        store,
        proxy,
        server,
        tally,
    }
}

/// The input of execution `i` of `kind`, and the output it must end with.
fn case(w: &World, kind: &str, i: usize, name: &str) -> (Value, Value) {
    match kind {
        "loop" => {
            let n = i % 7 + 1;
            (json!({"n": n}), json!({"i": n, "n": n}))
        }
        "wait" => (json!({"k": i}), json!({"k": i, "waited": true})),
        "http" => (
            json!({"k": i, "url": w.server.url("/echo")}),
            json!({"body": {"method": "POST", "path": "/echo", "query": "", "body": {"k": i}}}),
        ),
        // Fails once (a 500), so the Retry makes a second attempt: two calls, two keys.
        "flaky" => (
            json!({"k": i, "url": w.server.url(&format!("/flaky/1/{name}"))}),
            json!({"body": {"calls": 2}}),
        ),
        "callback" => (
            json!({"k": i, "url": w.server.url("/echo")}),
            json!({"approved": i}),
        ),
        "parent" => (json!({"k": i}), json!({"k": i, "child": true})),
        _ => unreachable!(),
    }
}

/// Reports every callback the task server has seen, once each, through the API.
async fn reporter(w: Arc<World>, stop: Arc<AtomicBool>) {
    let mut done = HashSet::new();
    loop {
        for seen in w.server.seen() {
            let Some(token) = seen.task_token.clone() else {
                continue;
            };
            if seen.body["callback"] != json!(true) || !done.insert(token.clone()) {
                continue;
            }
            let output = json!({"approved": seen.body["k"]}).to_string();
            let params = [
                ("Action", "ReportTaskSucceeded"),
                ("TaskToken", token.as_str()),
                ("Output", output.as_str()),
            ];
            let (status, body) = call(&w.svc, &w.tally, &params).await;
            if status != 200 {
                w.tally
                    .wrong
                    .lock()
                    .unwrap()
                    .push(format!("report: {body}"));
            }
        }
        if stop.load(Ordering::Relaxed) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs the sweep as the schedule does, faults and all.
async fn sweeper(w: Arc<World>, stop: Arc<AtomicBool>) {
    loop {
        if w.svc.sweep().await.is_err() {
            w.tally.sweeps_failed.fetch_add(1, Ordering::Relaxed);
        }
        if stop.load(Ordering::Relaxed) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Starts execution `i`; answers its name, kind and expected output if it was accepted.
async fn start_one(w: &World, i: usize) -> Option<(String, String, Value)> {
    let kind = KINDS[i % KINDS.len()];
    let name = format!("{kind}-{i}");
    let (input, expected) = case(w, kind, i, &name);
    let input = input.to_string();
    let params = [
        ("Action", "StartExecution"),
        ("FlowName", kind),
        ("ExecutionName", name.as_str()),
        ("Input", input.as_str()),
    ];
    let (status, body) = call(&w.svc, &w.tally, &params).await;
    if status != 200 {
        w.tally
            .wrong
            .lock()
            .unwrap()
            .push(format!("start {name}: {body}"));
        return None;
    }
    Some((kind.to_owned(), name, expected))
}

/// Reads with the store's own retries exhausted now and then: tries again.
async fn read(store: &dyn Store, flow: &str, name: &str) -> Option<ExecutionRecord> {
    for _ in 0..50 {
        if let Ok(found) = store.get_execution(flow, name).await {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{flow}/{name} could not be read");
}

/// Every event of `exec`: (id, kind).
async fn history(store: &dyn Store, exec: &ExecutionRecord) -> Vec<(u64, String)> {
    let mut events = Vec::new();
    let mut after = None;
    loop {
        let page = store.execution_history(exec, 1_000, after).await.unwrap();
        events.extend(page.items.into_iter().map(|e| (e.id, e.kind)));
        match page.next_after {
            Some(a) => after = Some(a.parse().unwrap()),
            None => return events,
        }
    }
}

/// Waits (generously) until every accepted execution has ended.
async fn await_ends(w: &World, accepted: &[(String, String, Value)]) {
    let until = Instant::now() + Duration::from_secs(env_or("FNF_SOAK_WAIT_SECONDS", 300));
    let mut open: Vec<&(String, String, Value)> = accepted.iter().collect();
    while !open.is_empty() {
        let mut still = Vec::new();
        let mut states = Vec::new();
        for a in open {
            match read(w.store.as_ref(), &a.0, &a.1).await {
                Some(e) if e.status.is_ended() && e.due_ms.is_none() => {}
                found => {
                    states.push(found.map(|e| {
                        let now = SystemClock.now_ms();
                        format!(
                            "{}/{} {:?} v{} lease {:?} due in {:?} ms abandoned {} error {:?}",
                            e.flow,
                            e.name,
                            e.status,
                            e.version,
                            e.lease_owner,
                            e.due_ms.map(|d| d - now),
                            e.abandoned,
                            e.error
                        )
                    }));
                    still.push(a);
                }
            }
        }
        assert!(
            Instant::now() < until,
            "{} never ended: {states:#?}",
            still.len()
        );
        open = still;
        if !open.is_empty() {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_under_store_faults() {
    let executions: usize = env_or("FNF_SOAK_EXECUTIONS", 80);
    let rate: f64 = env_or("FNF_SOAK_FAULT_RATE", 0.10);
    let seed: u64 = env_or("FNF_SOAK_SEED", 0x50A4);
    if std::env::var_os("FNF_SOAK_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_writer(std::io::stderr)
            .init();
    }
    let began = Instant::now();
    let w = Arc::new(world(seed).await);
    w.proxy.set_rate(rate);
    let stop = Arc::new(AtomicBool::new(false));
    let side = [
        tokio::spawn(reporter(w.clone(), stop.clone())),
        tokio::spawn(sweeper(w.clone(), stop.clone())),
    ];

    let gate = Arc::new(Semaphore::new(CONCURRENCY));
    let mut starts = tokio::task::JoinSet::new();
    for i in 0..executions {
        let (w, gate) = (w.clone(), gate.clone());
        starts.spawn(async move {
            let _permit = gate.acquire().await.unwrap();
            start_one(&w, i).await
        });
    }
    let mut accepted = Vec::new();
    while let Some(r) = starts.join_next().await {
        accepted.extend(r.unwrap());
    }
    await_ends(&w, &accepted).await;
    // Judging reads go to moto without faults.
    w.proxy.set_rate(0.0);
    stop.store(true, Ordering::Relaxed);
    for s in side {
        s.await.unwrap();
    }
    let faults = w.proxy.counts();
    let (lost, doubled, wrong_outputs) = judge(&w, &accepted).await;
    let calls_doubled = calls_doubled(&w, &accepted);
    let children_off = children(&w, &accepted).await;

    let retried = w.tally.retried.lock().unwrap().clone();
    let wrong = w.tally.wrong.lock().unwrap().clone();
    eprintln!(
        "\nsoak: {executions} executions, {rate} fault rate, seed {seed:#x}, {:.1} s",
        began.elapsed().as_secs_f64()
    );
    eprintln!("| what | count |\n|---|---|");
    eprintln!(
        "| executions started / accepted | {executions} / {} |",
        accepted.len()
    );
    eprintln!(
        "| store requests through the proxy | {} |",
        w.proxy.requests()
    );
    for (kind, n) in &faults {
        eprintln!("| fault: {} | {n} |", kind.name());
    }
    eprintln!(
        "| caller retries | {} {retried:?} |",
        retried.values().sum::<u64>()
    );
    let took_effect = w.tally.took_effect.lock().unwrap().clone();
    eprintln!("| retries answering that the failed try had taken effect | {took_effect:?} |");
    eprintln!(
        "| continuation deliveries (2 per dispatch) / failed | {} / {} |",
        w.tally.deliveries.load(Ordering::Relaxed),
        w.tally.failed_deliveries.load(Ordering::Relaxed)
    );
    eprintln!(
        "| sweeps failed | {} |",
        w.tally.sweeps_failed.load(Ordering::Relaxed)
    );
    eprintln!(
        "| lost | {lost} |\n| history doubled | {doubled} |\n| task calls doubled | {calls_doubled} |"
    );
    eprintln!(
        "| wrong outputs | {} |\n| wrong answers to callers | {} |",
        wrong_outputs.len(),
        wrong.len()
    );
    eprintln!("| children missing or extra | {children_off} |");

    assert!(w.proxy.faults() > 0, "faults were injected");
    assert!(wrong.is_empty(), "callers got wrong answers: {wrong:?}");
    assert_eq!(accepted.len(), executions, "every start was accepted");
    assert_eq!((lost, doubled, calls_doubled), (0, 0, 0));
    assert!(wrong_outputs.is_empty(), "{wrong_outputs:?}");
    assert_eq!(children_off, 0);
}

/// (lost, executions with doubled or missing events, wrong outputs) over the accepted ones.
async fn judge(w: &World, accepted: &[(String, String, Value)]) -> (usize, usize, Vec<String>) {
    let (mut lost, mut doubled, mut wrong) = (0, 0, Vec::new());
    for (flow, name, expected) in accepted {
        let Some(exec) = read(w.store.as_ref(), flow, name).await else {
            lost += 1;
            continue;
        };
        let events = history(w.store.as_ref(), &exec).await;
        let ids: Vec<u64> = events.iter().map(|e| e.0).collect();
        let ends = events
            .iter()
            .filter(|e| e.1 == "ExecutionSucceeded" || e.1 == "ExecutionFailed")
            .count();
        if !ids.iter().copied().eq(1..=ids.len() as u64) || ends != 1 {
            eprintln!("{flow}/{name}: events {events:?}");
            doubled += 1;
        }
        let output: Value = serde_json::from_str(exec.output.as_deref().unwrap_or("null")).unwrap();
        if exec.status != ExecutionStatus::Succeeded || &output != expected {
            wrong.push(format!(
                "{flow}/{name}: {:?} {output} ({:?}: {:?}), expected {expected}",
                exec.status, exec.error, exec.cause
            ));
        }
    }
    (lost, doubled, wrong)
}

/// Task calls made more than once per attempt (the same idempotency key twice), plus
/// attempts missing: one call for `http` and `callback`, two for `flaky`.
fn calls_doubled(w: &World, accepted: &[(String, String, Value)]) -> usize {
    let mut per_key: HashMap<String, usize> = HashMap::new();
    for key in w.server.keys() {
        *per_key.entry(key).or_default() += 1;
    }
    let twice: Vec<_> = per_key.iter().filter(|(_, n)| **n > 1).collect();
    if !twice.is_empty() {
        eprintln!("calls made twice: {twice:?}");
    }
    let mut off = twice.len();
    for (flow, name, _) in accepted {
        let want = match flow.as_str() {
            "http" | "callback" => 1,
            "flaky" => 2,
            _ => continue,
        };
        let prefix = format!("{flow}/{name}/");
        let made = per_key.keys().filter(|k| k.starts_with(&prefix)).count();
        if made != want {
            eprintln!("{flow}/{name}: {made} attempts called, expected {want}");
            off += 1;
        }
    }
    off
}

/// How far the child executions are from one per parent.
async fn children(w: &World, accepted: &[(String, String, Value)]) -> usize {
    let parents = accepted.iter().filter(|a| a.0 == "parent").count();
    let mut found = 0;
    let mut after: Option<String> = None;
    loop {
        let page = w
            .store
            .list_executions("child", &Default::default(), 100, after.as_deref())
            .await
            .unwrap();
        found += page.items.len();
        match page.next_after {
            Some(a) => after = Some(a),
            None => break,
        }
    }
    found.abs_diff(parents)
}
