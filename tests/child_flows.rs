//! Nested flows: a parent's task starts a child execution through StartExecution's own code
//! path, fire-and-forget or waiting for it (the child reports to the parent's task token,
//! `CallbackFnFTaskToken`). The child's end (succeeded, failed, stopped, timed out) reaches
//! the parent exactly once, even when the report is repeated.

#[macro_use]
mod common;

use std::sync::Arc;

use common::{BUDGETS, Backend, ManualClock, Recorder, T0, call, create_flow, ok, output};
use fnf_lambda::service::Service;
use fnf_lambda::store::Store;
use serde_json::{Value, json};

/// Succeeds with its input and `child: true`; fails, or waits ten minutes, when asked to.
const CHILD: &str = "\
Type: StateMachine
SpecVersion: v1
Name: child
StartAt: route
States:
  - Type: Choice
    Name: route
    Branches:
      - Condition: $Input.fail == true
        Next: boom
      - Condition: $Input.wait == true
        Next: hold
    Default: done
  - Type: Fail
    Name: boom
    Code: Boom
    Detail: asked to fail
  - Type: Wait
    Name: hold
    Seconds: 600
    Next: done
  - Type: Pass
    Name: done
    InputConstructor:
      n.$: $Input.n
      child: true
    End: true
";

const PARENT: &str = "\
Type: StateMachine
SpecVersion: v1
Name: parent
StartAt: run child
States:
  - Type: Task
    Name: run child
    Action: FNF:StartExecution
    TaskMode: WaitForSystemCallback
    Parameters:
      FlowName: child
      Input.$: $Input
    Catch:
      - Errors: [Boom, FnF.ExecutionStopped, FnF.ExecutionTimedOut]
        Next: caught
        OutputConstructor:
          error.$: $Context.Current.Error.Code
    End: true
  - Type: Pass
    Name: caught
    End: true
";

const FIRE_AND_FORGET: &str = "\
Type: StateMachine
SpecVersion: v1
Name: launcher
StartAt: launch
States:
  - Type: Task
    Name: launch
    Action: FNF:StartExecution
    Parameters:
      FlowName: child
      ExecutionName.$: $Input.name
      Input:
        n: 7
    End: true
";

const FDL_PARENT: &str = "\
version: v1
type: flow
steps:
  - type: task
    name: sub
    resourceArn: acs:fnf:::flow/child
    pattern: sync
    inputMappings:
      - target: n
        source: $input.n
";

struct World {
    svc: Service,
    store: Arc<dyn Store>,
    recorder: Arc<Recorder>,
    clock: ManualClock,
    _guard: Option<tempfile::TempDir>,
}

impl World {
    async fn new(backend: Backend) -> World {
        let (store, guard) = common::store(backend).await;
        let recorder = Arc::new(Recorder::default());
        let clock = ManualClock::at(T0);
        let svc = Service::new(store.clone(), Arc::new(clock.clone()))
            .with_continuations(recorder.clone(), BUDGETS);
        create_flow(&svc, "child", CHILD, "DEFAULT").await;
        create_flow(&svc, "parent", PARENT, "DEFAULT").await;
        World {
            svc,
            store,
            recorder,
            clock,
            _guard: guard,
        }
    }

    async fn start(&self, flow: &str, name: &str, input: Value) -> Value {
        common::start(&self.svc, flow, name, input).await
    }

    async fn describe(&self, flow: &str, name: &str) -> Value {
        common::describe(&self.svc, flow, name).await
    }

    /// Delivers every pending continuation twice (a duplicated delivery), until none is left.
    async fn deliver(&self) {
        for round in 0..20 {
            let pending = self.recorder.take();
            if pending.is_empty() {
                return;
            }
            for c in pending {
                for copy in ["a", "b"] {
                    let owner = format!("invocation-{round}-{copy}");
                    self.svc.continue_execution(&c, &owner).await.unwrap();
                }
            }
        }
        panic!("continuations kept coming");
    }

