//! Every error code this service can answer, provoked by a real bad request: code, HTTP
//! status and message are checked. Also: the wire format the official SDKs use is accepted.

mod common;

use common::{Backend, CLOUDFLOW_SEED, call, create_flow, ok};
use fnf_lambda::api::{self, HttpRequest};
use fnf_lambda::service::Service;

/// (what, request parameters, code, HTTP status, a piece of the message)
type Case = (
    &'static str,
    Vec<(&'static str, String)>,
    &'static str,
    u16,
    &'static str,
);

fn p(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
}

fn cases() -> Vec<Case> {
    let big_input = format!(r#"{{"k":"{}"}}"#, "x".repeat(64 * 1024));
    let big_definition = format!("{CLOUDFLOW_SEED}#{}", "x".repeat(128 * 1024));
    let long_name = format!("a{}", "b".repeat(128));
    vec![
        (
            "unknown action",
            p(&[("Action", "DropTables")]),
            "ActionNotSupported",
            400,
            "'DropTables' is incorrect",
        ),
        (
            "wrong version",
            p(&[("Action", "ListFlows"), ("Version", "2017-01-01")]),
            "APIVersionNotSupported",
            400,
            "'2017-01-01' is not supported",
        ),
        (
            "no action",
            p(&[("FlowName", "f")]),
            "MissingRequiredParams",
            400,
            "'Action' must be specified",
        ),
        (
            "StartExecution without FlowName",
            p(&[("Action", "StartExecution")]),
            "MissingRequiredParams",
            400,
            "'FlowName'",
        ),
        (
            "CreateFlow without Definition",
            p(&[("Action", "CreateFlow"), ("Name", "x"), ("Type", "DEFAULT")]),
            "MissingRequiredParams",
            400,
            "'Definition'",
        ),
        (
            "CreateFlow without Type",
            p(&[
                ("Action", "CreateFlow"),
                ("Name", "x"),
                ("Definition", CLOUDFLOW_SEED),
            ]),
            "MissingRequiredParams",
            400,
            "'Type'",
        ),
        (
            "DescribeExecution without ExecutionName",
            p(&[("Action", "DescribeExecution"), ("FlowName", "seed")]),
            "MissingRequiredParams",
            400,
            "'ExecutionName'",
        ),
        (
            "input too large",
            p(&[
                ("Action", "StartExecution"),
                ("FlowName", "seed"),
                ("Input", &big_input),
            ]),
            "EntityTooLarge",
            400,
            "(65536 bytes)",
        ),
        (
            "definition too large",
            p(&[
                ("Action", "CreateFlow"),
                ("Name", "big"),
                ("Type", "DEFAULT"),
                ("Definition", &big_definition),
            ]),
            "EntityTooLarge",
            400,
            "(131072 bytes)",
        ),
        (
            "execution name starts with a digit",
            p(&[
                ("Action", "StartExecution"),
                ("FlowName", "seed"),
                ("ExecutionName", "1abc"),
            ]),
            "InvalidArgument",
            400,
            "ExecutionName: \"1abc\" is not a valid name",
        ),
        (
            "execution name with a dot",
            p(&[
                ("Action", "StartExecution"),
                ("FlowName", "seed"),
                ("ExecutionName", "a.b"),
            ]),
            "InvalidArgument",
            400,
            "ExecutionName",
        ),
        (
            "execution name too long",
            p(&[
                ("Action", "StartExecution"),
                ("FlowName", "seed"),
                ("ExecutionName", &long_name),
            ]),
            "InvalidArgument",
            400,
            "1 to 128",
        ),
        (
            "flow name with a space",
            p(&[("Action", "StartExecution"), ("FlowName", "my flow")]),
            "InvalidArgument",
            400,
            "FlowName",
        ),
        (
            "input is an array",
            p(&[
                ("Action", "StartExecution"),
                ("FlowName", "seed"),
                ("Input", "[1,2]"),
            ]),
            "InvalidArgument",
            400,
            "Input: must be a JSON object, got an array",
        ),
        (
            "input is a string",
            p(&[
                ("Action", "StartExecution"),
                ("FlowName", "seed"),
                ("Input", "\"s\""),
            ]),
            "InvalidArgument",
            400,
            "got a string",
        ),
        (
            "input is not JSON",
            p(&[
                ("Action", "StartExecution"),
                ("FlowName", "seed"),
                ("Input", "{key:"),
            ]),
            "InvalidArgument",
            400,
            "Input: is not valid JSON",
        ),
        (
            "Qualifier not supported yet",
            p(&[
                ("Action", "StartExecution"),
                ("FlowName", "seed"),
                ("Qualifier", "1"),
            ]),
            "InvalidArgument",
            400,
            "Qualifier",
        ),
        (
            "Express flow",
            p(&[("Action", "StartExecution"), ("FlowName", "express")]),
            "InvalidArgument",
            400,
            "Express mode",
        ),
        (
            "unknown flow",
            p(&[("Action", "StartExecution"), ("FlowName", "nope")]),
            "FlowNotExists",
            404,
            "Flow nope does not exist.",
        ),
        (
            "describe unknown flow",
            p(&[("Action", "DescribeFlow"), ("Name", "nope")]),
            "FlowNotExists",
            404,
            "Flow nope",
        ),
        (
            "delete unknown flow",
            p(&[("Action", "DeleteFlow"), ("Name", "nope")]),
            "FlowNotExists",
            404,
            "Flow nope",
        ),
        (
            "update unknown flow",
            p(&[
                ("Action", "UpdateFlow"),
                ("Name", "nope"),
                ("Description", "d"),
            ]),
            "FlowNotExists",
            404,
            "Flow nope",
        ),
        (
            "list executions of unknown flow",
            p(&[("Action", "ListExecutions"), ("FlowName", "nope")]),
            "FlowNotExists",
            404,
            "Flow nope",
        ),
        (
            "unknown execution",
            p(&[
                ("Action", "DescribeExecution"),
                ("FlowName", "seed"),
                ("ExecutionName", "ghost"),
            ]),
            "ExecutionNotExists",
            404,
            "Execution ghost for flow seed does not exist.",
        ),
        (
            "flow exists",
            p(&[
                ("Action", "CreateFlow"),
                ("Name", "seed"),
                ("Type", "DEFAULT"),
                ("Definition", CLOUDFLOW_SEED),
            ]),
            "FlowAlreadyExists",
            400,
            "Flow seed already exists.",
        ),
        (
            "definition does not parse",
            p(&[
                ("Action", "CreateFlow"),
                ("Name", "bad"),
                ("Type", "DEFAULT"),
                ("Definition", "just: text"),
            ]),
            "InvalidArgument",
            400,
            "Definition",
        ),
        (
            "bad Type",
            p(&[
                ("Action", "CreateFlow"),
                ("Name", "bad"),
                ("Type", "BPMN"),
                ("Definition", CLOUDFLOW_SEED),
            ]),
            "InvalidArgument",
            400,
            "Type: must be FDL or DEFAULT",
        ),
        (
            "bad ExecutionMode",
            p(&[
                ("Action", "CreateFlow"),
                ("Name", "bad"),
                ("Type", "DEFAULT"),
                ("Definition", CLOUDFLOW_SEED),
                ("ExecutionMode", "Fast"),
            ]),
            "InvalidArgument",
            400,
            "ExecutionMode",
        ),
        (
            "Limit zero",
            p(&[("Action", "ListFlows"), ("Limit", "0")]),
            "InvalidArgument",
            400,
            "Limit: must be an integer from 1 to 1000",
        ),
        (
            "Limit not a number",
            p(&[
                ("Action", "ListExecutions"),
                ("FlowName", "seed"),
                ("Limit", "ten"),
            ]),
            "InvalidArgument",
            400,
            "Limit",
        ),
        (
            "forged NextToken",
            p(&[("Action", "ListFlows"), ("NextToken", "!!!")]),
            "InvalidArgument",
            400,
            "NextToken",
        ),
        (
            "unknown Status",
            p(&[
                ("Action", "ListExecutions"),
                ("FlowName", "seed"),
                ("Status", "Done"),
            ]),
            "InvalidArgument",
            400,
            "Status",
        ),
        (
            "bad StartedTimeBegin",
            p(&[
                ("Action", "ListExecutions"),
                ("FlowName", "seed"),
                ("StartedTimeBegin", "yesterday"),
            ]),
            "InvalidArgument",
            400,
            "StartedTimeBegin",
        ),
    ]
}

async fn seeded() -> (Service, Option<tempfile::TempDir>) {
    let (svc, guard) = common::service(Backend::Embedded).await;
    create_flow(&svc, "seed", CLOUDFLOW_SEED, "DEFAULT").await;
    ok(
        &svc,
        &[
            ("Action", "CreateFlow"),
            ("Name", "express"),
            ("Type", "DEFAULT"),
            ("Definition", CLOUDFLOW_SEED),
            ("ExecutionMode", "Express"),
        ],
    )
    .await;
    (svc, guard)
}

#[tokio::test]
async fn every_error_code_answers_with_its_status_and_message() {
    let (svc, _guard) = seeded().await;
    let mut failures = Vec::new();
    for (what, params, code, status, message) in cases() {
        let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (got_status, body) = call(&svc, &params).await;
        let ok = got_status == status
            && body["Code"] == code
            && body["Message"]
                .as_str()
                .is_some_and(|m| m.contains(message))
            && body["RequestId"] == "test-request";
        if !ok {
            failures.push(format!(
                "{what}: expected {status} {code} ~{message:?}, got {got_status} {body}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Refused requests stored nothing.
    let flows = ok(&svc, &[("Action", "ListFlows")]).await;
    assert_eq!(flows["Flows"].as_array().map(Vec::len), Some(2), "{flows}");
    let execs = ok(&svc, &[("Action", "ListExecutions"), ("FlowName", "seed")]).await;
    assert_eq!(
        execs["Executions"].as_array().map(Vec::len),
        Some(0),
        "{execs}"
    );
}

fn http(content_type: Option<&str>, query: &[(&str, &str)], body: &[u8]) -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        query: query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        headers: content_type
            .map(|c| ("content-type".to_string(), c.to_string()))
            .into_iter()
            .collect(),
        body: body.to_vec(),
    }
}

#[tokio::test]
async fn transport_errors() {
    let (svc, _guard) = seeded().await;
    let cases: Vec<(&str, HttpRequest, &str, u16, &str)> = vec![
        (
            "text body",
            http(Some("text/plain"), &[("Action", "ListFlows")], b"hello"),
            "UnsupportedMediaType",
            415,
            "application/json",
        ),
        (
            "body without content type",
            http(None, &[("Action", "ListFlows")], b"Limit=1"),
            "UnsupportedMediaType",
            415,
            "content type",
        ),
        (
            "JSON body not an object",
            http(Some("application/json"), &[], b"[1]"),
            "InvalidArgument",
            400,
            "must be an object",
        ),
        (
            "JSON body broken",
            http(Some("application/json"), &[], b"{\"Action\":"),
            "InvalidArgument",
            400,
            "does not parse",
        ),
        (
            "body over 1 MiB",
            http(Some("application/json"), &[], &vec![b' '; 1024 * 1024 + 1]),
            "EntityTooLarge",
            400,
            "(1048576 bytes)",
        ),
    ];
    for (what, req, code, status, message) in cases {
        let answer = api::handle_http(&svc, &req, "rid").await;
        assert_eq!(answer.status, status, "{what}: {}", answer.body);
        assert_eq!(answer.body["Code"], code, "{what}: {}", answer.body);
        assert!(
            answer.body["Message"].as_str().unwrap().contains(message),
            "{what}: {}",
            answer.body
        );
    }
    // Too many parameters.
    let many: Vec<(String, String)> = (0..70).map(|i| (format!("P{i}"), "v".into())).collect();
    let req = HttpRequest {
        query: many,
        ..http(None, &[], b"")
    };
    let answer = api::handle_http(&svc, &req, "rid").await;
    assert_eq!(
        (answer.status, answer.body["Code"].as_str()),
        (400, Some("InvalidArgument")),
        "{}",
        answer.body
    );
}

#[tokio::test]
async fn store_outage_is_an_internal_error_not_a_crash() {
    // A real DynamoDB client pointed at a closed port: the request fails, the answer is 500.
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .endpoint_url("http://127.0.0.1:9")
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "t", "t", None, None, "t",
        ))
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
        .build();
    let store = fnf_lambda::store::dynamo::DynamoStore::new(
        aws_sdk_dynamodb::Client::from_conf(config),
        "t",
    );
    let svc = Service::new(
        std::sync::Arc::new(store),
        std::sync::Arc::new(fnf_lambda::clock::SystemClock),
    );
    let (status, body) = call(&svc, &[("Action", "DescribeFlow"), ("Name", "f")]).await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (500, Some("InternalServerError")),
        "{body}"
    );
    assert_eq!(
        body["Message"],
        "An internal error has occurred. Please retry."
    );
}

#[test]
fn store_throttling_maps_to_resource_throttled() {
    let err = fnf_lambda::error::FnfError::from(fnf_lambda::store::StoreError::Throttled);
    assert_eq!((err.code(), err.status()), ("ResourceThrottled", 429));
    assert_eq!(
        err.to_string(),
        "The request is throttled. Please try again later."
    );
    let err = fnf_lambda::error::FnfError::from(fnf_lambda::store::StoreError::ConditionFailed);
    assert_eq!(
        err.code(),
        "InternalServerError",
        "a stray failed condition is never shown as the caller's fault"
    );
}

#[tokio::test]
async fn sdk_wire_format_is_accepted_as_is() {
    // What alibabacloud-fnf20190315 sends (api.md "Wire protocol"): V1 signature parameters
    // in the query, API parameters in a form body, x-acs headers.
    let (svc, _guard) = seeded().await;
    let query = [
        ("Action", "StartExecution"),
        ("Format", "json"),
        ("Version", "2019-03-15"),
        ("Timestamp", "2026-11-24T20:19:53Z"),
        ("SignatureNonce", "3f1b2c"),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("AccessKeyId", "testid"),
        ("Signature", "abc="),
        ("RegionId", "cn-hangzhou"),
        ("SignatureType", ""),
    ];
    let mut req = http(
        Some("application/x-www-form-urlencoded; charset=utf-8"),
        &query,
        b"ExecutionName=e1&FlowName=seed&Input=%7B%22a%22%3A1%7D",
    );
    req.headers
        .push(("x-acs-action".into(), "StartExecution".into()));
    req.headers
        .push(("x-acs-version".into(), "2019-03-15".into()));
    let answer = api::handle_http(&svc, &req, "rid").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["Status"], "Succeeded");
    assert_eq!(answer.body["Output"], r#"{"a":1}"#);
    // A read action comes as GET with everything in the query.
    let get = HttpRequest {
        method: "GET".into(),
        query: [
            ("Action", "DescribeExecution"),
            ("Version", "2019-03-15"),
            ("FlowName", "seed"),
            ("ExecutionName", "e1"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        ..Default::default()
    };
    let answer = api::handle_http(&svc, &get, "rid").await;
    assert_eq!(
        (answer.status, &answer.body["Name"]),
        (200, &serde_json::json!("e1")),
        "{}",
        answer.body
    );
    // Action and version may come as headers alone.
    let mut headers_only = http(Some("application/x-www-form-urlencoded"), &[], b"Name=seed");
    headers_only
        .headers
        .push(("x-acs-action".into(), "DescribeFlow".into()));
    headers_only
        .headers
        .push(("x-acs-version".into(), "2019-03-15".into()));
    let answer = api::handle_http(&svc, &headers_only, "rid").await;
    assert_eq!(
        (answer.status, &answer.body["Name"]),
        (200, &serde_json::json!("seed")),
        "{}",
        answer.body
    );
}
