//! The engine bounds an execution's live state by the checkpoint limit as it grows, not only
//! when it parks (src/engine/meter.rs): memory stays bounded, and a state that could not be
//! checkpointed fails the same way wherever it runs.

#[path = "flows/driver.rs"]
mod driver;

use fnf_lambda::engine::{self, Outcome};
use fnf_lambda::flow::{self, FlowType};
use serde_json::{Map, Value};

/// Map iterations that each copy a 50 KB field of the execution's input and wait: `n` of them
/// hold about n x 50 KB of live state at once.
const WIDE_WAIT: &str = include_str!("fixtures/wide_wait.yaml");

fn wide_input(iterations: usize) -> Map<String, Value> {
    let items: Vec<Value> = (0..iterations)
        .map(|i| serde_json::json!({ "i": i }))
        .collect();
    let mut input = Map::new();
    input.insert("items".into(), Value::Array(items));
    input.insert("pad".into(), Value::String("x".repeat(50_000)));
    input
}

#[test]
fn live_state_past_the_checkpoint_limit_fails_the_execution() {
    let flow = flow::parse(WIDE_WAIT, FlowType::CloudFlow).unwrap();
    // 60 x 50 KB: under the 4 MiB limit, the iterations wait together and the Map ends.
    let fits = driver::run(&flow, wide_input(60), 0, 10_000).unwrap();
    let items: Vec<Value> = (0..60).map(|i| serde_json::json!({ "i": i })).collect();
    let expected = serde_json::json!({ "Items": items });
    assert_eq!(
        fits.outcome,
        Outcome::Succeeded {
            output: expected.as_object().unwrap().clone()
        }
    );
    // 100 x 50 KB: the engine measures its live state as it grows and fails the execution
    // before it holds much more than the limit, whether or not it would ever park.
    let wide = wide_input(100);
    let refused = driver::run(&flow, wide.clone(), 0, 10_000).unwrap();
    match refused.outcome {
        Outcome::Failed { error, cause } => {
            assert_eq!(error, engine::STATE_TOO_LARGE_ERROR);
            assert!(cause.contains("exceeds the checkpoint limit"), "{cause}");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    assert_eq!(
        refused.waited_ms, 0,
        "failed before any iteration's wait ended"
    );
    assert_eq!(refused.refused, 0);
    assert_eq!(
        refused.events.last().map(|e| e.kind),
        Some(engine::EventKind::ExecutionFailed)
    );
    // What is left is the execution's input (about 51 KB): the iterations' data is dropped.
    let left = serde_json::to_string(&refused.checkpoint).unwrap().len();
    let input = serde_json::to_string(&wide).unwrap().len();
    assert!(left < input + 1_000, "{left} bytes left, input {input}");
}
