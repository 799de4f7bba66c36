//! Malformed events of any shape get an fnf error answer, never a panic: a property test feeds
//! random JSON and near-miss API Gateway events to the Lambda handler.

mod common;

use std::sync::OnceLock;

use common::{Backend, CLOUDFLOW_SEED};
use fnf_lambda::api;
use fnf_lambda::service::Service;
use proptest::prelude::*;
use serde_json::{Value, json};

/// The fnf error codes an answer may carry.
const CODES: [&str; 20] = [
    "AccessDenied",
    "InvalidAccessKeyID",
    "SignatureNotMatch",
    "RequestTimeTooSkewed",
    "SignatureNonceUsed",
    "AccountNotExists",
    "AccountAlreadyExists",
    "ActionNotSupported",
    "APIVersionNotSupported",
    "EntityTooLarge",
    "ExecutionAlreadyExists",
    "ExecutionNotExists",
    "FlowAlreadyExists",
    "FlowNotExists",
    "InvalidArgument",
    "MissingRequiredParams",
    "UnsupportedMediaType",
    "ResourceThrottled",
    "MissingRequiredHeader",
    "InternalServerError",
];

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    })
}

fn service() -> &'static Service {
    static SVC: OnceLock<(Service, Option<tempfile::TempDir>)> = OnceLock::new();
    &SVC.get_or_init(|| {
        runtime().block_on(async {
            let (svc, guard) = common::service(Backend::Embedded).await;
            common::create_flow(&svc, "f", CLOUDFLOW_SEED, "DEFAULT").await;
            (svc, guard)
        })
    })
    .0
}

/// Checks that an answer is well-formed: an API Gateway response whose body is fnf JSON, or
/// (direct invokes) the fnf JSON itself. Never a 500 for bad input.
fn check_answer(answer: &Value) -> Result<(), TestCaseError> {
    let body: Value = match answer.get("statusCode") {
        Some(status) => {
            let status = status.as_i64().unwrap_or(0);
            prop_assert!((200..500).contains(&status), "status {status}: {answer}");
            let text = answer["body"].as_str().unwrap_or("");
            serde_json::from_str(text)
                .map_err(|e| TestCaseError::fail(format!("body not JSON: {e}: {answer}")))?
        }
        None => answer.clone(),
    };
    prop_assert!(body["RequestId"].is_string(), "no RequestId: {answer}");
    if let Some(code) = body.get("Code") {
        prop_assert!(
            CODES.contains(&code.as_str().unwrap_or("")),
            "unknown code: {answer}"
        );
        prop_assert!(
            code != "InternalServerError",
            "bad input answered 500: {answer}"
        );
        prop_assert!(body["Message"].is_string());
    }
    Ok(())
}

fn handle(event: Value) -> Value {
    runtime().block_on(api::handle_event(service(), event, "fuzz"))
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
        prop::sample::select(vec![
            "2.0",
            "1.0",
            "POST",
            "GET",
            "StartExecution",
            "CreateFlow",
            "f",
            "true",
            "DescribeExecution"
        ])
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    prop::sample::select(vec![
                        "version",
                        "httpMethod",
                        "requestContext",
                        "http",
                        "method",
                        "body",
                        "isBase64Encoded",
                        "headers",
                        "queryStringParameters",
                        "multiValueQueryStringParameters",
                        "rawQueryString",
                        "Action",
                        "Version",
                        "FlowName",
                        "ExecutionName",
                        "Input",
                        "Name",
                        "Definition",
                        "Type",
                        "Limit",
                        "NextToken",
                        "content-type",
                    ])
                    .prop_map(String::from),
                    "[A-Za-z]{1,8}",
                ],
                inner,
                0..8,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Near-miss events: real shapes with one part replaced by something random.
