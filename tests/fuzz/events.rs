//! The Lambda event classifier (`api::event::classify`) and handler (`api::handle_event`):
//! the sample events in `events/` mutated structurally, and random JSON with event-like keys.

use fnf_lambda::api::{self, event};
use serde_json::Value;

use super::harness::{check_event_answer, runtime, service};
use super::json;
use super::rng::{Rng, note};

const KEYS: &[&str] = &[
    "version",
    "httpMethod",
    "requestContext",
    "http",
    "method",
    "path",
    "rawPath",
    "body",
    "isBase64Encoded",
    "headers",
    "multiValueHeaders",
    "queryStringParameters",
    "multiValueQueryStringParameters",
    "rawQueryString",
    "content-type",
    "Action",
    "Version",
    "FlowName",
    "ExecutionName",
    "Input",
    "Name",
    "Definition",
    "Type",
    "fnfSweep",
    "fnfContinuation",
    "stage",
    "2.0",
    "POST",
    "GET",
    "StartExecution",
    "DescribeExecution",
    "application/json",
    "application/x-www-form-urlencoded",
    "f",
    "my_flow_name",
    "flow",
    "name",
    "version",
];

/// The sample events, parsed once.
fn samples() -> &'static [Value] {
    static SAMPLES: std::sync::OnceLock<Vec<Value>> = std::sync::OnceLock::new();
    SAMPLES.get_or_init(|| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/events");
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).expect("events/") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "json") {
                let text = std::fs::read_to_string(&path).expect("read an event");
                out.push(serde_json::from_str(&text).expect("a sample event is JSON"));
            }
        }
        assert!(out.len() >= 5, "the sample events are found");
        out
    })
}

fn handle(event: Value) -> Result<(), String> {
    let text = event.to_string();
    note(&text);
    let answer = runtime().block_on(api::handle_event(service(), event, "fuzz"));
    check_event_answer(&answer).map_err(|e| format!("{e}; event {}", super::rng::show(&text)))
}

#[test]
fn sample_events_mutated() {
    super::rng::run("sample_events_mutated", 1.0, |rng: &mut Rng| {
        let mut event = rng.pick(samples()).clone();
        json::mutate(rng, &mut event, KEYS);
        note(&event.to_string());
        // The classifier alone, then the whole path.
        let _ = event::classify(event.clone());
        handle(event)
    });
}

#[test]
fn random_events() {
    super::rng::run("random_events", 1.0, |rng| {
        let event = json::value(rng, 5, KEYS);
        let _ = event::classify(event.clone());
        handle(event)
    });
}

/// The unmutated samples get well-formed answers (the mutations start from real events).
#[test]
fn sample_events_answer() {
    for event in samples() {
        let answer = runtime().block_on(api::handle_event(service(), event.clone(), "fuzz"));
        check_event_answer(&answer).unwrap_or_else(|e| panic!("{e}"));
    }
}