    /// The one child the parent started (its name derives from the task's idempotency key).
    async fn child_of(&self) -> String {
        let listed = ok(
            &self.svc,
            &[("Action", "ListExecutions"), ("FlowName", "child")],
        )
        .await;
        let names: Vec<&str> = listed["Executions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["Name"].as_str().unwrap())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        names[0].to_owned()
    }
}

async fn a_parent_waits_for_its_child(backend: Backend) {
    let w = World::new(backend).await;
    // Quick child: it runs inside the parent's invocation, and the parent's answer has it.
    let done = w.start("parent", "p", json!({"n": 1})).await;
    assert_eq!(done["Status"], "Succeeded", "{done}");
    assert_eq!(output(&done), json!({"n": 1, "child": true}));
    let child = w.child_of().await;
    assert!(child.starts_with("child-"), "{child}");
    let described = w.describe("child", &child).await;
    assert_eq!(described["Status"], "Succeeded");

    // A failing child passes its own error to the parent's Catch.
    let failed = w.start("parent", "f", json!({"fail": true})).await;
    assert_eq!(failed["Status"], "Succeeded", "{failed}");
    assert_eq!(output(&failed), json!({"error": "Boom"}));
}

async fn a_parked_child_reports_when_it_ends(backend: Backend) {
    let w = World::new(backend).await;
    let started = w.start("parent", "p", json!({"n": 2, "wait": true})).await;
    assert_eq!(started["Status"], "Running", "the child waits ten minutes");
    let child = w.child_of().await;
    let stored = w
        .store
        .get_execution("child", &child)
        .await
        .unwrap()
        .unwrap();
    let token = stored
        .callback_token
        .clone()
        .expect("the child reports to a token");
    assert!(token.starts_with("fnf1-"), "{token}");

    w.clock.advance(601_000);
    w.svc.sweep().await.unwrap();
    w.deliver().await;
    let parent = w.describe("parent", "p").await;
    assert_eq!(parent["Status"], "Succeeded", "{parent}");
    assert_eq!(output(&parent), json!({"n": 2, "child": true}));

    // The report went out once: the token holds it, the child owes nothing more, and a
    // repeated report (a duplicated sweep or continuation) changes nothing.
    let record = w.store.get_token(&token).await.unwrap().unwrap();
    let first = (record.result.clone(), record.completed_ms);
    assert!(first.0.is_some());
    let ended = w
        .store
        .get_execution("child", &child)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ended.due_ms, None, "nothing left in the outbox");
    w.clock.advance(1_000);
    w.svc.sweep().await.unwrap();
    let c = fnf_lambda::dispatch::Continuation {
        flow: "child".into(),
        name: child.clone(),
        version: ended.version,
    };
    w.svc.continue_execution(&c, "late").await.unwrap();
    w.deliver().await;
    let record = w.store.get_token(&token).await.unwrap().unwrap();
    assert_eq!((record.result, record.completed_ms), first);
}

