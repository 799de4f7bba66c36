//! Callback tasks: the execution parks on a task token its task sent out, and another client
//! completes it with ReportTaskSucceeded / ReportTaskFailed; the token works once, a task
//! timeout fires, a bad token is refused clearly. Time is a manual clock; continuations are
//! delivered by the test, as Lambda's async invoke would.

#[macro_use]
mod common;

use std::sync::Arc;

use common::task_servers::TaskServer;
use common::{BUDGETS, Backend, ManualClock, Recorder, T0, call, create_flow, ok, output};
use fnf_lambda::service::{Integrations, Service};
use fnf_lambda::store::Store;
use fnf_lambda::tasks::http::HttpTasks;
use serde_json::{Value, json};

const APPROVAL: &str = "\
Type: StateMachine
SpecVersion: v1
Name: approval
StartAt: ask
States:
  - Type: Task
    Name: ask
    Action: HTTP:Request
    TaskMode: WaitForCustomCallback
    Timeout: 60
    Parameters:
      url.$: $Input.url
      method: POST
      body:
        token.$: $Context.Current.TaskToken
        order.$: $Input.order
    Catch:
      - Errors: [Rejected, FnF.Timeout]
        Next: refused
        OutputConstructor:
          error.$: $Context.Current.Error.Code
          cause.$: $Context.Current.Error.Detail
    End: true
  - Type: Pass
    Name: refused
    End: true
";

struct World {
    svc: Service,
    /// Another client of the same deployment: same store, same continuation queue.
    other: Service,
    store: Arc<dyn Store>,
    recorder: Arc<Recorder>,
    clock: ManualClock,
    server: TaskServer,
    _guard: Option<tempfile::TempDir>,
}

impl World {
    async fn new(backend: Backend) -> World {
        let server = TaskServer::start().await;
        let (store, guard) = common::store(backend).await;
        let recorder = Arc::new(Recorder::default());
        let clock = ManualClock::at(T0);
        let svc = Service::new(store.clone(), Arc::new(clock.clone()))
            .with_continuations(recorder.clone(), BUDGETS)
            .with_integrations(Integrations {
                http: Some(Arc::new(HttpTasks::new(
                    common::task_servers::loopback_http(),
                ))),
                function: None,
            });
        let other = Service::new(store.clone(), Arc::new(clock.clone()))
            .with_continuations(recorder.clone(), BUDGETS);
        World {
            svc,
            other,
            store,
            recorder,
            clock,
            server,
            _guard: guard,
        }
    }

    /// Delivers every pending continuation, until none is left.
    async fn deliver(&self) {
        for round in 0..20 {
            let pending = self.recorder.take();
            if pending.is_empty() {
                return;
            }
            for c in pending {
                let owner = format!("invocation-{round}");
                self.svc.continue_execution(&c, &owner).await.unwrap();
            }
        }
        panic!("continuations kept coming");
    }

    async fn describe(&self, flow: &str, name: &str) -> Value {
        common::describe(&self.svc, flow, name).await
    }

    /// Starts an approval and answers the token its task sent out.
    async fn ask(&self, name: &str) -> String {
        let input = json!({"url": self.server.url("/echo"), "order": name});
        let started = common::start(&self.svc, "approval", name, input).await;
        assert_eq!(started["Status"], "Running", "waits for the callback");
        let seen = self.server.seen();
        let sent = seen
            .iter()
            .find(|s| s.body["order"] == name)
            .expect("the task was called");
        let token = sent.body["token"].as_str().unwrap().to_owned();
        assert_eq!(sent.task_token.as_deref(), Some(token.as_str()));
        token
    }
}

async fn report_succeeded_resumes_once(backend: Backend) {
    let w = World::new(backend).await;
    create_flow(&w.svc, "approval", APPROVAL, "DEFAULT").await;
    let token = w.ask("a").await;
    let parked = w
        .store
        .get_execution("approval", "a")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        parked.due_ms,
        Some(T0 + 60_000),
        "parked until the task times out"
    );
    assert!(parked.lease_owner.is_none());

    let reported = r#"{"approved":true,"by":"alice"}"#;
    let report = [
        ("Action", "ReportTaskSucceeded"),
        ("TaskToken", token.as_str()),
        ("Output", reported),
    ];
    let answered = ok(&w.other, &report).await;
    assert!(answered["RequestId"].is_string(), "{answered}");
    w.deliver().await;
    let done = w.describe("approval", "a").await;
    assert_eq!(done["Status"], "Succeeded", "{done}");
    assert_eq!(output(&done), json!({"approved": true, "by": "alice"}));

    // The token worked once.
    let (status, again) = call(&w.other, &report).await;
    assert_eq!(
        (status, again["Code"].as_str()),
        (400, Some("TaskAlreadyCompleted"))
    );
    let (status, again) = call(
        &w.other,
        &[
            ("Action", "ReportTaskFailed"),
            ("TaskToken", &token),
            ("Error", "Late"),
        ],
    )
    .await;
    assert_eq!(
        (status, again["Code"].as_str()),
        (400, Some("TaskAlreadyCompleted"))
    );
    assert_eq!(w.describe("approval", "a").await["Status"], "Succeeded");
}

