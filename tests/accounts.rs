//! Accounts keep tenants apart: each sees only its own flows, executions, history, versions
//! and task tokens, may reuse another's names, and its long executions carry on in
//! continuations within its account. On both stores.

#[macro_use]
mod common;

use std::sync::Arc;

use common::{BUDGETS, Backend, ManualClock, Recorder, T0, call, create_flow, describe, ok};
use fnf_lambda::service::Service;
use fnf_lambda::store::AccountRecord;
use serde_json::Value;

/// Waits a minute, then starts a child flow of the same account and waits for it.
const PARENT: &str = "\
Type: StateMachine
SpecVersion: v1
Name: parent
StartAt: hold
States:
  - Type: Wait
    Name: hold
    Seconds: 60
    Next: child
  - Type: Task
    Name: child
    Action: FNF:StartExecution
    TaskMode: WaitForSystemCallback
    Parameters:
      FlowName: child
    End: true
";

fn child(tag: &str) -> String {
    format!(
        "Type: StateMachine\nSpecVersion: v1\nName: child\nStartAt: s\nStates:\n  - Type: Pass\n    \
         Name: s\n    InputConstructor:\n      owner: {tag}\n    End: true\n"
    )
}

fn names(listed: &Value, key: &str, field: &str) -> Vec<String> {
    listed[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f[field].as_str().unwrap().to_owned())
        .collect()
}

async fn accounts_see_only_their_own(backend: Backend) {
    let (store, _guard) = common::store(backend).await;
    let recorder = Arc::new(Recorder::default());
    let clock = ManualClock::at(T0);
    let root = Service::new(store.clone(), Arc::new(clock.clone()))
        .with_continuations(recorder.clone(), BUDGETS);
    let (a, b) = (root.for_account("acme"), root.for_account("globex"));

    // The same names in three accounts (the default one too), each its own.
    create_flow(&a, "parent", PARENT, "DEFAULT").await;
    create_flow(&a, "child", &child("acme"), "DEFAULT").await;
    create_flow(&b, "child", &child("globex"), "DEFAULT").await;
    create_flow(&root, "child", &child("operator"), "DEFAULT").await;
    create_flow(&root, "zeta", &child("operator"), "DEFAULT").await;

    let flows = |svc: Service| async move {
        names(&ok(&svc, &[("Action", "ListFlows")]).await, "Flows", "Name")
    };
    assert_eq!(flows(a.clone()).await, ["child", "parent"]);
    assert_eq!(flows(b.clone()).await, ["child"]);
    assert_eq!(
        flows(root.clone()).await,
        ["child", "zeta"],
        "others' flows are skipped"
    );
    // Paging the default account's listing past other accounts' flows.
    let first = ok(&root, &[("Action", "ListFlows"), ("Limit", "1")]).await;
    assert_eq!(names(&first, "Flows", "Name"), ["child"]);
    let token = first["NextToken"].as_str().unwrap();
    let second = ok(
        &root,
        &[
            ("Action", "ListFlows"),
            ("Limit", "1"),
            ("NextToken", token),
        ],
    )
    .await;
    assert_eq!(names(&second, "Flows", "Name"), ["zeta"]);

    // Another account's flow does not exist for b: describe, start, delete.
    for params in [
        vec![("Action", "DescribeFlow"), ("Name", "parent")],
        vec![("Action", "StartExecution"), ("FlowName", "parent")],
        vec![("Action", "DeleteFlow"), ("Name", "parent")],
    ] {
        let (status, body) = call(&b, &params).await;
        assert_eq!(
            (status, body["Code"].as_str()),
            (404, Some("FlowNotExists")),
            "{params:?}"
        );
    }

    // a's long execution parks, continues in a's account, and starts a's child.
    let started = ok(
        &a,
        &[
            ("Action", "StartExecution"),
            ("FlowName", "parent"),
            ("ExecutionName", "run"),
        ],
    )
    .await;
    assert_eq!(started["Status"], "Running");
    for params in [
        vec![
            ("Action", "DescribeExecution"),
            ("FlowName", "parent"),
            ("ExecutionName", "run"),
        ],
        vec![
            ("Action", "StopExecution"),
            ("FlowName", "parent"),
            ("ExecutionName", "run"),
        ],
        vec![
            ("Action", "GetExecutionHistory"),
            ("FlowName", "parent"),
            ("ExecutionName", "run"),
        ],
        vec![("Action", "ListExecutions"), ("FlowName", "parent")],
    ] {
        let (status, body) = call(&b, &params).await;
        assert_eq!(status, 404, "{params:?}: {body}");
    }
    clock.advance(61_000);
    root.sweep().await.unwrap();
    for _ in 0..5 {
        for c in recorder.take() {
            assert!(
                c.flow.starts_with("acme:"),
                "continuations name the stored flow: {c:?}"
            );
            root.continue_execution(&c, "worker").await.unwrap();
        }
    }
    let done = describe(&a, "parent", "run").await;
    assert_eq!(done["Status"], "Succeeded", "{done}");
    assert_eq!(done["FlowName"], "parent");
    assert_eq!(
        done["Output"], r#"{"owner":"acme"}"#,
        "a's child ran, not b's"
    );
    let listed = ok(&b, &[("Action", "ListExecutions"), ("FlowName", "child")]).await;
    assert!(names(&listed, "Executions", "Name").is_empty());

    // The stored names carry the account; the default account's are as they always were.
    assert!(store.get_flow("acme:parent").await.unwrap().is_some());
    assert!(store.get_flow("globex:parent").await.unwrap().is_none());
    assert!(store.get_flow("child").await.unwrap().is_some());
}

