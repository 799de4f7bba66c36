//! Versions, aliases and StartExecution's `Qualifier`, through the service, on both stores.

#[macro_use]
mod common;

use std::collections::HashMap;

use common::{Backend, call, create_flow, ok};
use serde_json::Value;

/// A one-step flow whose output names the version of the definition: `{"v": n}`.
fn definition(n: u32) -> String {
    format!(
        "Type: StateMachine\nSpecVersion: v1\nName: ver\nStartAt: s\nStates:\n  - Type: Pass\n    Name: s\n    OutputConstructor:\n      v: {n}\n    End: true\n"
    )
}

fn output_version(run: &Value) -> u64 {
    assert_eq!(run["Status"], "Succeeded", "{run}");
    let out: Value = serde_json::from_str(run["Output"].as_str().unwrap()).unwrap();
    out["v"].as_u64().unwrap()
}

async fn start(
    svc: &fnf_lambda::service::Service,
    flow: &str,
    name: &str,
    q: Option<&str>,
) -> Value {
    let mut params = vec![
        ("Action", "StartExecution"),
        ("FlowName", flow),
        ("ExecutionName", name),
    ];
    if let Some(q) = q {
        params.push(("Qualifier", q));
    }
    ok(svc, &params).await
}

async fn update(svc: &fnf_lambda::service::Service, flow: &str, n: u32) {
    ok(
        svc,
        &[
            ("Action", "UpdateFlow"),
            ("Name", flow),
            ("Definition", &definition(n)),
        ],
    )
    .await;
}

async fn publish(svc: &fnf_lambda::service::Service, flow: &str) -> Value {
    ok(
        svc,
        &[
            ("Action", "PublishFlowVersion"),
            ("FlowName", flow),
            ("Description", "release"),
        ],
    )
    .await
}

/// Answers (status, Code) of a call expected to fail.
async fn fails(svc: &fnf_lambda::service::Service, params: &[(&str, &str)]) -> (u16, String) {
    let (status, body) = call(svc, params).await;
    assert_ne!(status, 200, "{params:?} answered {body}");
    (status, body["Code"].as_str().unwrap_or_default().to_owned())
}

async fn qualifier_runs_the_published_version(backend: Backend) {
    let (svc, _g) = common::service(backend).await;
    create_flow(&svc, "ver", &definition(1), "DEFAULT").await;
    let v1 = publish(&svc, "ver").await;
    assert_eq!(v1["Version"], "1", "{v1}");
    assert_eq!(v1["FlowName"], "ver");
    assert_eq!(v1["Description"], "release");
    assert!(v1["CreatedTime"].as_str().unwrap().ends_with('Z'));
    update(&svc, "ver", 2).await;

    let pinned = start(&svc, "ver", "pinned", Some("1")).await;
    assert_eq!(
        output_version(&pinned),
        1,
        "Qualifier=1 still runs version 1"
    );
    assert_eq!(pinned["FlowDefinition"], definition(1));
    let latest = start(&svc, "ver", "latest", None).await;
    assert_eq!(output_version(&latest), 2, "no Qualifier runs the latest");
    assert_eq!(latest["FlowDefinition"], definition(2));
    let described = ok(
        &svc,
        &[
            ("Action", "DescribeExecution"),
            ("FlowName", "ver"),
            ("ExecutionName", "pinned"),
        ],
    )
    .await;
    assert_eq!(described["FlowDefinition"], definition(1));

    assert_eq!(publish(&svc, "ver").await["Version"], "2");
    update(&svc, "ver", 3).await;
    assert_eq!(
        output_version(&start(&svc, "ver", "two", Some("2")).await),
        2
    );

    // ListFlowVersions, one per page.
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut params = vec![
            ("Action", "ListFlowVersions"),
            ("FlowName", "ver"),
            ("Limit", "1"),
        ];
        if let Some(t) = &token {
            params.push(("NextToken", t));
        }
        let page = ok(&svc, &params).await;
        for v in page["FlowVersions"].as_array().unwrap() {
            assert_eq!(v["Description"], "release");
            seen.push(v["Version"].as_str().unwrap().to_owned());
        }
        match page["NextToken"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ["1", "2"]);

    // A deleted version is gone for Qualifier too.
    ok(
        &svc,
        &[
            ("Action", "DeleteFlowVersion"),
            ("FlowName", "ver"),
            ("FlowVersion", "1"),
        ],
    )
    .await;
    let params = [
        ("Action", "StartExecution"),
        ("FlowName", "ver"),
        ("ExecutionName", "after-delete"),
        ("Qualifier", "1"),
    ];
    assert_eq!(
        fails(&svc, &params).await,
        (404, "FlowVersionNotExists".into())
    );
}

