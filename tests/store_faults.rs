//! DynamoDB faults one at a time, scripted at the fault proxy (tests/common/fault_proxy.rs)
//! between the service's real SDK client and moto: a conditional write applied whose answer
//! was lost, a burst of throttles and 500s, faults that outlast every retry. The soak
//! (tests/soak.rs) mixes them at random; these pin each down.

mod common;

use std::sync::Arc;

use common::fault_proxy::{Fault, FaultProxy};
use common::task_servers::TaskServer;
use common::{BUDGETS, ManualClock, Recorder, T0, call, create_flow, ok};
use fnf_lambda::service::continuation::Continued;
use fnf_lambda::service::{Integrations, Service};
use fnf_lambda::store::{Claim, ExecutionRecord, ExecutionStatus, Store};
use fnf_lambda::tasks::http::HttpTasks;
use serde_json::json;

const RESET_AFTER: Option<Fault> = Some(Fault::ResetAfter);

struct World {
    proxy: FaultProxy,
    store: Arc<dyn Store>,
    svc: Service,
    recorder: Arc<Recorder>,
    clock: ManualClock,
    server: TaskServer,
}

async fn world() -> World {
    let proxy = FaultProxy::start(&common::dynamodb_endpoint(), 1).await;
    let store: Arc<dyn Store> = Arc::new(common::dynamo_store_via(&proxy.url).await);
    let recorder = Arc::new(Recorder::default());
    let clock = ManualClock::at(T0);
    let server = TaskServer::start().await;
    let svc = Service::new(store.clone(), Arc::new(clock.clone()))
        .with_continuations(recorder.clone(), BUDGETS)
        .with_integrations(Integrations {
            http: Some(Arc::new(HttpTasks::new(
                common::task_servers::loopback_http(),
            ))),
            function: None,
        });
    World {
        proxy,
        store,
        svc,
        recorder,
        clock,
        server,
    }
}

const NAP: &str = "\
Type: StateMachine
SpecVersion: v1
Name: nap
StartAt: nap
States:
  - Type: Wait
    Name: nap
    Seconds: 30
    End: true
";

const ASK: &str = "\
Type: StateMachine
SpecVersion: v1
Name: ask
StartAt: ask
States:
  - Type: Task
    Name: ask
    Action: HTTP:Request
    TaskMode: WaitForCustomCallback
    Parameters:
      url.$: $Input.url
      method: POST
    End: true
";

/// StartExecution's claim is applied and its answer lost; the SDK's retry finds the name
/// taken by that very claim. Before: it answered the execution as someone else's running one
/// (`Running`, not driven) and the flow waited for the sweep.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_whose_answer_was_lost_starts_its_execution() {
    let w = world().await;
    create_flow(&w.svc, "pass", common::CLOUDFLOW_SEED, "DEFAULT").await;
    w.proxy.script("PutItem", &[RESET_AFTER]);
    let started = common::start(&w.svc, "pass", "e", json!({"a": 1})).await;
    assert_eq!(w.proxy.faults(), 1, "the claim met the fault");
    assert_eq!(started["Status"], "Succeeded", "{started}");
    assert_eq!(started["Output"], r#"{"a":1}"#);
}

/// A fenced write applied whose answer was lost is the writer's own, not a refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fenced_write_whose_answer_was_lost_holds() {
    let w = world().await;
    let mut exec = ExecutionRecord {
        flow: "f".into(),
        name: "e".into(),
        input: "{}".into(),
        version: 1,
        lease_owner: Some("invocation-1".into()),
        ..ExecutionRecord::default()
    };
    assert!(matches!(
        w.store.claim_execution(&exec).await.unwrap(),
        Claim::Created
    ));
    exec.version = 2;
    exec.checkpoint = Some("{}".into());
    w.proxy.script("PutItem", &[RESET_AFTER]);
    w.store.update_execution(&exec, 1).await.unwrap();
    assert_eq!(w.proxy.faults(), 1);
    // Someone else's write at that version is still refused.
    let mut other = exec.clone();
    other.lease_owner = Some("invocation-2".into());
    let refused = w.store.update_execution(&other, 1).await;
    assert!(
        matches!(refused, Err(fnf_lambda::store::StoreError::ConditionFailed)),
        "{refused:?}"
    );
}

/// A continuation's lease is taken by a write whose answer was lost. Before: the
/// continuation believed another invocation had it and skipped; the execution sat until its
/// lease ran out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_whose_answer_was_lost_is_held() {
    let w = world().await;
    create_flow(&w.svc, "nap", NAP, "DEFAULT").await;
    let started = common::start(&w.svc, "nap", "e", json!({})).await;
    assert_eq!(started["Status"], "Running");
    w.clock.advance(30_000);
    let pending = w.recorder.take();
    assert_eq!(pending.len(), 1);
    w.proxy.script("PutItem", &[RESET_AFTER]);
    let continued = w.svc.continue_execution(&pending[0], "inv").await.unwrap();
    assert_eq!(w.proxy.faults(), 1);
    assert!(
        matches!(continued, Continued::Drove { .. }),
        "{continued:?}"
    );
    let done = common::describe(&w.svc, "nap", "e").await;
    assert_eq!(done["Status"], "Succeeded", "{done}");
}

