//! What the fuzz targets found, minimized, one named test each.

use fnf_lambda::api::{self, HttpRequest, request};
use fnf_lambda::error::FnfError;
use fnf_lambda::flow::{self, FlowType};

use super::harness::{check_event_answer, runtime, service};

fn with_headers(headers: &[(&str, &str)]) -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        path: "/".into(),
        headers: headers
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect(),
        ..HttpRequest::default()
    }
}

/// http_decoder seed 0x3071d7625b384877: `x-acs-action:` with an empty value decoded to the
/// action "" (answered `ActionNotSupported` for ""), where an empty `Action` parameter is a
/// missing one.
#[test]
fn an_empty_action_header_is_a_missing_action() {
    let req = with_headers(&[("x-acs-action", "")]);
    assert_eq!(
        request::decode_http(&req),
        Err(FnfError::MissingRequiredParams("Action".into()))
    );
    let answer = runtime().block_on(api::handle_http(service(), &req, "r"));
    assert_eq!(
        (answer.status, &answer.body["Code"]),
        (400, &"MissingRequiredParams".into())
    );
}

/// The same for the version: an empty `x-acs-version` means the one version served, as an
/// empty `Version` parameter does, not an unsupported version "".
#[test]
fn an_empty_version_header_counts_as_absent() {
    let req = with_headers(&[("x-acs-action", "ListFlows"), ("x-acs-version", "")]);
    let fnf = request::decode_http(&req).expect("decodes");
    assert_eq!(fnf.action, "ListFlows");
}

/// definitions_mutated seed 0xbc99424dcdc61bc9: deep flow-style nesting (`[{a: ` repeated) is
/// refused by the YAML reader's recursion limit only after a scan quadratic in the depth: a
/// 128 KiB definition (the largest CreateFlow takes) costs 19 s of CPU in an optimized build
/// (45 s debug), answered `InvalidArgument` in the end. Fixed by the nesting pre-scan before
/// `serde_norway` (`flow::nesting`): the refusal names the nesting bound, not the reader's limit.
#[test]
fn deep_flow_nesting_is_refused_before_the_yaml_reader() {
    let n = (flow::MAX_DEFINITION_BYTES - 40) / 7;
    let text = format!(
        "Type: StateMachine\nStates: {}x{}\n",
        "[{a: ".repeat(n),
        "}]".repeat(n)
    );
    assert!(text.len() <= flow::MAX_DEFINITION_BYTES);
    let err = flow::parse(&text, FlowType::CloudFlow).expect_err("refused");
    assert_eq!(err.path, "Definition");
    assert!(
        !err.message.contains("recursion limit exceeded"),
        "refused by the YAML reader, after the quadratic scan: {err}"
    );
}

/// definitions_mutated (FNF_FUZZ_CASES=1500) seed 0x1840e5b21512c796: an unknown top-level
/// field named "" gave an error with an empty path, shown as ": unknown fields ...".
#[test]
fn an_unknown_empty_top_level_field_has_a_path() {
    let text = "\"\": 1\nType: StateMachine\nSpecVersion: v1\nStartAt: a\nStates:\n  - Type: Pass\n    Name: a\n    End: true\n";
    let err = flow::parse(text, FlowType::CloudFlow).expect_err("refused");
    assert!(!err.path.is_empty(), "{err:?}");
}

/// sample_events_mutated (make fuzz) seed 0xeaeef4d799780349: a REST (payload 1.0) event whose
/// multi-value query parameter is an empty list panicked in `query_map` (index out of bounds,
/// `QueryMap::iter`) inside `api::event` — in the release build (panic = abort) that ends the
/// Lambda process.
#[test]
fn an_empty_multi_value_query_parameter_is_no_panic() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/events/apigw-v1-create-flow.json"
    );
    let mut event: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    event["multiValueQueryStringParameters"] =
        serde_json::json!({"Action": [], "Version": ["2019-03-15"]});
    let answer = runtime().block_on(api::handle_event(service(), event, "r"));
    check_event_answer(&answer).unwrap();
}
