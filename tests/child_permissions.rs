//! A running execution carries the permissions of the access key that started it: its
//! nested-flow tasks start only the flows that key may start, inline and after the execution
//! parked (a continuation acts for the account, and looks the key up again). Issue 12: a key
//! that could run only `orders-*` started flow `secret` through an `FNF:StartExecution` task.
//! A key deleted or disabled meanwhile starts nothing more. On both stores.

#[macro_use]
mod common;

use std::sync::Arc;

use common::{BUDGETS, Backend, ManualClock, Recorder, T0, create_flow, describe, ok};
use fnf_lambda::auth::caller::Caller;
use fnf_lambda::auth::policy::Policy;
use fnf_lambda::service::Service;
use serde_json::Value;

const SECRET: &str = "\
Type: StateMachine
SpecVersion: v1
Name: secret
StartAt: done
States:
  - Type: Pass
    Name: done
    End: true
";

/// Waits `wait` seconds (0: none; longer than the response budget: it parks), then starts
/// `child` fire-and-forget; the start's error is caught into the output.
fn parent(child: &str, wait: u32) -> String {
    format!(
        "\
Type: StateMachine
SpecVersion: v1
Name: parent
StartAt: pause
States:
  - Type: Wait
    Name: pause
    Seconds: {wait}
    Next: start child
  - Type: Task
    Name: start child
    Action: FNF:StartExecution
    Parameters:
      FlowName: {child}
      ExecutionName: from-parent
    Catch:
      - Errors: [FnF.ALL]
        Next: refused
        OutputConstructor:
          error.$: $Context.Current.Error.Code
          cause.$: $Context.Current.Error.Detail
    End: true
  - Type: Pass
    Name: refused
    End: true
"
    )
}

/// May start, describe and list the `orders-*` flows, nothing else.
const ORDERS_ONLY: &str = r#"{"Version": "1", "Statement": [{"Effect": "Allow",
  "Action": ["fnf:StartExecution", "fnf:Describe*", "fnf:List*"], "Resource": ["flow/orders-*"]}]}"#;

struct World {
    operator: Service,
    /// The service as the orders-only key's requests see it.
    orders_key: Service,
    key_id: String,
    clock: ManualClock,
    recorder: Arc<Recorder>,
    _guard: Option<tempfile::TempDir>,
}

async fn world(backend: Backend) -> World {
    let (store, guard) = common::store(backend).await;
    let clock = ManualClock::at(T0);
    let recorder = Arc::new(Recorder::default());
    let operator =
        Service::new(store, Arc::new(clock.clone())).with_continuations(recorder.clone(), BUDGETS);
    ok(
        &operator,
        &[("Action", "CreateAccount"), ("AccountId", "shop")],
    )
    .await;
    let key = ok(
        &operator,
        &[
            ("Action", "CreateAccessKey"),
            ("AccountId", "shop"),
            ("Policy", ORDERS_ONLY),
        ],
    )
    .await;
    let key_id = key["AccessKeyId"].as_str().unwrap().to_owned();
    // What the gate makes of a request signed with that key.
    let orders_key = operator.for_caller(Caller {
        account: "shop".into(),
        policy: Arc::new(Policy::parse(ORDERS_ONLY).unwrap()),
        key: Some(key_id.clone()),
    });
    let shop = operator.for_account("shop");
    create_flow(&shop, "secret", SECRET, "DEFAULT").await;
    create_flow(&shop, "orders-child", SECRET, "DEFAULT").await;
    World {
        operator,
        orders_key,
        key_id,
        clock,
        recorder,
        _guard: guard,
    }
}

async fn start(svc: &Service, flow: &str) -> Value {
    ok(
        svc,
        &[
            ("Action", "StartExecution"),
            ("FlowName", flow),
            ("ExecutionName", "p"),
        ],
    )
    .await
}