fn arb_near_miss() -> impl Strategy<Value = Value> {
    let bodies = prop_oneof![
        ".{0,200}",
        Just("Action=StartExecution&FlowName=f&Input=%5B1%5D".to_string()),
        Just("Action=StartExecution&FlowName=f&ExecutionName=%00%FF".to_string()),
        Just(
            "{\"Action\":\"StartExecution\",\"FlowName\":\"f\",\"Input\":{\"a\":[1,2]}}"
                .to_string()
        ),
        Just("%%%&&&==".to_string()),
    ];
    let content_types = prop::sample::select(vec![
        "application/json",
        "application/x-www-form-urlencoded",
        "text/plain",
        "",
        "application/json; charset=utf-8",
    ]);
    (arb_json(), bodies, content_types, any::<bool>(), 0..4usize).prop_map(|(noise, body, ct, b64, shape)| {
        let mut event = match shape {
            0 => json!({"version": "2.0", "rawQueryString": "Action=StartExecution&FlowName=f",
                        "headers": {"content-type": ct}, "requestContext": {"http": {"method": "POST"}},
                        "body": body, "isBase64Encoded": b64}),
            1 => json!({"httpMethod": "POST", "headers": {"content-type": ct}, "queryStringParameters": {"Action": "StartExecution"},
                        "requestContext": {}, "body": body, "isBase64Encoded": b64}),
            2 => json!({"Action": body, "FlowName": "f", "Input": noise.clone()}),
            _ => json!({"version": "2.0", "requestContext": {"http": {"method": "POST"}}, "body": body}),
        };
        // Replace one field with noise.
        if let (Some(map), Value::Object(extra)) = (event.as_object_mut(), noise) {
            for (k, v) in extra.into_iter().take(1) {
                map.insert(k, v);
            }
        }
        event
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_json_events_answer_fnf_errors(event in arb_json()) {
        check_answer(&handle(event))?;
    }

    #[test]
    fn near_miss_events_answer_fnf_errors(event in arb_near_miss()) {
        check_answer(&handle(event))?;
    }
}

/// The same service behind signature authentication, with one key.
fn signed_service() -> &'static Service {
    static SVC: OnceLock<Service> = OnceLock::new();
    SVC.get_or_init(|| {
        service()
            .clone()
            .with_gate(api::auth::Gate::new(api::auth::AuthMode::Signature, 0))
    })
}

/// Requests that look signed (V1 parameters, V3 headers) with random pieces.
fn arb_signed_request() -> impl Strategy<Value = api::HttpRequest> {
    let piece = prop_oneof![
        ".{0,40}",
        Just("HMAC-SHA1".to_string()),
        Just("1.0".to_string()),
        Just("2026-11-24T20:19:53Z".to_string()),
        Just(
            "ACS3-HMAC-SHA256 Credential=k,SignedHeaders=host;x-acs-date,Signature=00".to_string()
        ),
        Just("20261124T201953Z".to_string()),
    ];
    (prop::collection::vec(piece, 8), any::<bool>(), ".{0,60}").prop_map(|(p, v3, body)| {
        let mut query = vec![
            ("Action".to_string(), "ListFlows".to_string()),
            ("AccessKeyId".to_string(), p[0].clone()),
            ("SignatureMethod".to_string(), p[1].clone()),
            ("SignatureVersion".to_string(), p[2].clone()),
            ("Timestamp".to_string(), p[3].clone()),
            ("SignatureNonce".to_string(), p[4].clone()),
            ("Signature".to_string(), p[5].clone()),
        ];
        let mut headers = vec![(
            "content-type".to_string(),
            "application/x-www-form-urlencoded".to_string(),
        )];
        if v3 {
            query.truncate(1);
            headers.extend([
                ("authorization".to_string(), p[4].clone()),
                ("x-acs-date".to_string(), p[3].clone()),
                ("x-acs-signature-nonce".to_string(), p[6].clone()),
                ("x-acs-content-sha256".to_string(), p[7].clone()),
                ("host".to_string(), p[0].clone()),
            ]);
        }
        api::HttpRequest {
            method: "POST".into(),
            path: "/".into(),
            query,
            headers,
            body: body.into_bytes(),
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_signed_requests_answer_fnf_errors(req in arb_signed_request()) {
        let answer = runtime().block_on(api::handle_http(signed_service(), &req, "prop"));
        prop_assert!((400..500).contains(&answer.status), "{} {}", answer.status, answer.body);
        let code = answer.body["Code"].as_str().unwrap_or_default();
        prop_assert!(CODES.contains(&code), "unknown code {code}");
    }
}

#[test]
fn hostile_shapes() {
    let huge = "x".repeat(8 * 1024 * 1024);
    let events = [
        json!(null),
        json!("a string"),
        json!([1, 2, 3]),
        json!({}),
        json!({"version": "2.0"}),
        json!({"httpMethod": 42}),
        json!({"httpMethod": "POST", "body": huge}),
        json!({"version": "2.0", "requestContext": {"http": {"method": "POST"}}, "body": "not base64 !!", "isBase64Encoded": true}),
        json!({"version": "2.0", "requestContext": {"http": {"method": "POST"}}, "headers": {"content-type": "application/json"}, "body": "{\"Action\": 5}"}),
        json!({"Action": ["StartExecution"]}),
        json!({"Action": "StartExecution", "FlowName": {"nested": true}}),
        json!({"Action": "CreateFlow", "Name": "x", "Type": "DEFAULT", "Definition": "{{{{"}),
        json!({"Action": "CreateFlow", "Name": "y", "Type": "DEFAULT", "Definition": "[".repeat(10_000)}),
        json!({"Action": "CreateFlow", "Name": "z", "Type": "FDL", "Definition": "a: &a [*a, *a, *a, *a, *a, *a, *a, *a, *a]"}),
    ];
    for event in events {
        let answer = handle(event.clone());
        check_answer(&answer).unwrap_or_else(|e| panic!("{e}: event {:.200}", event.to_string()));
    }
    // Nothing stored was harmed: the flow created before is intact and runs.
    let answer = handle(json!({"Action": "StartExecution", "FlowName": "f", "Input": "{\"k\":1}"}));
    assert_eq!(answer["Status"], "Succeeded", "{answer}");
    assert_eq!(answer["Output"], "{\"k\":1}");
}
