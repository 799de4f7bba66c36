//! StartExecution and the actions around it, end to end through the API adapter, on both
//! stores: the seed examples, the naming rules, and the exactly-once guarantee under a crowd.

#[macro_use]
mod common;

use std::collections::BTreeSet;

use common::{Backend, CLOUDFLOW_SEED, FDL_SEED, call, create_flow, ok};
use serde_json::Value;

/// Fields of the seed's example response (api.md): exactly these, no more, no fewer.
const SEED_RESPONSE_FIELDS: [&str; 9] = [
    "FlowDefinition",
    "FlowName",
    "Input",
    "Name",
    "Output",
    "RequestId",
    "StartedTime",
    "Status",
    "StoppedTime",
];

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

fn is_iso_millis(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        fnf_lambda::time::parse_rfc3339(s).is_some() && s.len() == 24 && s.ends_with('Z')
    })
}

async fn seed_examples_answer_the_example_shape(backend: Backend) {
    for (definition, flow_type) in [(CLOUDFLOW_SEED, "DEFAULT"), (FDL_SEED, "FDL")] {
        let (svc, _g) = common::service(backend).await;
        create_flow(&svc, "my_flow_name", definition, flow_type).await;
        let body = ok(
            &svc,
            &[
                ("Action", "StartExecution"),
                ("FlowName", "my_flow_name"),
                ("ExecutionName", "my_exec_name"),
                ("Input", r#"{"key":"value"}"#),
            ],
        )
        .await;
        assert_eq!(
            keys(&body),
            SEED_RESPONSE_FIELDS.into_iter().collect(),
            "{body}"
        );
        assert_eq!(body["Status"], "Succeeded");
        assert_eq!(body["Output"], r#"{"key":"value"}"#);
        assert_eq!(body["Input"], r#"{"key":"value"}"#);
        assert_eq!(body["Name"], "my_exec_name");
        assert_eq!(body["FlowName"], "my_flow_name");
        assert_eq!(
            body["FlowDefinition"], definition,
            "the definition that ran, as text"
        );
        assert!(
            is_iso_millis(&body["StartedTime"]) && is_iso_millis(&body["StoppedTime"]),
            "{body}"
        );
        let described = ok(
            &svc,
            &[
                ("Action", "DescribeExecution"),
                ("FlowName", "my_flow_name"),
                ("ExecutionName", "my_exec_name"),
            ],
        )
        .await;
        assert_eq!(keys(&described), keys(&body));
        for field in [
            "Status",
            "Output",
            "StartedTime",
            "StoppedTime",
            "FlowDefinition",
        ] {
            assert_eq!(described[field], body[field], "{field}");
        }
        ok(&svc, &[("Action", "DeleteFlow"), ("Name", "my_flow_name")]).await;
        // The execution outlives its flow's deletion; the name stays taken.
        let (status, again) = call(
            &svc,
            &[
                ("Action", "DescribeExecution"),
                ("FlowName", "my_flow_name"),
                ("ExecutionName", "my_exec_name"),
            ],
        )
        .await;
        assert_eq!(status, 200, "{again}");
    }
}

async fn names_generated_taken_and_per_flow(backend: Backend) {
    let (svc, _g) = common::service(backend).await;
    create_flow(&svc, "a", CLOUDFLOW_SEED, "DEFAULT").await;
    create_flow(&svc, "b", FDL_SEED, "FDL").await;
    let first = ok(&svc, &[("Action", "StartExecution"), ("FlowName", "a")]).await;
    let second = ok(&svc, &[("Action", "StartExecution"), ("FlowName", "a")]).await;
    let (n1, n2) = (
        first["Name"].as_str().unwrap(),
        second["Name"].as_str().unwrap(),
    );
    assert_ne!(n1, n2, "generated names are unique");
    fnf_lambda::service::params::check_name("Name", n1)
        .expect("generated names follow the name rules");
    assert_eq!(first["Input"], "{}", "no Input means an empty object");
    assert_eq!(first["Output"], "{}");
    // An ended execution's name is taken for good, whatever the input.
    let (status, body) = call(
        &svc,
        &[
            ("Action", "StartExecution"),
            ("FlowName", "a"),
            ("ExecutionName", n1),
            ("Input", r#"{"x":1}"#),
        ],
    )
    .await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (400, Some("ExecutionAlreadyExists")),
        "{body}"
    );
    assert_eq!(
        body["Message"],
        format!("Execution {n1} for flow a already exists.")
    );
    // Names are per flow, and case matters.
    ok(
        &svc,
        &[
            ("Action", "StartExecution"),
            ("FlowName", "b"),
            ("ExecutionName", "shared"),
        ],
    )
    .await;
    ok(
        &svc,
        &[
            ("Action", "StartExecution"),
            ("FlowName", "a"),
            ("ExecutionName", "shared"),
        ],
    )
    .await;
    ok(
        &svc,
        &[
            ("Action", "StartExecution"),
            ("FlowName", "a"),
            ("ExecutionName", "Shared"),
        ],
    )
    .await;
    let listed = ok(&svc, &[("Action", "ListExecutions"), ("FlowName", "a")]).await;
    assert_eq!(
        listed["Executions"].as_array().unwrap().len(),
        4,
        "{listed}"
    );
}

async fn list_executions_pages_and_filters(backend: Backend) {
    let (svc, _g) = common::service(backend).await;
    create_flow(&svc, "f", CLOUDFLOW_SEED, "DEFAULT").await;
    for i in 0..5 {
        ok(
            &svc,
            &[
                ("Action", "StartExecution"),
                ("FlowName", "f"),
                ("ExecutionName", &format!("run{i}")),
            ],
        )
        .await;
    }
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut params = vec![
            ("Action", "ListExecutions"),
            ("FlowName", "f"),
            ("Limit", "2"),
        ];
        if let Some(t) = &token {
            params.push(("NextToken", t.as_str()));
        }
        let page = ok(&svc, &params).await;
        let items = page["Executions"].as_array().unwrap();
        assert!(items.len() <= 2);
        for e in items {
            assert_eq!(e["Status"], "Succeeded");
            assert_eq!(e["FlowName"], "f");
            assert!(is_iso_millis(&e["StartedTime"]));
            names.push(e["Name"].as_str().unwrap().to_owned());
        }
        match page["NextToken"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    assert_eq!(names, ["run0", "run1", "run2", "run3", "run4"]);
    let running = ok(
        &svc,
        &[
            ("Action", "ListExecutions"),
            ("FlowName", "f"),
            ("Status", "Running"),
        ],
    )
    .await;
    assert_eq!(running["Executions"], Value::Array(vec![]));
    let prefixed = ok(
        &svc,
        &[
            ("Action", "ListExecutions"),
            ("FlowName", "f"),
            ("ExecutionNamePrefix", "run3"),
        ],
    )
    .await;
    assert_eq!(prefixed["Executions"].as_array().unwrap().len(), 1);
}

async fn flows_create_update_describe_list(backend: Backend) {
    let (svc, _g) = common::service(backend).await;
    let created = ok(
        &svc,
        &[
            ("Action", "CreateFlow"),
            ("Name", "f"),
            ("Type", "DEFAULT"),
            ("Definition", CLOUDFLOW_SEED),
            ("Description", "first"),
            ("RoleArn", "acs:ram::1:role/fnf"),
        ],
    )
    .await;
    for field in [
        "Name",
        "Id",
        "Definition",
        "Description",
        "Type",
        "RoleArn",
        "ExecutionMode",
        "CreatedTime",
        "LastModifiedTime",
        "RequestId",
    ] {
        assert!(
            created.get(field).is_some(),
            "CreateFlow answers {field}: {created}"
        );
    }
    assert_eq!(created["ExecutionMode"], "Standard");
    let updated = ok(
        &svc,
        &[
            ("Action", "UpdateFlow"),
            ("Name", "f"),
            ("Type", "FDL"),
            ("Definition", FDL_SEED),
        ],
    )
    .await;
    assert_eq!(
        (updated["Type"].as_str(), updated["Description"].as_str()),
        (Some("FDL"), Some("first")),
        "{updated}"
    );
    assert_eq!(updated["Id"], created["Id"]);
    assert_eq!(updated["CreatedTime"], created["CreatedTime"]);
    // The next execution runs the new definition.
    let run = ok(&svc, &[("Action", "StartExecution"), ("FlowName", "f")]).await;
    assert_eq!(run["FlowDefinition"], FDL_SEED);
    // A type change alone re-validates the stored definition in the new language.
    let (status, body) = call(
        &svc,
        &[("Action", "UpdateFlow"), ("Name", "f"), ("Type", "DEFAULT")],
    )
    .await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (400, Some("InvalidArgument")),
        "{body}"
    );
    let described = ok(&svc, &[("Action", "DescribeFlow"), ("Name", "f")]).await;
    assert_eq!(described["Type"], "FDL", "a refused update changes nothing");
    create_flow(&svc, "g", CLOUDFLOW_SEED, "DEFAULT").await;
    let listed = ok(&svc, &[("Action", "ListFlows"), ("Limit", "1")]).await;
    assert_eq!(listed["Flows"][0]["Name"], "f");
    let token = listed["NextToken"]
        .as_str()
        .expect("a second page")
        .to_owned();
    let rest = ok(&svc, &[("Action", "ListFlows"), ("NextToken", &token)]).await;
    assert_eq!(rest["Flows"][0]["Name"], "g");
    assert!(rest.get("NextToken").is_none(), "{rest}");
}

async fn failing_flow_answers_failed_with_its_error(backend: Backend) {
    let (svc, _g) = common::service(backend).await;
    let definition = "Type: StateMachine\nSpecVersion: v1\nName: f\nStartAt: check\nStates:\n  - Type: Pass\n    Name: check\n    Next: reject\n  - Type: Fail\n    Name: reject\n    Code: Order.Invalid\n    Detail: no items\n";
    create_flow(&svc, "f", definition, "DEFAULT").await;
    let body = ok(
        &svc,
        &[
            ("Action", "StartExecution"),
            ("FlowName", "f"),
            ("ExecutionName", "bad"),
            ("Input", r#"{"items":[]}"#),
        ],
    )
    .await;
    assert_eq!(body["Status"], "Failed", "{body}");
    assert_eq!(
        (body["ErrorCode"].as_str(), body["ErrorMessage"].as_str()),
        (Some("Order.Invalid"), Some("no items")),
        "{body}"
    );
    assert!(
        body.get("Output").is_none() && is_iso_millis(&body["StoppedTime"]),
        "{body}"
    );
    let described = ok(
        &svc,
        &[
            ("Action", "DescribeExecution"),
            ("FlowName", "f"),
            ("ExecutionName", "bad"),
        ],
    )
    .await;
    assert_eq!(described["Status"], "Failed");
    assert_eq!(described["ErrorCode"], "Order.Invalid");
    let (status, again) = call(
        &svc,
        &[
            ("Action", "StartExecution"),
            ("FlowName", "f"),
            ("ExecutionName", "bad"),
        ],
    )
    .await;
    assert_eq!(
        (status, again["Code"].as_str()),
        (400, Some("ExecutionAlreadyExists")),
        "a failed execution has ended too"
    );
    let failed = ok(
        &svc,
        &[
            ("Action", "ListExecutions"),
            ("FlowName", "f"),
            ("Status", "Failed"),
        ],
    )
    .await;
    assert_eq!(failed["Executions"][0]["Name"], "bad");
}

/// A flow that waits, so the first StartExecution is still running while the crowd arrives.
const SLOW_FLOW: &str = "Type: StateMachine\nSpecVersion: v1\nName: slow\nStartAt: hold\nStates:\n  - Type: Wait\n    Name: hold\n    Seconds: 1\n    Next: done\n  - Type: Pass\n    Name: done\n    End: true\n";

async fn crowd_of_64_starts_one_execution(backend: Backend) {
    let (svc, _g) = common::service(backend).await;
    create_flow(&svc, "slow", SLOW_FLOW, "DEFAULT").await;
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let svc = svc.clone();
            tokio::spawn(async move {
                let input = format!(r#"{{"caller":{i}}}"#);
                call(
                    &svc,
                    &[
                        ("Action", "StartExecution"),
                        ("FlowName", "slow"),
                        ("ExecutionName", "once"),
                        ("Input", &input),
                    ],
                )
                .await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    let stored = ok(
        &svc,
        &[
            ("Action", "DescribeExecution"),
            ("FlowName", "slow"),
            ("ExecutionName", "once"),
        ],
    )
    .await;
    assert_eq!(stored["Status"], "Succeeded");
    let (mut details, mut already) = (0, 0);
    for (status, body) in &answers {
        match *status {
            200 => {
                details += 1;
                // Every success is the one execution: same start, same input.
                assert_eq!(body["StartedTime"], stored["StartedTime"], "{body}");
                assert_eq!(body["Input"], stored["Input"], "{body}");
                assert!(
                    matches!(body["Status"].as_str(), Some("Running" | "Succeeded")),
                    "{body}"
                );
            }
            400 => {
                assert_eq!(body["Code"], "ExecutionAlreadyExists", "{body}");
                already += 1;
            }
            _ => panic!("unexpected answer {status} {body}"),
        }
    }
    assert_eq!(details + already, 64);
    assert!(
        answers.iter().any(|(_, b)| b["Status"] == "Running"),
        "the crowd met the running execution"
    );
    let listed = ok(&svc, &[("Action", "ListExecutions"), ("FlowName", "slow")]).await;
    assert_eq!(
        listed["Executions"].as_array().unwrap().len(),
        1,
        "{listed}"
    );
    // Once ended, the name answers ExecutionAlreadyExists.
    let (status, body) = call(
        &svc,
        &[
            ("Action", "StartExecution"),
            ("FlowName", "slow"),
            ("ExecutionName", "once"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (400, Some("ExecutionAlreadyExists"))
    );
}

on_both_stores!(
    seed_examples_answer_the_example_shape,
    names_generated_taken_and_per_flow,
    list_executions_pages_and_filters,
    flows_create_update_describe_list,
    crowd_of_64_starts_one_execution,
    failing_flow_answers_failed_with_its_error,
);