/// Delivers the parked execution's continuation once its two-minute wait is over.
async fn wake(w: &World) {
    w.clock.advance(121_000);
    w.recorder.take();
    assert_eq!(w.operator.sweep().await.unwrap(), 1);
    for c in w.recorder.take() {
        w.operator.continue_execution(&c, "wake").await.unwrap();
    }
}

fn assert_refused(answer: &Value) {
    assert_eq!(answer["Status"], "Succeeded", "{answer}");
    let out: Value = serde_json::from_str(answer["Output"].as_str().unwrap()).unwrap();
    assert_eq!(out["error"], "FnF.StartExecutionFailed", "{out}");
    let cause = out["cause"].as_str().unwrap();
    assert!(
        cause.starts_with("AccessDenied") && cause.contains("secret"),
        "{cause}"
    );
}

async fn a_child_outside_the_starters_policy_is_refused_inline(backend: Backend) {
    let w = world(backend).await;
    let shop = w.operator.for_account("shop");
    create_flow(&shop, "orders-1", &parent("secret", 0), "DEFAULT").await;
    create_flow(&shop, "orders-2", &parent("orders-child", 0), "DEFAULT").await;
    assert_refused(&start(&w.orders_key, "orders-1").await);
    let none = describe_child(&shop, "secret").await;
    assert_eq!(
        none["Code"], "ExecutionNotExists",
        "secret never ran: {none}"
    );
    // What the key may start, its executions start too.
    let allowed = start(&w.orders_key, "orders-2").await;
    assert_eq!(allowed["Status"], "Succeeded", "{allowed}");
    assert_eq!(
        describe(&shop, "orders-child", "from-parent").await["Status"],
        "Succeeded"
    );
}

async fn the_starters_policy_still_holds_after_a_park(backend: Backend) {
    let w = world(backend).await;
    let shop = w.operator.for_account("shop");
    create_flow(&shop, "orders-1", &parent("secret", 120), "DEFAULT").await;
    assert_eq!(start(&w.orders_key, "orders-1").await["Status"], "Running");
    wake(&w).await;
    assert_refused(&describe(&shop, "orders-1", "p").await);
    assert_eq!(
        describe_child(&shop, "secret").await["Code"],
        "ExecutionNotExists"
    );
    // The operator's own executions keep full access.
    create_flow(&w.operator, "mine", &parent("mine-child", 0), "DEFAULT").await;
    create_flow(&w.operator, "mine-child", SECRET, "DEFAULT").await;
    assert_eq!(start(&w.operator, "mine").await["Status"], "Succeeded");
    assert_eq!(
        describe(&w.operator, "mine-child", "from-parent").await["Status"],
        "Succeeded"
    );
}

async fn a_deleted_key_starts_nothing_more(backend: Backend) {
    let w = world(backend).await;
    let shop = w.operator.for_account("shop");
    create_flow(&shop, "orders-1", &parent("orders-child", 120), "DEFAULT").await;
    assert_eq!(start(&w.orders_key, "orders-1").await["Status"], "Running");
    ok(
        &w.operator,
        &[("Action", "DeleteAccessKey"), ("AccessKeyId", &w.key_id)],
    )
    .await;
    wake(&w).await;
    let parent = describe(&shop, "orders-1", "p").await;
    let out: Value = serde_json::from_str(parent["Output"].as_str().unwrap()).unwrap();
    assert_eq!(out["error"], "FnF.StartExecutionFailed", "{parent}");
    assert_eq!(
        describe_child(&shop, "orders-child").await["Code"],
        "ExecutionNotExists"
    );
}

async fn describe_child(svc: &Service, flow: &str) -> Value {
    common::call(
        svc,
        &[
            ("Action", "DescribeExecution"),
            ("FlowName", flow),
            ("ExecutionName", "from-parent"),
        ],
    )
    .await
    .1
}

on_both_stores!(
    a_child_outside_the_starters_policy_is_refused_inline,
    the_starters_policy_still_holds_after_a_park,
    a_deleted_key_starts_nothing_more,
);
