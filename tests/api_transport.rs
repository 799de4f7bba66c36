//! The transport around the actions: media types, body limits, the wire format the official
//! SDKs use, and store failures answered as fnf errors.

mod common;

use common::{Backend, CLOUDFLOW_SEED, call, create_flow};
use fnf_lambda::api::{self, HttpRequest};
use fnf_lambda::service::Service;

async fn seeded() -> (Service, Option<tempfile::TempDir>) {
    let (svc, guard) = common::service(Backend::Embedded).await;
    create_flow(&svc, "seed", CLOUDFLOW_SEED, "DEFAULT").await;
    (svc, guard)
}

fn http(content_type: Option<&str>, query: &[(&str, &str)], body: &[u8]) -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        path: "/".into(),
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
        .http_client(fnf_lambda::aws::https_client())
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
