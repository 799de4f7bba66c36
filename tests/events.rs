//! Every sample event in `events/` (the ones README tells users to send with
//! `cargo lambda invoke --data-file` and `sam local invoke -e`) goes through the Lambda handler
//! and answers success in the shape its source expects.

mod common;

use common::{Backend, CLOUDFLOW_SEED, create_flow, ok};
use fnf_lambda::api;
use serde_json::Value;

#[tokio::test]
async fn every_sample_event_round_trips_through_the_handler() {
    let mut files: Vec<_> = std::fs::read_dir("events")
        .expect("events/ exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 6,
        "expected the sample events, found {files:?}"
    );
    let mut failures = Vec::new();
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let event: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{name} is not JSON: {e}"));
        // Each event runs on a fresh service holding what it refers to.
        let (svc, _guard) = common::service(Backend::Embedded).await;
        if !name.contains("create-flow") {
            create_flow(&svc, "my_flow_name", CLOUDFLOW_SEED, "DEFAULT").await;
        }
        if name.contains("describe-execution") {
            ok(
                &svc,
                &[
                    ("Action", "StartExecution"),
                    ("FlowName", "my_flow_name"),
                    ("ExecutionName", "exec_v2"),
                    ("Input", r#"{"key":"value"}"#),
                ],
            )
            .await;
        }
        let answer = api::handle_event(&svc, event, "event-test").await;
        let body = if name.starts_with("direct-") {
            answer.clone()
        } else {
            let status = answer["statusCode"].as_i64();
            let content_type = answer["headers"]["content-type"].as_str();
            if status != Some(200) || content_type != Some("application/json") {
                failures.push(format!("{name}: {answer}"));
                continue;
            }
            serde_json::from_str(answer["body"].as_str().unwrap_or("")).unwrap_or(Value::Null)
        };
        if body["RequestId"] != "event-test" || body.get("Code").is_some() {
            failures.push(format!("{name}: {body}"));
            continue;
        }
        if name.contains("start-execution") || name.contains("describe-execution") {
            if body["Status"] != "Succeeded" || body["Output"] != r#"{"key":"value"}"# {
                failures.push(format!("{name}: not the seed's result: {body}"));
            }
        } else if body["Name"] != "my_flow_name" {
            failures.push(format!("{name}: not the created flow: {body}"));
        }
    }
    assert!(
        failures.is_empty(),
        "events failing:\n{}",
        failures.join("\n")
    );
}
