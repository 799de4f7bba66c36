//! Logs: JSON lines in Lambda (CloudWatch parses them), readable text locally. Each line of a
//! request carries its RequestId through the request's span. Inputs and outputs are never
//! logged at info level.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

pub fn init(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = if json {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_ansi(false)
            .without_time() // CloudWatch stamps every line itself
            .try_init()
    } else {
        builder
            .with_target(false)
            .with_ansi(std::io::stderr().is_terminal())
            .try_init()
    };
    // A second init (tests) keeps the first subscriber.
    drop(result);
}