async fn alias_moves_from_version_to_version(backend: Backend) {
    let (svc, _g) = common::service(backend).await;
    create_flow(&svc, "al", &definition(1), "DEFAULT").await;
    publish(&svc, "al").await;
    update(&svc, "al", 2).await;
    publish(&svc, "al").await;
    update(&svc, "al", 3).await;

    // The SDK sends the list as JSON text (a "shrink" request).
    let created = ok(
        &svc,
        &[
            ("Action", "CreateFlowAlias"),
            ("FlowName", "al"),
            ("Name", "prod"),
            ("Description", "production"),
            ("RoutingConfigurations", r#"[{"Version":"1","Weight":100}]"#),
        ],
    )
    .await;
    assert_eq!(created["Name"], "prod");
    assert_eq!(created["FlowName"], "al");
    assert_eq!(
        created["RoutingConfigurations"],
        serde_json::json!([{"Version": "1", "Weight": 100}])
    );
    assert_eq!(
        output_version(&start(&svc, "al", "p1", Some("prod")).await),
        1
    );

    let updated = ok(
        &svc,
        &[
            ("Action", "UpdateFlowAlias"),
            ("FlowName", "al"),
            ("Name", "prod"),
            ("RoutingConfigurations", r#"[{"Version":2,"Weight":"100"}]"#),
        ],
    )
    .await;
    assert_eq!(
        updated["Alias"]["Description"], "production",
        "kept when not given"
    );
    assert_eq!(
        updated["Alias"]["RoutingConfigurations"],
        serde_json::json!([{"Version": "2", "Weight": 100}])
    );
    let run = start(&svc, "al", "p2", Some("prod")).await;
    assert_eq!(output_version(&run), 2);
    assert_eq!(run["FlowDefinition"], definition(2));

    let described = ok(
        &svc,
        &[
            ("Action", "DescribeFlowAlias"),
            ("FlowName", "al"),
            ("Name", "prod"),
        ],
    )
    .await;
    assert_eq!(described["Alias"]["Name"], "prod");
    assert_eq!(
        described["Alias"]["RoutingConfigurations"][0]["Version"],
        "2"
    );

    ok(
        &svc,
        &[
            ("Action", "CreateFlowAlias"),
            ("FlowName", "al"),
            ("Name", "canary"),
            (
                "RoutingConfigurations",
                r#"[{"Version":"1","Weight":90},{"Version":"2","Weight":10}]"#,
            ),
        ],
    )
    .await;
    let listed = ok(
        &svc,
        &[
            ("Action", "ListFlowAliases"),
            ("FlowName", "al"),
            ("Limit", "1"),
        ],
    )
    .await;
    assert_eq!(listed["Aliases"][0]["Name"], "canary");
    let token = listed["NextToken"].as_str().unwrap();
    let rest = ok(
        &svc,
        &[
            ("Action", "ListFlowAliases"),
            ("FlowName", "al"),
            ("Limit", "1"),
            ("NextToken", token),
        ],
    )
    .await;
    assert_eq!(rest["Aliases"][0]["Name"], "prod");
    assert!(rest.get("NextToken").is_none(), "{rest}");

    ok(
        &svc,
        &[
            ("Action", "DeleteFlowAlias"),
            ("FlowName", "al"),
            ("Name", "prod"),
        ],
    )
    .await;
    let params = [
        ("Action", "DescribeFlowAlias"),
        ("FlowName", "al"),
        ("Name", "prod"),
    ];
    assert_eq!(
        fails(&svc, &params).await,
        (404, "FlowAliasNotExists".into())
    );
}

async fn weighted_alias_splits_by_execution_name(backend: Backend) {
    let (svc, _g) = common::service(backend).await;
    // Two flows set up alike: the same name resolves the same version in both.
    for flow in ["wa", "wb"] {
        create_flow(&svc, flow, &definition(1), "DEFAULT").await;
        publish(&svc, flow).await;
        update(&svc, flow, 2).await;
        publish(&svc, flow).await;
        ok(
            &svc,
            &[
                ("Action", "CreateFlowAlias"),
                ("FlowName", flow),
                ("Name", "half"),
                (
                    "RoutingConfigurations",
                    r#"[{"Version":"1","Weight":50},{"Version":"2","Weight":50}]"#,
                ),
            ],
        )
        .await;
    }
    let mut picked = HashMap::new();
    let mut counts = [0u32; 3];
    for i in 0..200 {
        let name = format!("run-{i}");
        let v = output_version(&start(&svc, "wa", &name, Some("half")).await);
        counts[v as usize] += 1;
        picked.insert(name, v);
    }
    assert!(
        (70..=130).contains(&counts[1]) && (70..=130).contains(&counts[2]),
        "a 50/50 split, roughly: {counts:?}"
    );
    for i in (0..200).step_by(10) {
        let name = format!("run-{i}");
        let v = output_version(&start(&svc, "wb", &name, Some("half")).await);
        assert_eq!(
            v, picked[&name],
            "{name} resolves the same version every time"
        );
    }
}

/// Request parameters, and the (HTTP status, Code) they answer.
type Case<'a> = (Vec<(&'a str, &'a str)>, (u16, &'a str));