async fn report_failed_is_caught(backend: Backend) {
    let w = World::new(backend).await;
    create_flow(&w.svc, "approval", APPROVAL, "DEFAULT").await;
    let token = w.ask("r").await;
    ok(
        &w.other,
        &[
            ("Action", "ReportTaskFailed"),
            ("TaskToken", &token),
            ("Error", "Rejected"),
            ("Cause", "over budget"),
        ],
    )
    .await;
    w.deliver().await;
    let done = w.describe("approval", "r").await;
    assert_eq!(done["Status"], "Succeeded", "{done}");
    assert_eq!(
        output(&done),
        json!({"error": "Rejected", "cause": "over budget"})
    );
}

async fn task_timeout_fires_and_late_reports_are_refused(backend: Backend) {
    let w = World::new(backend).await;
    create_flow(&w.svc, "approval", APPROVAL, "DEFAULT").await;
    let token = w.ask("t").await;
    w.clock.advance(61_000);
    assert_eq!(w.svc.sweep().await.unwrap(), 1);
    w.deliver().await;
    let done = w.describe("approval", "t").await;
    assert_eq!(done["Status"], "Succeeded", "{done}");
    assert_eq!(output(&done)["error"], "FnF.Timeout");
    let (status, late) = call(
        &w.other,
        &[
            ("Action", "ReportTaskSucceeded"),
            ("TaskToken", &token),
            ("Output", "{}"),
        ],
    )
    .await;
    assert_eq!(
        (status, late["Code"].as_str()),
        (400, Some("TaskAlreadyCompleted")),
        "{late}"
    );
}

async fn bad_reports_get_clear_errors(backend: Backend) {
    let w = World::new(backend).await;
    create_flow(&w.svc, "approval", APPROVAL, "DEFAULT").await;
    let token = w.ask("b").await;
    let unknown = format!("fnf1-{}", "0".repeat(48));
    let long = "x".repeat(300);
    for (params, status, code) in [
        (
            vec![("TaskToken", "not-a-token"), ("Output", "{}")],
            400,
            "InvalidTaskToken",
        ),
        (
            vec![("TaskToken", unknown.as_str()), ("Output", "{}")],
            400,
            "InvalidTaskToken",
        ),
        (
            vec![("TaskToken", long.as_str()), ("Output", "{}")],
            400,
            "InvalidTaskToken",
        ),
        (vec![("Output", "{}")], 400, "MissingRequiredParams"),
        (
            vec![("TaskToken", token.as_str())],
            400,
            "MissingRequiredParams",
        ),
        (
            vec![("TaskToken", token.as_str()), ("Output", "[1]")],
            400,
            "InvalidArgument",
        ),
        (
            vec![("TaskToken", token.as_str()), ("Output", "{oops")],
            400,
            "InvalidArgument",
        ),
    ] {
        let mut all = vec![("Action", "ReportTaskSucceeded")];
        all.extend(params.iter().copied());
        let (got, body) = call(&w.other, &all).await;
        assert_eq!(
            (got, body["Code"].as_str()),
            (status, Some(code)),
            "{params:?}: {body}"
        );
        assert!(body["Message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // None of that touched the waiting task: the real report still works.
    ok(
        &w.other,
        &[
            ("Action", "ReportTaskSucceeded"),
            ("TaskToken", &token),
            ("Output", r#"{"fine":1}"#),
        ],
    )
    .await;
    w.deliver().await;
    assert_eq!(
        output(&w.describe("approval", "b").await),
        json!({"fine": 1})
    );
}

const FDL_APPROVAL: &str = "\
version: v1
type: flow
steps:
  - type: task
    name: ask
    resourceArn: acs:fnf:::http
    pattern: waitForCallback
    inputMappings:
      - target: url
        source: $input.url
      - target: method
        source: POST
      - target: body
        source: $context.task
    outputMappings:
      - target: approved
        source: $local.approved
";

/// FDL: `waitForCallback`, the token at `$context.task.token`.
async fn fdl_wait_for_callback(backend: Backend) {
    let w = World::new(backend).await;
    create_flow(&w.svc, "fdl", FDL_APPROVAL, "FDL").await;
    let input = json!({"url": w.server.url("/echo")});
    let started = common::start(&w.svc, "fdl", "f", input).await;
    assert_eq!(started["Status"], "Running", "{started}");
    let sent = w.server.seen().pop().expect("the task was called");
    let token = sent.body["token"]
        .as_str()
        .expect("the token is in the body");
    assert_eq!(sent.task_token.as_deref(), Some(token));
    ok(
        &w.other,
        &[
            ("Action", "ReportTaskSucceeded"),
            ("TaskToken", token),
            ("Output", r#"{"approved":"yes"}"#),
        ],
    )
    .await;
    w.deliver().await;
    let done = w.describe("fdl", "f").await;
    assert_eq!(done["Status"], "Succeeded", "{done}");
    assert_eq!(output(&done), json!({"approved": "yes"}));
}

on_both_stores!(
    fdl_wait_for_callback,
    report_succeeded_resumes_once,
    report_failed_is_caught,
    task_timeout_fires_and_late_reports_are_refused,
    bad_reports_get_clear_errors,
);