async fn stopped_and_timed_out_children_report(backend: Backend) {
    let w = World::new(backend).await;
    w.start("parent", "s", json!({"wait": true})).await;
    let child = w.child_of().await;
    ok(
        &w.svc,
        &[
            ("Action", "StopExecution"),
            ("FlowName", "child"),
            ("ExecutionName", &child),
            ("Error", "Operator"),
        ],
    )
    .await;
    w.deliver().await;
    let parent = w.describe("parent", "s").await;
    assert_eq!(parent["Status"], "Succeeded", "{parent}");
    assert_eq!(output(&parent), json!({"error": "FnF.ExecutionStopped"}));

    // A child that outlives its execution timeout ends TimedOut; the parent hears of it.
    let short = Service::new(w.store.clone(), Arc::new(w.clock.clone()))
        .with_continuations(w.recorder.clone(), BUDGETS)
        .with_execution_timeout(300_000);
    let started = ok(
        &short,
        &[
            ("Action", "StartExecution"),
            ("FlowName", "parent"),
            ("ExecutionName", "t"),
            ("Input", r#"{"wait":true}"#),
        ],
    )
    .await;
    assert_eq!(started["Status"], "Running");
    // Both time out at T0 + 300 s under `short`; the parent is carried on by `long` (whose
    // timeout is a year), so it lives to hear of its child's timeout.
    let long = Service::new(w.store.clone(), Arc::new(w.clock.clone()))
        .with_continuations(w.recorder.clone(), BUDGETS);
    w.clock.advance(301_000);
    short.sweep().await.unwrap();
    for c in w.recorder.take() {
        let svc = if c.flow == "child" { &short } else { &long };
        svc.continue_execution(&c, "timer").await.unwrap();
    }
    for _ in 0..5 {
        for c in w.recorder.take() {
            long.continue_execution(&c, "wake").await.unwrap();
        }
    }
    let parent = w.describe("parent", "t").await;
    assert_eq!(parent["Status"], "Succeeded", "{parent}");
    assert_eq!(output(&parent), json!({"error": "FnF.ExecutionTimedOut"}));
}

async fn fire_and_forget_and_fdl_children(backend: Backend) {
    let w = World::new(backend).await;
    create_flow(&w.svc, "launcher", FIRE_AND_FORGET, "DEFAULT").await;
    let done = w
        .start("launcher", "l", json!({"name": "named-child"}))
        .await;
    assert_eq!(done["Status"], "Succeeded", "{done}");
    assert_eq!(
        output(&done),
        json!({"FlowName": "child", "ExecutionName": "named-child", "Status": "Succeeded"})
    );
    let child = w.describe("child", "named-child").await;
    assert_eq!(output(&child), json!({"n": 7, "child": true}));
    // The child's name is taken: a second launcher fails with the start's error, by name.
    let again = w
        .start("launcher", "l2", json!({"name": "named-child"}))
        .await;
    assert_eq!(again["Status"], "Failed", "{again}");
    let described = w.describe("launcher", "l2").await;
    assert_eq!(described["ErrorCode"], "FnF.StartExecutionFailed");
    assert!(
        described["ErrorMessage"]
            .as_str()
            .unwrap()
            .contains("ExecutionAlreadyExists")
    );

    create_flow(&w.svc, "fdl", FDL_PARENT, "FDL").await;
    let done = w.start("fdl", "d", json!({"n": 3})).await;
    assert_eq!(done["Status"], "Succeeded", "{done}");
    assert_eq!(output(&done), json!({"n": 3, "child": true}));
}

/// A client starts an execution with `CallbackFnFTaskToken` itself: the token of its own
/// waiting callback task. The execution's end completes that task, once.
async fn callback_token_from_start_execution(backend: Backend) {
    let w = World::new(backend).await;
    // A parent whose task starts a child and waits for a custom callback: the child does not
    // report by itself; a client hands the token (read here from the parent's checkpoint) to
    // StartExecution of another execution, which reports when it ends.
    const WAITER: &str = "\
Type: StateMachine
SpecVersion: v1
Name: waiter
StartAt: wait for it
States:
  - Type: Task
    Name: wait for it
    Action: FNF:StartExecution
    TaskMode: WaitForCustomCallback
    Parameters:
      FlowName: child
      Input:
        n: 9
        wait: true
    End: true
";
    create_flow(&w.svc, "waiter", WAITER, "DEFAULT").await;
    let started = w.start("waiter", "w", json!({})).await;
    assert_eq!(started["Status"], "Running");
    let waiting = w.store.get_execution("waiter", "w").await.unwrap().unwrap();
    let checkpoint = waiting.checkpoint.unwrap();
    let token = checkpoint
        .split('"')
        .find(|s| s.starts_with("fnf1-"))
        .expect("the checkpoint holds the awaited token")
        .to_owned();

    // Bad tokens are refused before anything is stored.
    for (bad, code) in [
        ("nope", "InvalidTaskToken"),
        (&*format!("fnf1-{}", "a".repeat(48)), "InvalidTaskToken"),
    ] {
        let (status, body) = call(
            &w.svc,
            &[
                ("Action", "StartExecution"),
                ("FlowName", "child"),
                ("ExecutionName", "bad-token"),
                ("CallbackFnFTaskToken", bad),
            ],
        )
        .await;
        assert_eq!((status, body["Code"].as_str()), (400, Some(code)), "{body}");
    }
    let (status, _) = call(
        &w.svc,
        &[
            ("Action", "DescribeExecution"),
            ("FlowName", "child"),
            ("ExecutionName", "bad-token"),
        ],
    )
    .await;
    assert_eq!(status, 404, "nothing was started");

    let reporter = ok(
        &w.svc,
        &[
            ("Action", "StartExecution"),
            ("FlowName", "child"),
            ("ExecutionName", "reporter"),
            ("Input", r#"{"n":42}"#),
            ("CallbackFnFTaskToken", &token),
        ],
    )
    .await;
    assert_eq!(reporter["Status"], "Succeeded", "{reporter}");
    w.deliver().await;
    let waiter = w.describe("waiter", "w").await;
    assert_eq!(waiter["Status"], "Succeeded", "{waiter}");
    assert_eq!(output(&waiter), json!({"n": 42, "child": true}));

    // The token is spent: another execution started with it is refused.
    let (status, body) = call(
        &w.svc,
        &[
            ("Action", "StartExecution"),
            ("FlowName", "child"),
            ("ExecutionName", "second"),
            ("CallbackFnFTaskToken", &token),
        ],
    )
    .await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (400, Some("TaskAlreadyCompleted"))
    );
}

on_both_stores!(
    a_parent_waits_for_its_child,
    a_parked_child_reports_when_it_ends,
    stopped_and_timed_out_children_report,
    fire_and_forget_and_fdl_children,
    callback_token_from_start_execution,
);