async fn errors_have_codes_and_statuses(backend: Backend) {
    let (svc, _g) = common::service(backend).await;
    create_flow(&svc, "er", &definition(1), "DEFAULT").await;
    publish(&svc, "er").await;
    let alias = |name: &'static str, routes: &'static str| {
        [
            ("Action", "CreateFlowAlias"),
            ("FlowName", "er"),
            ("Name", name),
            ("RoutingConfigurations", routes),
        ]
    };
    ok(&svc, &alias("a", r#"[{"Version":"1","Weight":100}]"#)).await;

    let start_q = |q: &'static str| {
        [
            ("Action", "StartExecution"),
            ("FlowName", "er"),
            ("ExecutionName", "x"),
            ("Qualifier", q),
        ]
    };
    let cases: Vec<Case> = vec![
        (start_q("9").to_vec(), (404, "FlowVersionNotExists")),
        (start_q("nope").to_vec(), (404, "FlowAliasNotExists")),
        (start_q("1x").to_vec(), (400, "InvalidArgument")),
        (start_q("0").to_vec(), (400, "InvalidArgument")),
        (
            vec![("Action", "StartExecution"), ("FlowName", "none"), ("Qualifier", "1")],
            (404, "FlowNotExists"),
        ),
        (
            vec![("Action", "PublishFlowVersion"), ("FlowName", "none")],
            (404, "FlowNotExists"),
        ),
        (
            vec![("Action", "ListFlowVersions"), ("FlowName", "none")],
            (404, "FlowNotExists"),
        ),
        (
            vec![("Action", "DeleteFlowVersion"), ("FlowName", "er"), ("FlowVersion", "7")],
            (404, "FlowVersionNotExists"),
        ),
        (
            vec![("Action", "DeleteFlowVersion"), ("FlowName", "er"), ("FlowVersion", "1")],
            (400, "FlowVersionInUse"),
        ),
        (
            vec![("Action", "DeleteFlowVersion"), ("FlowName", "er")],
            (400, "MissingRequiredParams"),
        ),
        (alias("a", r#"[{"Version":"1","Weight":100}]"#).to_vec(), (400, "FlowAliasAlreadyExists")),
        (alias("b", r#"[{"Version":"5","Weight":100}]"#).to_vec(), (404, "FlowVersionNotExists")),
        (alias("b", r#"[{"Version":"1","Weight":90}]"#).to_vec(), (400, "InvalidArgument")),
        (alias("b", r#"[{"Version":"1","Weight":0},{"Version":"2","Weight":100}]"#).to_vec(), (400, "InvalidArgument")),
        (alias("b", r#"[{"Version":"1","Weight":50},{"Version":"1","Weight":50}]"#).to_vec(), (400, "InvalidArgument")),
        (
            alias("b", r#"[{"Version":"1","Weight":40},{"Version":"1","Weight":30},{"Version":"1","Weight":30}]"#).to_vec(),
            (400, "InvalidArgument"),
        ),
        (alias("b", "not json").to_vec(), (400, "InvalidArgument")),
        (alias("b", r#"{"Version":"1","Weight":100}"#).to_vec(), (400, "InvalidArgument")),
        (alias("9b", r#"[{"Version":"1","Weight":100}]"#).to_vec(), (400, "InvalidArgument")),
        (
            vec![("Action", "CreateFlowAlias"), ("FlowName", "er"), ("Name", "b")],
            (400, "MissingRequiredParams"),
        ),
        (
            vec![("Action", "UpdateFlowAlias"), ("FlowName", "er"), ("Name", "nope"), ("Description", "d")],
            (404, "FlowAliasNotExists"),
        ),
        (
            vec![("Action", "DeleteFlowAlias"), ("FlowName", "er"), ("Name", "nope")],
            (404, "FlowAliasNotExists"),
        ),
        (
            vec![("Action", "ListFlowAliases"), ("FlowName", "none")],
            (404, "FlowNotExists"),
        ),
    ];
    for (params, (status, code)) in cases {
        assert_eq!(
            fails(&svc, &params).await,
            (status, code.to_owned()),
            "{params:?}"
        );
    }
    let (_, body) = call(
        &svc,
        &[
            ("Action", "DeleteFlowVersion"),
            ("FlowName", "er"),
            ("FlowVersion", "1"),
        ],
    )
    .await;
    assert!(
        body["Message"].as_str().unwrap().contains("alias a"),
        "{body}"
    );
    assert!(
        call(&svc, &start_q("0")).await.1["Message"]
            .as_str()
            .unwrap()
            .contains("Qualifier"),
    );
}

async fn concurrent_publishes_get_distinct_numbers(backend: Backend) {
    let (svc, _g) = common::service(backend).await;
    create_flow(&svc, "cc", &definition(1), "DEFAULT").await;
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let svc = svc.clone();
            tokio::spawn(async move { publish(&svc, "cc").await })
        })
        .collect();
    let mut numbers = Vec::new();
    for t in tasks {
        numbers.push(
            t.await.unwrap()["Version"]
                .as_str()
                .unwrap()
                .parse::<u64>()
                .unwrap(),
        );
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=16).collect::<Vec<_>>());
}

on_both_stores!(
    qualifier_runs_the_published_version,
    alias_moves_from_version_to_version,
    weighted_alias_splits_by_execution_name,
    errors_have_codes_and_statuses,
    concurrent_publishes_get_distinct_numbers,
);