/// Waits ten minutes.
const WAITER: &str = "\
Type: StateMachine
SpecVersion: v1
Name: waiter
StartAt: hold
States:
  - Type: Wait
    Name: hold
    Seconds: 600
    End: true
";

async fn running_executions_are_limited_per_account(backend: Backend) {
    let (store, _guard) = common::store(backend).await;
    let recorder = Arc::new(Recorder::default());
    let clock = ManualClock::at(T0);
    let root = Service::new(store.clone(), Arc::new(clock.clone()))
        .with_continuations(recorder.clone(), BUDGETS);
    store
        .create_account(&AccountRecord {
            id: "small".into(),
            description: String::new(),
            created_ms: T0,
            requests_per_second: None,
            max_running_executions: Some(2),
            max_execution_transitions: None,
            max_history_bytes: None,
        })
        .await
        .unwrap();
    let small = root.for_account("small");
    create_flow(&small, "waiter", WAITER, "DEFAULT").await;
    let start = |name: &'static str| {
        let small = small.clone();
        async move {
            call(
                &small,
                &[
                    ("Action", "StartExecution"),
                    ("FlowName", "waiter"),
                    ("ExecutionName", name),
                ],
            )
            .await
        }
    };
    assert_eq!(start("one").await.0, 200);
    assert_eq!(start("two").await.0, 200);
    let (status, body) = start("three").await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (429, Some("ResourceThrottled"))
    );
    // Asking again for a running one is no new execution.
    let (status, again) = start("two").await;
    assert_eq!((status, again["Status"].as_str()), (200, Some("Running")));
    assert_eq!(store.slots_held("small").await.unwrap(), 2);
    // Other accounts are not held back.
    let other = root.for_account("other");
    create_flow(&other, "waiter", WAITER, "DEFAULT").await;
    ok(
        &other,
        &[("Action", "StartExecution"), ("FlowName", "waiter")],
    )
    .await;

    // A stop gives a slot back; so does an execution's end.
    ok(
        &small,
        &[
            ("Action", "StopExecution"),
            ("FlowName", "waiter"),
            ("ExecutionName", "one"),
        ],
    )
    .await;
    assert_eq!(store.slots_held("small").await.unwrap(), 1);
    assert_eq!(start("three").await.0, 200);
    assert_eq!(start("four").await.0, 429);
    clock.advance(601_000);
    root.sweep().await.unwrap();
    for _ in 0..5 {
        for c in recorder.take() {
            root.continue_execution(&c, "worker").await.unwrap();
        }
    }
    let two = describe(&small, "waiter", "two").await;
    assert_eq!(two["Status"], "Succeeded", "{two}");
    assert_eq!(store.slots_held("small").await.unwrap(), 0);
    assert_eq!(start("four").await.0, 200);
    // An ended name answers ExecutionAlreadyExists and takes no slot.
    let (status, body) = start("two").await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (400, Some("ExecutionAlreadyExists"))
    );
    assert_eq!(store.slots_held("small").await.unwrap(), 1);
}

/// Every page of an operator listing, following NextToken: the ids of `field` in order.
async fn every_page(
    svc: &Service,
    action: &str,
    extra: &[(&str, &str)],
    key: &str,
    field: &str,
) -> Vec<String> {
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut params = vec![("Action", action), ("Limit", "1")];
        params.extend_from_slice(extra);
        if let Some(t) = &token {
            params.push(("NextToken", t.as_str()));
        }
        let page = ok(svc, &params).await;
        seen.extend(names(&page, key, field));
        match page["NextToken"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => return seen,
        }
    }
}

async fn listings_page_past_ids_that_are_not_flow_names(backend: Backend) {
    // Account ids may start with a digit and access key ids need not look like flow names:
    // a page that ends on one hands out a NextToken the next call must take back.
    let (store, _guard) = common::store(backend).await;
    let root = Service::new(store, Arc::new(ManualClock::at(T0)));
    for id in ["1st", "2nd", "3rd"] {
        ok(&root, &[("Action", "CreateAccount"), ("AccountId", id)]).await;
    }
    let accounts = every_page(&root, "ListAccounts", &[], "Accounts", "AccountId").await;
    assert_eq!(accounts, ["1st", "2nd", "3rd"]);
    let mut keys = Vec::new();
    for _ in 0..3 {
        let key = ok(
            &root,
            &[("Action", "CreateAccessKey"), ("AccountId", "1st")],
        )
        .await;
        keys.push(key["AccessKeyId"].as_str().unwrap().to_owned());
    }
    keys.sort();
    let listed = every_page(
        &root,
        "ListAccessKeys",
        &[("AccountId", "1st")],
        "AccessKeys",
        "AccessKeyId",
    )
    .await;
    assert_eq!(listed, keys);
}

on_both_stores!(
    accounts_see_only_their_own,
    running_executions_are_limited_per_account,
    listings_page_past_ids_that_are_not_flow_names,
);