/// ReportTaskSucceeded's write is applied and its answer lost. Before: the caller was told
/// `TaskAlreadyCompleted` for its own report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_whose_answer_was_lost_succeeds() {
    let w = world().await;
    create_flow(&w.svc, "ask", ASK, "DEFAULT").await;
    let input = json!({"url": w.server.url("/echo")});
    let started = common::start(&w.svc, "ask", "e", input).await;
    assert_eq!(started["Status"], "Running");
    let token = w.server.seen()[0].task_token.clone().expect("a token");
    // The token's completion is the report's first UpdateItem.
    w.proxy.script("UpdateItem", &[RESET_AFTER]);
    let (status, body) = call(
        &w.svc,
        &[
            ("Action", "ReportTaskSucceeded"),
            ("TaskToken", &token),
            ("Output", r#"{"ok":true}"#),
        ],
    )
    .await;
    assert_eq!(w.proxy.faults(), 1);
    assert_eq!(status, 200, "{body}");
    for c in w.recorder.take() {
        w.svc.continue_execution(&c, "inv").await.unwrap();
    }
    let done = common::describe(&w.svc, "ask", "e").await;
    assert_eq!(
        (done["Status"].as_str(), done["Output"].as_str()),
        (Some("Succeeded"), Some(r#"{"ok":true}"#)),
        "{done}"
    );
}

/// CreateFlow's write is applied and its answer lost. Before: `FlowAlreadyExists`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flow_whose_answer_was_lost_is_created() {
    let w = world().await;
    w.proxy.script("PutItem", &[RESET_AFTER]);
    create_flow(&w.svc, "pass", common::CLOUDFLOW_SEED, "DEFAULT").await;
    assert_eq!(w.proxy.faults(), 1);
}

/// Four faults in a row on one request (one of each answering kind and a dropped
/// connection) stay inside the store client. Before: three tries, and the caller got the
/// fourth as an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_faults_does_not_reach_the_caller() {
    let w = world().await;
    create_flow(&w.svc, "pass", common::CLOUDFLOW_SEED, "DEFAULT").await;
    common::start(&w.svc, "pass", "e", json!({})).await;
    let burst = [
        Some(Fault::Throttling),
        Some(Fault::InternalError),
        Some(Fault::ResetBefore),
        Some(Fault::ProvisionedThroughput),
    ];
    w.proxy.script("GetItem", &burst);
    let described = common::describe(&w.svc, "pass", "e").await;
    assert_eq!(w.proxy.faults(), 4);
    assert_eq!(described["Status"], "Succeeded");
}

/// A fault that outlasts every try reaches the caller as an error it may retry: a throttle
/// as `ResourceThrottled` (429), anything else as `InternalServerError` (500); never a 4xx
/// that says the request was wrong. The same request then succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_past_the_retries_are_retryable_errors() {
    let w = world().await;
    create_flow(&w.svc, "pass", common::CLOUDFLOW_SEED, "DEFAULT").await;
    common::start(&w.svc, "pass", "e", json!({})).await;
    let tries = fnf_lambda::store::dynamo::DEFAULT_MAX_ATTEMPTS as usize;
    let describe = [
        ("Action", "DescribeExecution"),
        ("FlowName", "pass"),
        ("ExecutionName", "e"),
    ];
    for (fault, status, code) in [
        (Fault::Throttling, 429, "ResourceThrottled"),
        (Fault::ProvisionedThroughput, 429, "ResourceThrottled"),
        (Fault::InternalError, 500, "InternalServerError"),
        (Fault::ResetBefore, 500, "InternalServerError"),
    ] {
        w.proxy.script("GetItem", &vec![Some(fault); tries]);
        let (got, body) = call(&w.svc, &describe).await;
        assert_eq!(
            (got, body["Code"].as_str()),
            (status, Some(code)),
            "{fault:?}: {body}"
        );
        let again = ok(&w.svc, &describe).await;
        assert_eq!(again["Status"], "Succeeded");
    }
    // Faults before the execution exists: StartExecution fails retryably, then starts.
    w.proxy
        .script("PutItem", &vec![Some(Fault::InternalError); tries]);
    let start = [
        ("Action", "StartExecution"),
        ("FlowName", "pass"),
        ("ExecutionName", "late"),
    ];
    let (got, body) = call(&w.svc, &start).await;
    assert_eq!(
        (got, body["Code"].as_str()),
        (500, Some("InternalServerError")),
        "{body}"
    );
    let started = ok(&w.svc, &start).await;
    assert_eq!(started["Status"], "Succeeded", "{started}");
    let stored = w
        .store
        .get_execution("pass", "late")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, ExecutionStatus::Succeeded);
}

/// A driving write whose faults outlast the store's own tries is tried again for a few rounds
/// rather than left to a take-over (which would make the calls in flight again): StartExecution
/// answers, and the execution is parked, handed back, with its continuation sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driving_write_outlasts_a_burst_past_the_store_retries() {
    let w = world().await;
    create_flow(&w.svc, "nap", NAP, "DEFAULT").await;
    let tries = fnf_lambda::store::dynamo::DEFAULT_MAX_ATTEMPTS as usize;
    // The first PutItem claims the name; the park's write (a conditional PutItem) meets
    // more faults in a row than the store tries.
    let mut faults = vec![None];
    faults.extend(vec![Some(Fault::InternalError); tries + 2]);
    w.proxy.script("PutItem", &faults);
    let (status, started) = call(
        &w.svc,
        &[
            ("Action", "StartExecution"),
            ("FlowName", "nap"),
            ("ExecutionName", "e"),
        ],
    )
    .await;
    assert_eq!(w.proxy.faults(), tries as u64 + 2, "{started}");
    assert_eq!(
        (status, &started["Status"]),
        (200, &json!("Running")),
        "{started}"
    );
    let parked = w.store.get_execution("nap", "e").await.unwrap().unwrap();
    assert_eq!(
        parked.lease_owner, None,
        "handed back, not left to a take-over"
    );
    assert!(parked.checkpoint.is_some());
    assert_eq!(w.recorder.take().len(), 1, "its continuation was sent");
}
