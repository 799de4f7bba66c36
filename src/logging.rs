//! Logs: JSON lines in Lambda (CloudWatch parses them), readable text locally. Each line of a
//! request carries its RequestId through the request's span. Inputs and outputs are never
//! logged at info level.

use std::io::IsTerminal;

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// `RUST_LOG` as a list of `target=level` and a bare default level (`info`,
/// `fnf_lambda=debug,warn`); the per-span and per-field filters of `EnvFilter` are left out
/// (they bring a regex engine, a tenth of the binary's code). Unset or unreadable: `info`.
fn filter() -> Targets {
    let default = Targets::new().with_default(LevelFilter::INFO);
    match std::env::var("RUST_LOG") {
        Ok(text) if !text.trim().is_empty() => text.parse().unwrap_or_else(|e| {
            eprintln!("RUST_LOG={text:?} is not a list of target=level ({e}); logging at info");
            default
        }),
        _ => default,
    }
}

pub fn init(json: bool) {
    let builder = tracing_subscriber::fmt().with_writer(std::io::stderr);
    let result = if json {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_ansi(false)
            .without_time() // CloudWatch stamps every line itself
            .finish()
            .with(filter())
            .try_init()
    } else {
        builder
            .with_target(false)
            .with_ansi(std::io::stderr().is_terminal())
            .finish()
            .with(filter())
            .try_init()
    };
    // A second init (tests) keeps the first subscriber.
    drop(result);
}
